package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// Engines get real session keys of a role that trusts them, audited with the source; the keys
// authenticate as the named session, end at their TTL (capped by the role) or when ended.
func TestEngineCredentials(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newServiceWith(t, noOrg{})
	const engine = "sagemaker.amazonaws.com"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + engine + `"},"Action":"sts:AssumeRole"}]}`
	c := admin(t, s, acctA)
	if _, err := s.CreateRole(ctx, c, identity.RoleSpec{Name: "job", TrustPolicy: trust}); err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::" + acctA + ":role/job"
	// An explicit Deny in the trust policy wins over its Allow.
	denying := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + engine + `"},"Action":"sts:AssumeRole"},
		{"Effect":"Deny","Principal":{"Service":"` + engine + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := s.CreateRole(ctx, c, identity.RoleSpec{Name: "denying", TrustPolicy: denying}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EngineCredentials(ctx, role, engine, "SageMaker", "job-1", time.Hour); err == nil {
		t.Error("engine credentials without an audit recorder were issued")
	}
	log := &engineLog{}
	s.RecordEnginesWith(log)
	for name, call := range map[string]func() (identity.Session, error){
		"another engine": func() (identity.Session, error) {
			return s.EngineCredentials(ctx, role, "lambda.amazonaws.com", "SageMaker", "job-1", time.Hour)
		},
		"a denying trust": func() (identity.Session, error) {
			return s.EngineCredentials(ctx, "arn:aws:iam::"+acctA+":role/denying", engine, "SageMaker", "job-1", time.Hour)
		},
		"a missing role": func() (identity.Session, error) {
			return s.EngineCredentials(ctx, role+"x", engine, "SageMaker", "job-1", time.Hour)
		},
		"a bad session": func() (identity.Session, error) {
			return s.EngineCredentials(ctx, role, engine, "a b", "job-1", time.Hour)
		},
		"no source": func() (identity.Session, error) {
			return s.EngineCredentials(ctx, role, engine, "SageMaker", "", time.Hour)
		},
		"no ttl": func() (identity.Session, error) {
			return s.EngineCredentials(ctx, role, engine, "SageMaker", "job-1", 0)
		},
		"a ttl over 12 h": func() (identity.Session, error) {
			return s.EngineCredentials(ctx, role, engine, "SageMaker", "job-1", 13*time.Hour)
		},
	} {
		if sess, err := call(); err == nil || sess.ID != "" {
			t.Errorf("%s: issued %q", name, sess.ID)
		}
	}
	sess, err := s.EngineCredentials(ctx, role, engine, "SageMaker", "job-1", 10*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.t.Add(time.Hour); !sess.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want the role's MaxSessionDuration (%v)", sess.ExpiresAt, want)
	}
	a, err := s.LookupAccessKey(ctx, sess.ID)
	if err != nil || a.Caller.ARN != "arn:aws:sts::"+acctA+":assumed-role/job/SageMaker" || a.SessionToken != sess.SessionToken || a.Secret != sess.Secret {
		t.Fatalf("lookup: %+v, %v", a.Caller, err)
	}
	log.mu.Lock()
	last := log.recs[len(log.recs)-1]
	denies := 0
	for _, r := range log.recs {
		if r.Decision == "deny" {
			denies++
		}
	}
	log.mu.Unlock()
	if last.Decision != "allow" || last.Caller.InvokedBy != engine || !strings.Contains(last.Reason, "job-1") {
		t.Errorf("audit record %+v", last)
	}
	if denies != 3 {
		t.Errorf("%d refusals audited, want 3 (another engine, a denying trust, a missing role)", denies)
	}
	// Ending them: another account's ending does nothing; the account's deletes the key.
	if err := s.EndEngineCredentials(ctx, acctB, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupAccessKey(ctx, sess.ID); err != nil {
		t.Errorf("ended by another account: %v", err)
	}
	if err := s.EndEngineCredentials(ctx, acctA, sess.ID, "ASIANOSUCHKEY00000"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupAccessKey(ctx, sess.ID); !errs.Is(err, errs.Unauthenticated) {
		t.Errorf("after EndEngineCredentials: %v, want Unauthenticated", err)
	}
	// A user's long-term key is not a session: EndEngineCredentials leaves it alone.
	k := c.Caller
	_, keys, err := s.AccessKeys(ctx, c, "")
	if err != nil || len(keys) == 0 {
		t.Fatalf("the admin's keys: %v, %v", keys, err)
	}
	for _, key := range keys {
		if err := s.EndEngineCredentials(ctx, k.Account, key.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupAccessKey(ctx, key.ID); err != nil {
			t.Errorf("a user's key was ended: %v", err)
		}
	}
}
