package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/slipway-ml/slipway/internal/config"
)

const (
	oauthClientSecret = "cl1ent-SECRET-never-shown-5d2e"
	oauthParamSecret  = "param-SECRET-never-shown-88aa"
)

// oauthServer is a token endpoint and a protected destination on 127.0.0.1: the endpoint
// checks the client's credentials and parameters and issues tokens tok-1, tok-2, …; the
// destination accepts only tokens issued and not revoked.
type oauthServer struct {
	*httptest.Server
	mu      sync.Mutex
	issued  int
	revoked map[string]bool
	calls   []string // the tokens the destination accepted
	refuse  int      // the token endpoint's answer when not 0
	bad     []string // what the token endpoint found wrong
}

func newOAuthServer(t *testing.T) *oauthServer {
	o := &oauthServer{revoked: map[string]bool{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		switch r.URL.Path {
		case "/token":
			if o.refuse != 0 {
				w.WriteHeader(o.refuse)
				return
			}
			id, secret, ok := r.BasicAuth()
			_ = r.ParseForm()
			for what, good := range map[string]bool{
				"basic credentials": ok && id == "slipway-client" && secret == oauthClientSecret,
				"grant_type":        r.PostForm.Get("grant_type") == "client_credentials",
				"body parameter":    r.PostForm.Get("scope") == "hooks/write",
				"query parameter":   r.URL.Query().Get("audience") == "hooks",
				"secret header":     r.Header.Get("X-Tenant-Key") == oauthParamSecret,
				"method":            r.Method == "POST",
			} {
				if !good {
					o.bad = append(o.bad, what)
					w.WriteHeader(400)
					return
				}
			}
			o.issued++
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, o.issued)
		case "/hook":
			_, _ = io.Copy(io.Discard, r.Body)
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			var n int
			if _, err := fmt.Sscanf(tok, "tok-%d", &n); !ok || err != nil || n < 1 || n > o.issued || o.revoked[tok] {
				w.WriteHeader(401)
				return
			}
			o.calls = append(o.calls, tok)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *oauthServer) accepted() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}

// oauthWait polls a connection until its state is not AUTHORIZING.
func oauthWait(t *testing.T, eb *eventbridge.Client, name string) *eventbridge.DescribeConnectionOutput {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		dc, err := eb.DescribeConnection(context.Background(), &eventbridge.DescribeConnectionInput{Name: aws.String(name)})
		must(t, err)
		if dc.ConnectionState != ebtypes.ConnectionStateAuthorizing || time.Now().After(deadline) {
			return dc
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func oauthParams(endpoint, secret string) *ebtypes.CreateConnectionAuthRequestParameters {
	return &ebtypes.CreateConnectionAuthRequestParameters{OAuthParameters: &ebtypes.CreateConnectionOAuthRequestParameters{
		AuthorizationEndpoint: aws.String(endpoint), HttpMethod: ebtypes.ConnectionOAuthHttpMethodPost,
		ClientParameters: &ebtypes.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("slipway-client"), ClientSecret: aws.String(secret)},
		OAuthHttpParameters: &ebtypes.ConnectionHttpParameters{
			BodyParameters:        []ebtypes.ConnectionBodyParameter{{Key: aws.String("scope"), Value: aws.String("hooks/write")}},
			QueryStringParameters: []ebtypes.ConnectionQueryStringParameter{{Key: aws.String("audience"), Value: aws.String("hooks")}},
			HeaderParameters:      []ebtypes.ConnectionHeaderParameter{{Key: aws.String("X-Tenant-Key"), Value: aws.String(oauthParamSecret), IsValueSecret: true}},
		}}}
}

// TestOAuthConnections: an OAUTH_CLIENT_CREDENTIALS connection is AUTHORIZING until its token
// is fetched from a real token endpoint on loopback (client credentials as Basic, the
// connection's parameters), then AUTHORIZED; deliveries carry the cached token; a 401 from
// the destination fetches a new token once; a token endpoint off the allow-list or refusing
// the client deauthorizes the connection; no secret shows in any answer, the log or the
// database file.
func TestOAuthConnections(t *testing.T) {
	ctx := context.Background()
	o := newOAuthServer(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.WebhookAllow = "127.0.0.1/32"
	logs := &lockedBuffer{}
	s := startConfig(t, cfg, io.MultiWriter(logs, testWriter{t}))
	admin := clientsOf(s.cfg("data-science"))
	eb := eventsOf(admin.sm)

	created, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("oauth"),
		AuthorizationType: ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, AuthParameters: oauthParams(o.URL+"/token", oauthClientSecret)})
	must(t, err)
	if created.ConnectionState != ebtypes.ConnectionStateAuthorizing {
		t.Errorf("CreateConnection state = %s, want AUTHORIZING", created.ConnectionState)
	}
	dc := oauthWait(t, eb, "oauth")
	if dc.ConnectionState != ebtypes.ConnectionStateAuthorized || dc.LastAuthorizedTime == nil {
		t.Fatalf("the connection is %s (%s); the token endpoint found %v", dc.ConnectionState, aws.ToString(dc.StateReason), o.bad)
	}
	op := dc.AuthParameters.OAuthParameters
	if op == nil || aws.ToString(op.ClientParameters.ClientID) != "slipway-client" || aws.ToString(op.AuthorizationEndpoint) != o.URL+"/token" ||
		op.HttpMethod != ebtypes.ConnectionOAuthHttpMethodPost || len(op.OAuthHttpParameters.HeaderParameters) != 1 ||
		!op.OAuthHttpParameters.HeaderParameters[0].IsValueSecret || aws.ToString(op.OAuthHttpParameters.HeaderParameters[0].Value) != "" ||
		aws.ToString(op.OAuthHttpParameters.BodyParameters[0].Value) != "hooks/write" {
		t.Errorf("DescribeConnection's OAuth parameters: %+v", op)
	}

	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("hook"), ConnectionArn: created.ConnectionArn,
		InvocationEndpoint: aws.String(o.URL + "/hook"), HttpMethod: ebtypes.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(100)})
	must(t, err)
	role, err := admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("invoker"), AssumeRolePolicyDocument: aws.String(eventsTrust)})
	must(t, err)
	_, err = admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("invoker"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:InvokeApiDestination","Resource":"*"}]}`)})
	must(t, err)
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("notify"), EventPattern: aws.String(`{"source":["my.app"]}`)})
	must(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("notify"), Targets: []ebtypes.Target{
		{Id: aws.String("hook"), Arn: dest.ApiDestinationArn, RoleArn: role.Role.Arn}}})
	must(t, err)
	put := func() {
		t.Helper()
		_, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("my.app"), DetailType: aws.String("T"), Detail: aws.String(`{}`)}}})
		must(t, err)
	}
	waitCalls := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := o.accepted()
			if len(got) >= n || time.Now().After(deadline) {
				if len(got) < n {
					t.Fatalf("the destination accepted %d calls, want %d", len(got), n)
				}
				return got
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	put()
	put()
	if got := waitCalls(2); got[0] != "tok-1" || got[1] != "tok-1" {
		t.Errorf("the calls carried %v, want the cached tok-1 twice", got)
	}
	// The token is revoked before it expires: the destination answers 401, a new token, once.
	o.mu.Lock()
	o.revoked["tok-1"] = true
	o.mu.Unlock()
	put()
	if got := waitCalls(3); got[2] != "tok-2" {
		t.Errorf("after the revocation the call carried %s, want tok-2", got[2])
	}
	o.mu.Lock()
	if o.issued != 2 {
		t.Errorf("%d tokens issued, want 2 (cached, then refreshed once)", o.issued)
	}
	o.mu.Unlock()

	// A new client secret: AUTHORIZING again, then authorized with a new token.
	up, err := eb.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("oauth"), AuthParameters: &ebtypes.UpdateConnectionAuthRequestParameters{
		OAuthParameters: &ebtypes.UpdateConnectionOAuthRequestParameters{ClientParameters: &ebtypes.UpdateConnectionOAuthClientRequestParameters{ClientSecret: aws.String(oauthClientSecret)}}}})
	must(t, err)
	if up.ConnectionState != ebtypes.ConnectionStateAuthorizing {
		t.Errorf("UpdateConnection state = %s, want AUTHORIZING", up.ConnectionState)
	}
	if dc := oauthWait(t, eb, "oauth"); dc.ConnectionState != ebtypes.ConnectionStateAuthorized {
		t.Errorf("after the update: %s (%s)", dc.ConnectionState, aws.ToString(dc.StateReason))
	}

	// A token endpoint off the allow-list, and one that refuses the client: DEAUTHORIZED.
	_, err = eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("offlist"),
		AuthorizationType: ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, AuthParameters: oauthParams("http://127.0.0.2:9/token", oauthClientSecret)})
	must(t, err)
	if dc := oauthWait(t, eb, "offlist"); dc.ConnectionState != ebtypes.ConnectionStateDeauthorized || !strings.Contains(aws.ToString(dc.StateReason), "allow-list") {
		t.Errorf("a token endpoint off the allow-list: %s (%s)", dc.ConnectionState, aws.ToString(dc.StateReason))
	}
	o.mu.Lock()
	o.refuse = 403
	o.mu.Unlock()
	_, err = eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("refused"),
		AuthorizationType: ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, AuthParameters: oauthParams(o.URL+"/token", oauthClientSecret)})
	must(t, err)
	if dc := oauthWait(t, eb, "refused"); dc.ConnectionState != ebtypes.ConnectionStateDeauthorized || !strings.Contains(aws.ToString(dc.StateReason), "403") {
		t.Errorf("a token endpoint that refuses: %s (%s)", dc.ConnectionState, aws.ToString(dc.StateReason))
	}

	// No secret anywhere: answers, log, the database file.
	lc, err := eb.ListConnections(ctx, &eventbridge.ListConnectionsInput{})
	must(t, err)
	d1 := oauthWait(t, eb, "oauth")
	answers, _ := json.Marshal([]any{created, dc, d1, lc, up})
	var dbBytes []byte
	for _, f := range []string{"slipway.db", "slipway.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(cfg.DataDir, f))
		dbBytes = append(dbBytes, b...)
	}
	for _, secret := range []string{oauthClientSecret, oauthParamSecret, "tok-1", "tok-2"} {
		for what, text := range map[string]string{"answers": string(answers), "log": logs.String(), "database": string(dbBytes)} {
			if strings.Contains(text, secret) {
				t.Errorf("the secret %s shows in the %s", secret, what)
			}
		}
	}
}
