package app

import (
	"net/http"
	"strings"

	"github.com/slipway-ml/slipway/internal/console"
)

// mountConsole serves the web console under /console/ on the API's listener. A request there
// that is signed for an AWS service (S3 path-style addressing of a bucket named "console")
// still goes to the API: only unsigned requests and the console's own signed link request
// (service "signin") are the console's.
func (a *App) mountConsole(mux *http.ServeMux, api http.Handler) error {
	c, err := console.New(console.Config{
		Identity: a.Identity, Org: a.Org, Registry: a.Registry, Pipelines: a.Pipelines, Serving: a.Serving,
		Delivery: a.Delivery, Artifacts: a.Artifacts, Jobs: a.Jobs, Metrics: a.Alarms, Logs: a.Logs, Stacks: a.Stacks, Audit: a.Audit, Trail: a.Store.Audit(), Sessions: a.Store.Console(),
		Region: a.cfg.Region, Now: a.now, Log: a.log,
	})
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch service := signedFor(r); {
		case service != "" && service != console.LinkSigningService:
			api.ServeHTTP(w, r)
		case r.URL.Path == "/console":
			http.Redirect(w, r, console.Prefix, http.StatusSeeOther)
		default:
			c.ServeHTTP(w, r)
		}
	})
	mux.Handle("/console/", h)
	mux.Handle("/console", h) // the bucket "console" itself (CreateBucket, ListObjects), or the way in
	return nil
}

// signedFor is the service a request's SigV4 credential scope names, "" when it is unsigned.
func signedFor(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		_, cred, _ = strings.Cut(h, "Credential=")
		if cred, _, _ = strings.Cut(cred, ","); cred == "" {
			return "unknown"
		}
	} else if strings.HasPrefix(h, "AWS ") { // SigV2, which the API refuses in its own words
		return "s3"
	}
	if cred == "" {
		return ""
	}
	parts := strings.Split(cred, "/") // KEY/DATE/REGION/SERVICE/aws4_request
	if len(parts) != 5 {
		return "unknown"
	}
	return parts[3]
}
