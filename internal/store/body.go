package store

import (
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Rows of the later services (event rules, pipelines) keep their record as one JSON body;
// these encode and decode it, naming what failed.

// decodeBody decodes a stored JSON body into a T.
func decodeBody[T any](body, what string) (T, error) {
	var out T
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return out, errs.E(errs.Internal, "a stored %s does not decode", what, err)
	}
	return out, nil
}

// encodeBody encodes x as the JSON body to store.
func encodeBody(x any, what string) (string, error) {
	b, err := json.Marshal(x)
	if err != nil {
		return "", errs.E(errs.Internal, "cannot encode the %s", what, err)
	}
	return string(b), nil
}
