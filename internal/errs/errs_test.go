package errs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestKindCodeMessageThroughWrapping(t *testing.T) {
	cause := errors.New("disk on fire")
	base := E(NotFound, "model package group %q does not exist", "abalone", cause).WithCode("ResourceNotFound")
	wrapped := fmt.Errorf("cannot describe: %w", base)

	if got := KindOf(wrapped); got != NotFound {
		t.Errorf("KindOf = %v, want NotFound", got)
	}
	if got := CodeOf(wrapped); got != "ResourceNotFound" {
		t.Errorf("CodeOf = %q, want ResourceNotFound", got)
	}
	if got, want := Message(wrapped), `model package group "abalone" does not exist`; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if !errors.Is(wrapped, cause) {
		t.Error("cause lost in the chain")
	}
	if got := Message(errors.New("secret detail")); got != "internal error" {
		t.Errorf("Message of a plain error = %q, want a generic text", got)
	}
	if KindOf(nil) != Other || Is(nil, NotFound) {
		t.Error("nil must be kind Other and never match")
	}
}

func TestEWithTheCauseAsAFormatArgument(t *testing.T) {
	cause := errors.New("missing port")
	for _, c := range []struct {
		err  *Error
		want string
	}{
		{E(Invalid, "--listen %q must be host:port: %v", "9442", cause), `--listen "9442" must be host:port: missing port`},
		{E(Invalid, "--listen %q is wrong", "9442", cause), `--listen "9442" is wrong`},
		{E(Invalid, "100%% sure: %v", cause), "100% sure: missing port"},
	} {
		if c.err.Msg != c.want || !errors.Is(c.err, cause) || strings.Count(c.err.Error(), "missing port") > 1 {
			t.Errorf("Msg = %q, want %q (cause kept: %v)", c.err.Msg, c.want, errors.Is(c.err, cause))
		}
	}
}
