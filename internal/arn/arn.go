// Package arn parses, prints and matches Amazon Resource Names
// (arn:partition:service:region:account-id:resource) and AWS account ids, with the wildcard
// semantics of IAM's ArnLike and StringLike condition operators.
//
// It is a leaf package: it imports only internal/errs.
package arn

import (
	"strings"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/errs"
)

// MaxLength is the longest ARN accepted by Parse (IAM's limit for ARN-typed parameters).
const MaxLength = 2048

// ARN is a parsed Amazon Resource Name. Region and Account may be empty (S3 buckets, IAM is
// global); Resource keeps everything after the fifth colon, colons included.
type ARN struct {
	Partition string // "aws", "aws-cn", "aws-us-gov", ...
	Service   string // "iam", "sts", "sagemaker", ...
	Region    string // "" for global services
	Account   string // 12 digits, "aws" for AWS-managed resources, or ""
	Resource  string // "user/alice", "model-package-group/churn", "bucket/key:with:colons"
}

// Parse parses s as an ARN. It rejects, with a reason a person can act on, strings that do not
// start with "arn:", have fewer than six colon-separated components, an empty partition, service
// or resource, characters outside [a-z0-9-] in partition, service or region, or an account that
// is neither 12 digits, "aws" nor empty.
func Parse(s string) (ARN, error) {
	if len(s) > MaxLength {
		return ARN{}, errs.E(errs.Invalid, "ARN is %d characters long; the limit is %d", len(s), MaxLength)
	}
	if !utf8.ValidString(s) {
		return ARN{}, errs.E(errs.Invalid, "ARN %q is not valid UTF-8", s)
	}
	c, ok := Split(s)
	if !ok {
		return ARN{}, errs.E(errs.Invalid, "%q is not an ARN: want arn:partition:service:region:account-id:resource", s)
	}
	if c[0] != "arn" {
		return ARN{}, errs.E(errs.Invalid, "%q is not an ARN: it must start with \"arn:\"", s)
	}
	a := ARN{Partition: c[1], Service: c[2], Region: c[3], Account: c[4], Resource: c[5]}
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"partition", a.Partition, true}, {"service", a.Service, true}, {"region", a.Region, false},
	} {
		if f.v == "" {
			if f.required {
				return ARN{}, errs.E(errs.Invalid, "ARN %q has an empty %s", s, f.name)
			}
			continue
		}
		if !isLowerToken(f.v) {
			return ARN{}, errs.E(errs.Invalid, "ARN %q: %s %q may contain only a-z, 0-9 and -", s, f.name, f.v)
		}
	}
	if a.Account != "" && a.Account != "aws" && !ValidAccountID(a.Account) {
		return ARN{}, errs.E(errs.Invalid, "ARN %q: account %q must be 12 digits", s, a.Account)
	}
	if a.Resource == "" {
		return ARN{}, errs.E(errs.Invalid, "ARN %q has an empty resource", s)
	}
	for _, r := range a.Resource {
		if r < 0x20 || r == 0x7f {
			return ARN{}, errs.E(errs.Invalid, "ARN %q: resource contains a control character", s)
		}
	}
	return a, nil
}

// String formats a as arn:partition:service:region:account:resource.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// ValidAccountID reports whether s is an AWS account id: exactly 12 ASCII digits.
func ValidAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Match reports whether arn matches pattern the way IAM's ArnLike (and ArnEquals) operator does:
// both are split into their six colon-separated components (the sixth keeps any further colons)
// and each component is matched separately, case-sensitively, with * matching any run of
// characters and ? exactly one, neither crossing into another component. A pattern of just "*"
// matches anything; otherwise a pattern or value with fewer than six components matches nothing.
func Match(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	p, ok := Split(pattern)
	if !ok {
		return false
	}
	v, ok := Split(arn)
	if !ok {
		return false
	}
	for i := range p {
		if !WildcardMatch(p[i], v[i], false) {
			return false
		}
	}
	return true
}

// WildcardMatch reports whether s matches pattern with StringLike semantics: * matches any
// sequence of characters (including none), ? matches exactly one character, everything else
// matches itself. There is no escape character. With caseInsensitive, letters are compared
// under Unicode simple case folding.
func WildcardMatch(pattern, s string, caseInsensitive bool) bool {
	return Glob(pattern, s, caseInsensitive, false)
}

// Glob reports whether s matches pattern: * is any run of characters, ? exactly one. With
// escaped, a backslash makes the next character literal; that is how values substituted for
// policy variables (and ${*}, ${?}) keep their wildcard characters from acting as wildcards.
// With fold, letters compare under simple case folding. It never allocates or recurses.
func Glob(pattern, s string, fold, escaped bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pattern) {
			// ASCII fast path: most policies and requests are plain ASCII.
			if p, c := pattern[pi], s[si]; p < utf8.RuneSelf && c < utf8.RuneSelf && p != '*' && p != '?' && !(escaped && p == '\\') {
				if p == c || (fold && lowerASCII(p) == lowerASCII(c)) {
					pi++
					si++
					continue
				}
				goto backtrack
			}
			pc, pw := utf8.DecodeRuneInString(pattern[pi:])
			literal := false
			if escaped && pc == '\\' && pi+pw < len(pattern) {
				pi += pw
				pc, pw = utf8.DecodeRuneInString(pattern[pi:])
				literal = true
			}
			sc, sw := utf8.DecodeRuneInString(s[si:])
			switch {
			case pc == '*' && !literal:
				starP, starS = pi, si
				pi += pw
				continue
			case (pc == '?' && !literal) || pattern[pi:pi+pw] == s[si:si+sw] ||
				(fold && pc != utf8.RuneError && sc != utf8.RuneError && foldEq(pc, sc)):
				pi += pw
				si += sw
				continue
			}
		}
	backtrack:
		if starP < 0 {
			return false
		}
		_, sw := utf8.DecodeRuneInString(s[starS:])
		starS += sw
		si = starS
		pi = starP + 1
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func foldEq(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	return strings.EqualFold(string(a), string(b))
}

// Split cuts s into its six ARN components without validating them (the sixth keeps any further
// colons); ok is false when s has fewer than five colons.
func Split(s string) (c [6]string, ok bool) {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return c, false
		}
		c[i], s = s[:j], s[j+1:]
	}
	c[5] = s
	return c, true
}

func isLowerToken(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-') {
			return false
		}
	}
	return true
}

// IAM returns the ARN of an IAM entity: arn:aws:iam::ACCOUNT:TYPE/PATH/NAME, where typ is
// "user", "role", "group" or "policy" and path begins and ends with / ("" means "/").
func IAM(account, typ, path, name string) string {
	if path == "" {
		path = "/"
	}
	return ARN{Partition: "aws", Service: "iam", Account: account, Resource: typ + path + name}.String()
}

// AccountRoot returns arn:aws:iam::ACCOUNT:root, the principal that stands for a whole account.
func AccountRoot(account string) string {
	return ARN{Partition: "aws", Service: "iam", Account: account, Resource: "root"}.String()
}

// AssumedRole returns the ARN of a role session: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
// (a session's ARN carries the role's name, never its path, as in AWS).
func AssumedRole(account, role, session string) string {
	return ARN{Partition: "aws", Service: "sts", Account: account, Resource: "assumed-role/" + role + "/" + session}.String()
}

// IAMEntity is an IAM ARN taken apart.
type IAMEntity struct {
	Account string
	Type    string // user, role, group, policy
	Path    string // begins and ends with /
	Name    string
}

// ParseIAM parses the ARN of an IAM user, role, group or policy (arn:aws:iam::ACCOUNT:TYPE/PATH/NAME).
func ParseIAM(s string) (IAMEntity, error) {
	a, err := Parse(s)
	if err != nil {
		return IAMEntity{}, err
	}
	if a.Service != "iam" || a.Region != "" || !ValidAccountID(a.Account) && a.Account != "aws" {
		return IAMEntity{}, errs.E(errs.Invalid, "%q is not the ARN of an IAM entity (arn:aws:iam::ACCOUNT:TYPE/NAME)", s)
	}
	typ, rest, ok := strings.Cut(a.Resource, "/")
	i := strings.LastIndexByte(rest, '/')
	name := rest[i+1:]
	if !ok || name == "" || strings.ContainsAny(name, "*?") {
		return IAMEntity{}, errs.E(errs.Invalid, "%q is not the ARN of an IAM entity (arn:aws:iam::ACCOUNT:TYPE/NAME)", s)
	}
	return IAMEntity{Account: a.Account, Type: typ, Path: "/" + rest[:i+1], Name: name}, nil
}

// The ARNs of AWS Organizations' resources. mgmt is the management account, org the
// organization's id (o-…).

// Organization returns arn:aws:organizations::MGMT:organization/ORG.
func Organization(mgmt, org string) string { return orgARN(mgmt, "organization/"+org) }

// OrgRoot returns arn:aws:organizations::MGMT:root/ORG/ROOT.
func OrgRoot(mgmt, org, root string) string { return orgARN(mgmt, "root/"+org+"/"+root) }

// OrgUnit returns arn:aws:organizations::MGMT:ou/ORG/OU.
func OrgUnit(mgmt, org, ou string) string { return orgARN(mgmt, "ou/"+org+"/"+ou) }

// OrgAccount returns arn:aws:organizations::MGMT:account/ORG/ACCOUNT.
func OrgAccount(mgmt, org, account string) string { return orgARN(mgmt, "account/"+org+"/"+account) }

// OrgPolicy returns arn:aws:organizations::MGMT:policy/ORG/TYPE/POLICY, TYPE in lower case
// (service_control_policy).
func OrgPolicy(mgmt, org, typ, policy string) string {
	return orgARN(mgmt, "policy/"+org+"/"+strings.ToLower(typ)+"/"+policy)
}

// AWSOrgPolicy returns the ARN of an AWS managed organization policy:
// arn:aws:organizations::aws:policy/TYPE/POLICY.
func AWSOrgPolicy(typ, policy string) string {
	return orgARN("aws", "policy/"+strings.ToLower(typ)+"/"+policy)
}

func orgARN(account, resource string) string {
	return ARN{Partition: "aws", Service: "organizations", Account: account, Resource: resource}.String()
}

// The ARNs of S3's resources carry neither region nor account: bucket names are global.

// S3Bucket returns arn:aws:s3:::BUCKET.
func S3Bucket(bucket string) string {
	return ARN{Partition: "aws", Service: "s3", Resource: bucket}.String()
}

// S3Object returns arn:aws:s3:::BUCKET/KEY (the key as it is, slashes and all).
func S3Object(bucket, key string) string {
	return ARN{Partition: "aws", Service: "s3", Resource: bucket + "/" + key}.String()
}

// SageMaker returns the ARN of a SageMaker resource of type typ ("training-job",
// "processing-job", "model-package-group" …) named name, in region and account.
func SageMaker(region, account, typ, name string) string {
	return ARN{Partition: "aws", Service: "sagemaker", Region: region, Account: account, Resource: typ + "/" + name}.String()
}
