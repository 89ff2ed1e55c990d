package arn

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-ml/slipway/internal/errs"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want ARN
	}{
		{"arn:aws:iam::123456789012:user/alice", ARN{"aws", "iam", "", "123456789012", "user/alice"}},
		{"arn:aws:sts::123456789012:assumed-role/Deploy/s1", ARN{"aws", "sts", "", "123456789012", "assumed-role/Deploy/s1"}},
		{"arn:aws:s3:::bucket/key:with:colons", ARN{"aws", "s3", "", "", "bucket/key:with:colons"}},
		{"arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package-group/churn", ARN{"aws-cn", "sagemaker", "cn-north-1", "123456789012", "model-package-group/churn"}},
		{"arn:aws:iam::aws:policy/AdministratorAccess", ARN{"aws", "iam", "", "aws", "policy/AdministratorAccess"}},
		{"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/x:*", ARN{"aws", "logs", "us-east-1", "123456789012", "log-group:/aws/sagemaker/x:*"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "not an ARN"},
		{"arn:aws:iam::123456789012", "not an ARN"},
		{"urn:aws:iam::123456789012:user/a", `must start with "arn:"`},
		{"arn::iam::123456789012:user/a", "empty partition"},
		{"arn:aws:::123456789012:user/a", "empty service"},
		{"arn:aws:iam::123456789012:", "empty resource"},
		{"arn:AWS:iam::123456789012:user/a", "partition"},
		{"arn:aws:iam:US-EAST-1:123456789012:user/a", "region"},
		{"arn:aws:iam::12345:user/a", "12 digits"},
		{"arn:aws:iam::123456789012:user/a\x00", "control character"},
		{"arn:aws:iam::123456789012:" + strings.Repeat("a", MaxLength), "limit"},
		{"arn:aws:iam::123456789012:\xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want one mentioning %q", tt.in, tt.reason)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("kind = %v, want Invalid", errs.KindOf(err))
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
		})
	}
}

func TestValidAccountID(t *testing.T) {
	for s, want := range map[string]bool{
		"123456789012": true, "000000000000": true, "12345678901": false, "1234567890123": false,
		"12345678901a": false, "": false, "１２３４５６７８９０１２": false,
	} {
		if got := ValidAccountID(s); got != want {
			t.Errorf("ValidAccountID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything/at:all", false, true},
		{"a*c", "abbbc", false, true},
		{"a*c", "abbbd", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"a?c", "aéc", false, true}, // ? is one character, not one byte
		{"*a*b*c*", "xxaxxbxxcxx", false, true},
		{"*a*b*c*", "xxaxxcxxbxx", false, false},
		{"home/${aws:username}/*", "home/${aws:username}/x", false, true},
		{"ABC", "abc", false, false},
		{"ABC", "abc", true, true},
		{"s3:Get*", "S3:GETOBJECT", true, true},
		{"ÄB*", "äbc", true, true},
		{"a**b", "ab", false, true},
		{"*?", "", false, false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			if got := WildcardMatch(tt.pattern, tt.s, tt.fold); got != tt.want {
				t.Errorf("WildcardMatch(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", "not-an-arn", true},
		{"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice", true},
		{"arn:aws:iam::123456789012:user/*", "arn:aws:iam::123456789012:user/team/alice", true},
		{"arn:aws:iam::*:role/Deploy", "arn:aws:iam::210987654321:role/Deploy", true},
		// A wildcard stays inside its component: "*" in the account cannot eat the resource.
		{"arn:aws:iam::*", "arn:aws:iam::123456789012:user/alice", false},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b:c", true},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::other/a", false},
		{"arn:aws:sagemaker:us-?ast-1:*:model-package/*", "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1", true},
		{"arn:aws:sagemaker:*:*:*", "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/e", true},
		{"arn:aws:iam::123456789012:user/Alice", "arn:aws:iam::123456789012:user/alice", false}, // case-sensitive
		{"arn:*:iam::123456789012:root", "arn:aws-cn:iam::123456789012:root", true},
		{"arn:aws:iam::123456789012:root", "123456789012", false},
		{"arn:aws:iam::1234?6789012:root", "arn:aws:iam::123456789012:root", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.arn, func(t *testing.T) {
			if got := Match(tt.pattern, tt.arn); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:user/alice", "arn:aws:s3:::b/k", "arn:aws:iam::aws:policy/X",
		"arn:aws:sts::123456789012:assumed-role/R/s", "arn:::::", "arn:aws:iam::1:root", "",
		"arn:aws:logs:us-east-1:123456789012:log-group:a:*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("Parse(%q) error kind %v, want Invalid", s, errs.KindOf(err))
			}
			return
		}
		if got := a.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		b, err := Parse(a.String())
		if err != nil || b != a {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", s, b, err, a)
		}
		if !Match(s, s) {
			t.Fatalf("Match(%q, itself) = false", s)
		}
	})
}

func FuzzWildcardMatch(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, p, s string) {
		// A pattern without wildcards matches exactly itself.
		if !strings.ContainsAny(p, "*?") && WildcardMatch(p, s, false) != (p == s) {
			t.Fatalf("WildcardMatch(%q, %q) disagrees with ==", p, s)
		}
		if WildcardMatch(p, s, false) && !WildcardMatch(p, s, true) {
			t.Fatalf("case-insensitive match is stricter than case-sensitive for %q, %q", p, s)
		}
	})
}

func TestIAMRoundTrip(t *testing.T) {
	for _, c := range []struct{ typ, path, name, want string }{
		{"user", "", "alice", "arn:aws:iam::111122223333:user/alice"},
		{"user", "/protected/", "bob", "arn:aws:iam::111122223333:user/protected/bob"},
		{"role", "/a/b/", "r", "arn:aws:iam::111122223333:role/a/b/r"},
	} {
		got := IAM("111122223333", c.typ, c.path, c.name)
		if got != c.want {
			t.Errorf("IAM(%q, %q, %q) = %q, want %q", c.typ, c.path, c.name, got, c.want)
		}
		e, err := ParseIAM(got)
		path := c.path
		if path == "" {
			path = "/"
		}
		if err != nil || e != (IAMEntity{"111122223333", c.typ, path, c.name}) {
			t.Errorf("ParseIAM(%q) = %+v, %v", got, e, err)
		}
	}
	for _, bad := range []string{"arn:aws:iam::111122223333:user/", "arn:aws:sts::111122223333:assumed-role/r/s", "arn:aws:iam::1:user/x", "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/*"} {
		if _, err := ParseIAM(bad); err == nil {
			t.Errorf("ParseIAM(%q) accepted it", bad)
		}
	}
	if got := AssumedRole("111122223333", "r", "s"); got != "arn:aws:sts::111122223333:assumed-role/r/s" {
		t.Errorf("AssumedRole = %q", got)
	}
	if got := SageMaker("us-east-1", "111122223333", "training-job", "t1"); got != "arn:aws:sagemaker:us-east-1:111122223333:training-job/t1" {
		t.Errorf("SageMaker = %q", got)
	}
	if got := OrgPolicy("111122223333", "o-abc", "SERVICE_CONTROL_POLICY", "p-1"); got != "arn:aws:organizations::111122223333:policy/o-abc/service_control_policy/p-1" {
		t.Errorf("OrgPolicy = %q", got)
	}
}

// FuzzParseIAM: ParseIAM never panics, and what it accepts in the aws partition prints back
// to the same ARN through IAM.
func FuzzParseIAM(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/a/b/r",
		"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:user//x", "arn:aws:iam::1:role/", "arn:aws:sts::111122223333:assumed-role/r/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseIAM(s)
		if err != nil {
			return
		}
		if e.Name == "" || !strings.HasPrefix(e.Path, "/") || !strings.HasSuffix(e.Path, "/") {
			t.Fatalf("ParseIAM(%q) = %+v", s, e)
		}
		if strings.HasPrefix(s, "arn:aws:iam::") {
			if back := IAM(e.Account, e.Type, e.Path, e.Name); back != s {
				t.Fatalf("ParseIAM(%q) = %+v, which prints as %q", s, e, back)
			}
		}
	})
}

func TestS3ARNs(t *testing.T) {
	if got, want := S3Bucket("ds-data"), "arn:aws:s3:::ds-data"; got != want {
		t.Errorf("S3Bucket = %q, want %q", got, want)
	}
	if got, want := S3Object("ds-data", "a/b:c.csv"), "arn:aws:s3:::ds-data/a/b:c.csv"; got != want {
		t.Errorf("S3Object = %q, want %q", got, want)
	}
	a, err := Parse(S3Object("b", "k/x"))
	if err != nil || a.Service != "s3" || a.Account != "" || a.Resource != "b/k/x" {
		t.Errorf("Parse(S3Object) = %+v, %v", a, err)
	}
}
