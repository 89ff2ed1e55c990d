package identity

import (
	"fmt"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/iam"
)

func TestExplicitlyDeniedTellsTheKindOfDenial(t *testing.T) {
	// Authorize's denials carry denialOf as their cause (the registry's tests drive Authorize).
	explicit := errs.E(errs.AccessDenied, "User: u is not authorized", denialOf(iam.Decision{Effect: iam.ExplicitDeny}))
	implicit := errs.E(errs.AccessDenied, "User: u is not authorized", denialOf(iam.Decision{Effect: iam.ImplicitDeny}))
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"explicit", explicit, true},
		{"explicit, wrapped", fmt.Errorf("cannot list: %w", explicit), true},
		{"implicit", implicit, false},
		{"another error", errs.E(errs.AccessDenied, "no"), false},
		{"nil", nil, false},
	} {
		if got := ExplicitlyDenied(c.err); got != c.want {
			t.Errorf("%s: ExplicitlyDenied = %v, want %v", c.name, got, c.want)
		}
	}
	if !errs.Is(explicit, errs.AccessDenied) || errs.Message(explicit) == "" {
		t.Errorf("the denial lost its kind or message: %v", explicit)
	}
}
