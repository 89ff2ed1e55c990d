package registry

import (
	"testing"
	"time"
)

// FuzzParseRef: whatever a client sends as a group or package ARN, parseRef either refuses it
// or names a group (and version) whose ARN, printed by the service, parses back to the same.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"arn:aws:sagemaker:us-east-1:123456789012:model-package-group/abalone",
		"arn:aws:sagemaker:us-west-2:123456789012:model-package/abalone/7",
		"arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/a-b/1",
		"arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/0",
		"arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/99999999999999999999",
		"arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/1/2",
		"arn:aws:iam::123456789012:user/abalone", "abalone", "", "arn:aws:sagemaker:::model-package-group/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := parseRef(s)
		if !ok {
			return
		}
		if r.group == "" || r.version < 0 || r.region == "" || len(r.account) != 12 {
			t.Fatalf("parseRef(%q) = %+v", s, r)
		}
		svc := NewService(nil, nil, r.region, time.Now)
		printed := svc.GroupARN(r.account, r.group)
		if r.version > 0 {
			printed = svc.PackageARN(r.account, r.group, r.version)
		}
		if back, ok := parseRef(printed); !ok || back != r {
			t.Fatalf("parseRef(%q) = %+v; its ARN %q parses as %+v, %v", s, r, printed, back, ok)
		}
	})
}
