package awsapi

import (
	"regexp"
	"strings"
)

// Authz declares how one operation is authorized: the IAM action it is decided under and every
// resource it is decided on. Each service's wire package lists one per operation it serves, and
// a test drives every declared operation through the server with a Deny of exactly that action
// on exactly each resource (and, where the resource carries tags, a tag-conditioned Deny),
// expecting a denial; an operation the server routes without a declaration fails that test.
type Authz struct {
	Operation string
	// Action is service:Operation as policies name it; "" for an operation AWS does not
	// authorize at all (sts:GetCallerIdentity).
	Action string
	// Resources are ARN templates. {Name} stands for the input member Name or for a fact of the
	// resource the operation looks up ({Region}, {Account} of the owner, {Path} of a user or
	// role, {OrgId}, {Management} …); "*" is an operation without a resource. When there are
	// several, a Deny on any one of them denies.
	Resources []string
	// Tagged says the first resource carries tags, so its aws:ResourceTag/* keys apply.
	Tagged bool
}

var templateVar = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// Expand fills in a resource template; ok is false when vars lack one of its names.
func Expand(template string, vars map[string]string) (s string, ok bool) {
	ok = true
	s = templateVar.ReplaceAllStringFunc(template, func(m string) string {
		v, found := vars[strings.Trim(m, "{}")]
		if !found {
			ok = false
		}
		return v
	})
	return s, ok
}
