// Package containercreds serves the container credentials endpoint that the AWS SDKs read
// through AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN: it decodes
// the token from the Authorization header and encodes the answer; package jobcreds decides.
package containercreds

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobcreds"
)

// Path is where the endpoint is mounted (GET), on the API listener.
const Path = "/_slipway/container-credentials"

// Source answers a token with the credentials it stands for; jobcreds.Service is one.
type Source interface {
	Credentials(ctx context.Context, token string) (jobcreds.Credentials, error)
}

var _ Source = (*jobcreds.Service)(nil)

// answer is the JSON the SDKs parse (the shape ECS and SageMaker serve).
type answer struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// failure is the error shape the SDKs log (aws-sdk-go-v2 reads code and message).
type failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Token returns the token of a request: the one Authorization header's value, as the SDKs send
// AWS_CONTAINER_AUTHORIZATION_TOKEN. A request without exactly one such header has none.
func Token(h http.Header) (string, bool) {
	v := h.Values("Authorization")
	if len(v) != 1 {
		return "", false
	}
	return jobcreds.ParseToken(v[0])
}

// Handler serves the endpoint. Refusals are 403 with a JSON error and say nothing about why
// beyond what the token's holder may know (invalid, revoked, expired, or the role's answer).
func Handler(src Source, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "containercreds")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			writeJSON(w, http.StatusMethodNotAllowed, failure{"MethodNotAllowed", "use GET"})
			return
		}
		token, ok := Token(r.Header)
		if !ok {
			writeJSON(w, http.StatusForbidden, failure{"AccessDenied", "the Authorization header must hold the job's AWS_CONTAINER_AUTHORIZATION_TOKEN"})
			return
		}
		c, err := src.Credentials(r.Context(), token)
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, answer{
				AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken,
				Expiration: c.Expiration.UTC().Format(time.RFC3339), AccountID: c.Account,
			})
		case errs.Is(err, errs.AccessDenied), errs.Is(err, errs.Invalid), errs.Is(err, errs.NotFound):
			log.Info("job credentials refused", "remote", r.RemoteAddr, "reason", errs.Message(err))
			writeJSON(w, http.StatusForbidden, failure{"AccessDenied", errs.Message(err)})
		default:
			log.Error("cannot serve job credentials", "err", err)
			writeJSON(w, http.StatusInternalServerError, failure{"InternalError", "the credentials could not be issued; try again"})
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
