package artifacts

import (
	"encoding/json"
	"strings"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
)

// checkPolicyResources refuses a bucket policy whose statements name resources outside the
// bucket, as S3 does ("Policy has invalid resource").
func checkPolicyResources(bucket, policy string) error {
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return errs.E(errs.Invalid, "Policies must be valid JSON", err).WithCode("MalformedPolicy")
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return errs.E(errs.Invalid, "Policy has an invalid Statement", err).WithCode("MalformedPolicy")
		}
		stmts = []map[string]json.RawMessage{one}
	}
	own := arn.S3Bucket(bucket)
	for _, st := range stmts {
		raw, ok := st["Resource"]
		if !ok {
			raw, ok = st["NotResource"]
		}
		if !ok {
			return errs.E(errs.Invalid, "Missing required field Resource").WithCode("MalformedPolicy")
		}
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			var one string
			if err := json.Unmarshal(raw, &one); err != nil {
				return errs.E(errs.Invalid, "Policy has invalid resource").WithCode("MalformedPolicy")
			}
			list = []string{one}
		}
		for _, r := range list {
			if r != own && !strings.HasPrefix(r, own+"/") {
				return errs.E(errs.Invalid, "Policy has invalid resource: %s is not in bucket %s", r, bucket).WithCode("MalformedPolicy")
			}
		}
	}
	return nil
}
