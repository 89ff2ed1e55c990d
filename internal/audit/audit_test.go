package audit

import (
	"context"
	"testing"
)

func TestHashChainsEveryField(t *testing.T) {
	base := Hash("prev", 7, []byte(`{"a":1}`))
	for name, h := range map[string]string{
		"previous hash": Hash("prev2", 7, []byte(`{"a":1}`)),
		"sequence":      Hash("prev", 8, []byte(`{"a":1}`)),
		"body":          Hash("prev", 7, []byte(`{"a":2}`)),
		"boundary":      Hash("prev7", 0, []byte(`{"a":1}`)),
	} {
		if h == base {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
	if len(base) != 64 {
		t.Errorf("hash %q is not hex SHA-256", base)
	}
}

// TestDecideNotesOnlyTheEngineSessionsDecisions: an engine's pending record takes the
// decisions made for its session; an API call's record, a missing record and decisions about
// another principal (the engine assuming the role) are left to be recorded apart.
func TestDecideNotesOnlyTheEngineSessionsDecisions(t *testing.T) {
	const session = "arn:aws:sts::111111111111:assumed-role/approver/deploy.slipway.internal"
	ctx, p := ForEngine(context.Background(), Record{PrincipalARN: session, UserAgent: "deploy.slipway.internal", Operation: "UpdateModelPackage"})
	if PendingFrom(ctx) != p {
		t.Fatal("ForEngine's context does not carry its record")
	}
	if p.Decide("deploy.slipway.internal", "arn:role", "allow", "trust policy", "") {
		t.Error("a decision about another principal was noted in the session's record")
	}
	if !p.Decide(session, "arn:pkg", "allow", "identity policy", "") {
		t.Fatal("the session's decision was not noted")
	}
	if r := p.Committed(); r.Resource != "arn:pkg" || r.Decision != "allow" || r.Reason != "identity policy" || r.RequestID == "" || r.HTTPStatus != 200 {
		t.Errorf("committed record = %+v", r)
	}
	_, api := WithPending(context.Background(), func() Record { return Record{PrincipalARN: session} })
	if api.Decide(session, "arn:pkg", "allow", "x", "") {
		t.Error("an API call's record took an engine decision")
	}
	if (*Pending)(nil).Decide(session, "arn:pkg", "allow", "x", "") {
		t.Error("no record, yet a decision was noted")
	}
}
