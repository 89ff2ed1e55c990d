package identity

import (
	"errors"

	"github.com/slipway-ml/slipway/internal/iam"
)

// denial is the cause an AccessDenied error from Authorize carries: whether a Deny statement (or
// a policy that could not be evaluated) decided, or nothing allowed. An operation that decides
// over several resources needs it: an explicit Deny on any of them stands, whatever the others
// allow.
type denial struct{ explicit bool }

func (d denial) Error() string {
	if d.explicit {
		return "explicit deny"
	}
	return "implicit deny"
}

func denialOf(d iam.Decision) error { return denial{explicit: d.Effect == iam.ExplicitDeny} }

// ExplicitlyDenied reports whether err is a denial by Authorize that an explicit Deny made. It
// is false for an implicit deny and for every other error.
func ExplicitlyDenied(err error) bool {
	var d denial
	return errors.As(err, &d) && d.explicit
}
