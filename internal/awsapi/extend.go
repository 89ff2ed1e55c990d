package awsapi

import (
	"encoding/json"
	"fmt"
)

// ExtendModel compiles the embedded model of service with the operations and shapes of extra (a
// fragment in botocore's service-2.json format: {"operations": {...}, "shapes": {...}}) added:
// routes a service serves beside its AWS API under the same signing name, codec, authentication
// and audit (the Open Inference Protocol beside SageMaker Runtime). A name extra shares with the
// model is refused.
func ExtendModel(service string, extra []byte) (*Model, error) {
	b, err := modelFiles.ReadFile("models/" + service + ".json")
	if err != nil {
		return nil, fmt.Errorf("awsapi: no model for service %q", service)
	}
	var base, add map[string]json.RawMessage
	if err := json.Unmarshal(b, &base); err != nil {
		return nil, fmt.Errorf("awsapi: model %s: %w", service, err)
	}
	if err := json.Unmarshal(extra, &add); err != nil {
		return nil, fmt.Errorf("awsapi: extension of %s: %w", service, err)
	}
	for _, part := range []string{"operations", "shapes"} {
		var have, more map[string]json.RawMessage
		if err := json.Unmarshal(base[part], &have); err != nil {
			return nil, fmt.Errorf("awsapi: model %s: %s: %w", service, part, err)
		}
		if len(add[part]) > 0 {
			if err := json.Unmarshal(add[part], &more); err != nil {
				return nil, fmt.Errorf("awsapi: extension of %s: %s: %w", service, part, err)
			}
		}
		for k, v := range more {
			if _, dup := have[k]; dup {
				return nil, fmt.Errorf("awsapi: extension of %s: %s %q exists already", service, part, k)
			}
			have[k] = v
		}
		if base[part], err = json.Marshal(have); err != nil {
			return nil, err
		}
	}
	merged, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	return ParseModel(service, merged)
}
