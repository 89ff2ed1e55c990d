package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// TestConsoleTransitions: a deploy pipeline's page shows each stage's inbound transition as
// GetPipelineState answers it, and its Enable/Disable actions: the admin disables one with a
// reason (who, when and why are shown) and enables it again; a reason CodePipeline refuses, a
// form without the CSRF token, a reader, an explicit Deny and another account's admin are each
// refused, and change nothing.
func TestConsoleTransitions(t *testing.T) {
	ctx := context.Background()
	s := startConsole(t)
	d := newDeploySetup(t, s.server)
	cp := cpOf(d.ds.sm)
	_, err := cp.CreatePipeline(ctx, &codepipeline.CreatePipelineInput{Pipeline: d.pipeline("model-deploy")})
	mustDo(t, err)
	inbound := func(stage string) string { // enabled|by|reason of the stage's inbound transition, as the API answers
		t.Helper()
		st, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("model-deploy")})
		mustDo(t, err)
		for _, s := range st.StageStates {
			if aws.ToString(s.StageName) == stage && s.InboundTransitionState != nil {
				ts := s.InboundTransitionState
				by := aws.ToString(ts.LastChangedBy)
				return map[bool]string{true: "enabled", false: "disabled"}[ts.Enabled] + "|" + by[strings.LastIndexByte(by, '/')+1:] + "|" + aws.ToString(ts.DisabledReason)
			}
		}
		t.Fatalf("no stage %s", stage)
		return ""
	}
	ds := s.profile["data-science"]
	b := signedIn(t, s.server, ds.AccessKeyID, ds.SecretAccessKey)
	const path = "/console/deployments/model-deploy"
	p := b.get(path)
	if p.status != http.StatusOK || strings.Count(p.body, `data-transition="enabled"`) != 3 || !strings.Contains(p.body, `<button name="op" value="disable">Disable transition into DeployProd</button>`) ||
		strings.Contains(p.body, "Disable transition into Source") {
		t.Fatalf("the stages' transitions (three, none for the first stage):\n%s", p.body)
	}
	csrf := b.csrf(path)
	form := func(op, stage, reason, token string) url.Values {
		return url.Values{"op": {op}, "stage": {stage}, "reason": {reason}, "csrf": {token}}
	}
	// Refusals that change nothing.
	if p := b.post(path+"/transition", form("disable", "DeployProd", "no token", "")); p.status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", p.status)
	}
	if p := b.post(path+"/transition", form("disable", "DeployProd", "<script>alert(1)</script>", csrf)); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "ValidationException") || strings.Contains(p.body, "<script>alert") {
		t.Errorf("a reason CodePipeline refuses: %d\n%s", p.status, p.body)
	}
	if p := b.post(path+"/transition", form("disable", "Source", "first", csrf)); p.status != http.StatusBadRequest {
		t.Errorf("the first stage's inbound transition: %d", p.status)
	}
	if p := b.post(path+"/transition", form("pause", "DeployProd", "x", csrf)); p.status != http.StatusBadRequest {
		t.Errorf("an unknown op: %d", p.status)
	}
	keyID, secret := newUser(t, s.server, "cpreader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:Get*","codepipeline:List*"],"Resource":"*"}]}`)
	rd := signedIn(t, s.server, keyID, secret)
	if p := rd.get(path); p.status != http.StatusOK || !strings.Contains(p.body, `data-transition="enabled"`) {
		t.Errorf("the reader's deployment page: %d", p.status)
	}
	if p := rd.post(path+"/transition", form("disable", "DeployProd", "reader", rd.csrf(path))); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "codepipeline:DisableStageTransition") {
		t.Errorf("the reader disables: %d\n%s", p.status, p.body)
	}
	st := s.profile["staging"]
	sb := signedIn(t, s.server, st.AccessKeyID, st.SecretAccessKey)
	if p := sb.post(path+"/transition", form("disable", "DeployProd", "other account", sb.csrf("/console/deployments"))); p.status == http.StatusSeeOther {
		t.Errorf("another account's admin disables: %d", p.status)
	}
	if got := inbound("DeployProd"); got != "enabled||" {
		t.Fatalf("after the refusals: %s", got)
	}

	// The admin disables the transition into production, with a reason.
	p = b.post(path+"/transition", form("disable", "DeployProd", "freeze (release 1.2)", csrf))
	if p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", p.status, p.body)
	}
	if got := inbound("DeployProd"); got != "disabled|admin|freeze (release 1.2)" {
		t.Errorf("after the admin's disable: %s", got)
	}
	p = b.get(p.location)
	for _, want := range []string{`data-transition="disabled"`, "Transition disabled", "freeze (release 1.2)", "user/admin", "The transition into DeployProd is disabled",
		`<button name="op" value="enable">Enable transition into DeployProd</button>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page after disabling lacks %q", want)
		}
	}
	// An explicit Deny on the stage wins over an Allow of everything.
	keyID, secret = newUser(t, s.server, "cpdenied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":"codepipeline:EnableStageTransition","Resource":"arn:aws:codepipeline:us-east-1:`+s.account["data-science"]+`:model-deploy/DeployProd"}]}`)
	dn := signedIn(t, s.server, keyID, secret)
	if p := dn.post(path+"/transition", form("enable", "DeployProd", "", dn.csrf(path))); p.status != http.StatusForbidden || !strings.Contains(p.body, "explicit deny") {
		t.Errorf("enable under an explicit Deny: %d\n%s", p.status, p.body)
	}
	if got := inbound("DeployProd"); got != "disabled|admin|freeze (release 1.2)" {
		t.Errorf("after the denied enable: %s", got)
	}
	if p := b.post(path+"/transition", form("enable", "DeployProd", "", csrf)); p.status != http.StatusSeeOther {
		t.Fatalf("enable: %d\n%s", p.status, p.body)
	}
	if got := inbound("DeployProd"); got != "enabled|admin|" {
		t.Errorf("after the admin's enable: %s", got)
	}
	if p := b.get(path); strings.Count(p.body, `data-transition="enabled"`) != 3 || !strings.Contains(p.body, "changed by arn:aws:iam::"+s.account["data-science"]+":user/admin") {
		t.Errorf("the page after enabling:\n%s", p.body)
	}
	if p := b.get("/console/audit?action=DisableStageTransition&principal=user/admin"); !strings.Contains(p.body, "<td>codepipeline:DisableStageTransition</td>") {
		t.Errorf("the console's DisableStageTransition is not audited")
	}
}
