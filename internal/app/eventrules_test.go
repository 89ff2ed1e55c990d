package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/events/rules"
)

// startIn starts a server on dataDir (a restart when it holds a previous one's data).
func startIn(t *testing.T, dataDir string) (*server, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	hs := httptest.NewServer(a.Handler())
	a.Listening(hs.URL)
	stop := func() { hs.Close(); a.Close() }
	s := &server{app: a, url: hs.URL, profile: map[string]aws.Credentials{}, account: map[string]string{}}
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		stop()
		t.Fatal(err)
	}
	for name, p := range profiles {
		s.profile[name] = aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
		s.account[name] = p.Account
	}
	return s, stop
}

// logMessages returns the messages of a log group, oldest first.
func logMessages(t *testing.T, cl *cloudwatchlogs.Client, group string) []string {
	t.Helper()
	out, err := cl.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range out.Events {
		msgs = append(msgs, *e.Message)
	}
	return msgs
}

// waitLogs polls a log group until it holds n messages (at most 10 s).
func waitLogs(t *testing.T, cl *cloudwatchlogs.Client, group string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := logMessages(t, cl, group)
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				t.Fatalf("log group %s holds %d messages, want %d: %q", group, len(msgs), n, msgs)
			}
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEventRulesDeliverApprovals: approving a model package puts SageMaker's state-change event
// on the account's default bus; a rule matching approvals only delivers it to a log group (the
// creation event does not match); a rule forwarding to another account's bus delivers there only
// once that bus's policy permits the account, and that bus's rules then apply; a restart whose
// cursor was lost redelivers nothing twice.
func TestEventRulesDeliverApprovals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, stop := startIn(t, dir)
	defer func() { stop() }()
	ds, stg := s.cfg("data-science"), s.cfg("staging")
	dsSM, dsEB, dsLogs := sagemaker.NewFromConfig(ds), eventbridge.NewFromConfig(ds), cloudwatchlogs.NewFromConfig(ds)
	stgEB, stgLogs := eventbridge.NewFromConfig(stg), cloudwatchlogs.NewFromConfig(stg)
	dsAcct, stgAcct := s.account["data-science"], s.account["staging"]

	pattern := `{"source":["aws.sagemaker"],"detail-type":["SageMaker Model Package State Change"],"detail":{"ModelPackageGroupName":["abalone"],"ModelApprovalStatus":["Approved"]}}`
	for _, c := range []struct {
		eb    *eventbridge.Client
		logs  *cloudwatchlogs.Client
		acct  string
		group string
	}{{dsEB, dsLogs, dsAcct, "/events/approved"}, {stgEB, stgLogs, stgAcct, "/events/from-ds"}} {
		_, err := c.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(c.group)})
		must(t, err)
		_, err = c.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("abalone-approved"), EventPattern: aws.String(pattern)})
		must(t, err)
		_, err = c.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("abalone-approved"), Targets: []ebtypes.Target{
			{Id: aws.String("log"), Arn: aws.String("arn:aws:logs:us-east-1:" + c.acct + ":log-group:" + c.group)}}})
		must(t, err)
	}
	// A second target of the data-science rule: the InputTransformer's text.
	_, err := dsLogs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/events/summary")})
	must(t, err)
	_, err = dsEB.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("abalone-approved"), Targets: []ebtypes.Target{
		{Id: aws.String("summary"), Arn: aws.String("arn:aws:logs:us-east-1:" + dsAcct + ":log-group:/events/summary"),
			InputTransformer: &ebtypes.InputTransformer{InputPathsMap: map[string]string{"v": "$.detail.ModelPackageVersion", "arn": "$.resources[0]"},
				InputTemplate: aws.String(`{"version":<v>,"package":"<arn>","rule":"<aws.events.rule-name>"}`)}},
		// Forward to staging's default bus: refused until staging's bus policy permits.
		{Id: aws.String("staging"), Arn: aws.String("arn:aws:events:us-east-1:" + stgAcct + ":event-bus/default")},
	}})
	must(t, err)

	_, err = dsSM.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("abalone")})
	must(t, err)
	var pkgs []string
	for i := 0; i < 2; i++ {
		p, err := dsSM.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("abalone")})
		must(t, err)
		pkgs = append(pkgs, *p.ModelPackageArn)
	}
	approve := func(arn string) {
		_, err := dsSM.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(arn), ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
		must(t, err)
	}
	approve(pkgs[0])
	msgs := waitLogs(t, dsLogs, "/events/approved", 1) // creation events (PendingManualApproval) do not match
	var env struct {
		Version, ID, Source, Account, Region string
		DetailType                           string `json:"detail-type"`
		Resources                            []string
		Detail                               map[string]any
	}
	must(t, json.Unmarshal([]byte(msgs[0]), &env))
	if env.Source != "aws.sagemaker" || env.DetailType != "SageMaker Model Package State Change" || env.Account != dsAcct ||
		env.Region != "us-east-1" || env.Version != "0" || env.ID == "" || len(env.Resources) != 1 || env.Resources[0] != pkgs[0] ||
		env.Detail["ModelApprovalStatus"] != "Approved" || env.Detail["ModelPackageGroupName"] != "abalone" {
		t.Errorf("delivered envelope = %s", msgs[0])
	}
	if got := waitLogs(t, dsLogs, "/events/summary", 1); got[0] != fmt.Sprintf(`{"version":1,"package":"%s","rule":"abalone-approved"}`, pkgs[0]) {
		t.Errorf("transformed input = %s", got[0])
	}

	// Nothing reached staging: prove it after a sentinel staging puts on its own bus later, which
	// the single ordered delivery handles after anything forwarded before it.
	sentinel := func(n int) {
		out, err := stgEB.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("app.sentinel"), DetailType: aws.String("Sentinel"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, n))}}})
		must(t, err)
		if out.FailedEntryCount != 0 {
			t.Fatalf("sentinel PutEvents: %+v", out.Entries)
		}
	}
	_, err = stgLogs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/events/sentinel")})
	must(t, err)
	_, err = stgEB.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sentinel"), EventPattern: aws.String(`{"source":["app.sentinel"]}`)})
	must(t, err)
	_, err = stgEB.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("sentinel"), Targets: []ebtypes.Target{
		{Id: aws.String("log"), Arn: aws.String("arn:aws:logs:us-east-1:" + stgAcct + ":log-group:/events/sentinel")}}})
	must(t, err)
	sentinel(1)
	waitLogs(t, stgLogs, "/events/sentinel", 1)
	if got := logMessages(t, stgLogs, "/events/from-ds"); len(got) != 0 {
		t.Fatalf("staging received %d events without a bus policy: %q", len(got), got)
	}

	// Staging permits data-science; the next approval is forwarded and staging's rule applies.
	_, err = stgEB.PutPermission(ctx, &eventbridge.PutPermissionInput{Action: aws.String("events:PutEvents"), Principal: aws.String(dsAcct), StatementId: aws.String("ds")})
	must(t, err)
	approve(pkgs[1])
	got := waitLogs(t, stgLogs, "/events/from-ds", 1)
	if !strings.Contains(got[0], pkgs[1]) || !strings.Contains(got[0], `"account":"`+dsAcct+`"`) {
		t.Errorf("forwarded event = %s", got[0])
	}
	waitLogs(t, dsLogs, "/events/approved", 2)

	// A restart that lost delivery's cursor hands every event over again: nothing is delivered twice.
	stop()
	stop = func() {}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "slipway.db")+"?_pragma=busy_timeout(10000)")
	must(t, err)
	res, err := db.Exec(`UPDATE event_cursors SET seq = 0 WHERE consumer = $1`, rules.Consumer)
	must(t, err)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("delivery's cursor: %d rows", n)
	}
	db.Close()
	s3, stop3 := startIn(t, dir)
	stop = stop3
	dsLogs3, stgLogs3 := cloudwatchlogs.NewFromConfig(s3.cfg("data-science")), cloudwatchlogs.NewFromConfig(s3.cfg("staging"))
	stgEB3 := eventbridge.NewFromConfig(s3.cfg("staging"))
	out, err := stgEB3.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("app.sentinel"), DetailType: aws.String("Sentinel"), Detail: aws.String(`{"n":2}`)}}})
	must(t, err)
	if out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents after the restart: %+v", out.Entries)
	}
	waitLogs(t, stgLogs3, "/events/sentinel", 2)
	for _, c := range []struct {
		cl    *cloudwatchlogs.Client
		group string
		n     int
	}{{dsLogs3, "/events/approved", 2}, {dsLogs3, "/events/summary", 2}, {stgLogs3, "/events/from-ds", 1}} {
		if got := logMessages(t, c.cl, c.group); len(got) != c.n {
			t.Errorf("after the redelivery %s holds %d messages, want %d", c.group, len(got), c.n)
		}
	}

	// A disabled rule delivers nothing from then on (delivery's compiled rules follow changes).
	ds3 := s3.cfg("data-science")
	_, err = eventbridge.NewFromConfig(ds3).DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("abalone-approved")})
	must(t, err)
	sm3 := sagemaker.NewFromConfig(ds3)
	p3, err := sm3.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("abalone")})
	must(t, err)
	_, err = sm3.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: p3.ModelPackageArn, ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
	must(t, err)
	out, err = stgEB3.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("app.sentinel"), DetailType: aws.String("Sentinel"), Detail: aws.String(`{"n":3}`)}}})
	must(t, err)
	waitLogs(t, stgLogs3, "/events/sentinel", 3)
	if got := logMessages(t, dsLogs3, "/events/approved"); len(got) != 2 {
		t.Errorf("after DisableRule the log group holds %d messages, want 2", len(got))
	}
}

// TestEventRulesRefuse: bad patterns and bad targets change nothing; another account's rules
// and buses are out of reach without a bus policy; an explicit Deny wins over the bus policy's
// Allow, in the caller's identity policy and in the bus policy alike.
func TestEventRulesRefuse(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	dsEB, stgEB, prodEB := eventbridge.NewFromConfig(s.cfg("data-science")), eventbridge.NewFromConfig(s.cfg("staging")), eventbridge.NewFromConfig(s.cfg("production"))
	dsAcct, stgAcct := s.account["data-science"], s.account["staging"]

	for _, c := range []struct{ pattern, code, reason string }{
		{`{"source":"aws.sagemaker"}`, "InvalidEventPatternException", "Match value must be"},
		{`{"detail":{"n":[{"numeric":[">",5,"<",1]}]}}`, "InvalidEventPatternException", "Bad numeric range"},
		{`{"source":[{"wildcard":"a**"}]}`, "InvalidEventPatternException", "Consecutive wildcard"},
		{`not json`, "InvalidEventPatternException", "not valid JSON"},
	} {
		_, err := dsEB.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(c.pattern)})
		if code(err) != c.code || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("PutRule(%s) = %v, want %s (%s)", c.pattern, err, c.code, c.reason)
		}
	}
	if _, err := dsEB.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("bad")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("DescribeRule after refused PutRules: %v, want ResourceNotFoundException", err)
	}
	_, err := dsEB.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["app"]}`)})
	must(t, err)
	for _, tg := range []ebtypes.Target{
		{Id: aws.String("sqs"), Arn: aws.String("arn:aws:sqs:us-east-1:" + dsAcct + ":q")},
		{Id: aws.String("bad id!"), Arn: aws.String("arn:aws:logs:us-east-1:" + dsAcct + ":log-group:g")},
		{Id: aws.String("both"), Arn: aws.String("arn:aws:logs:us-east-1:" + dsAcct + ":log-group:g"), Input: aws.String(`{}`), InputPath: aws.String("$.detail")},
		{Id: aws.String("path"), Arn: aws.String("arn:aws:logs:us-east-1:" + dsAcct + ":log-group:g"), InputPath: aws.String("detail")},
	} {
		if _, err := dsEB.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{tg}}); code(err) != "ValidationException" {
			t.Errorf("PutTargets(%s) = %v, want ValidationException", *tg.Id, err)
		}
	}
	if ts, err := dsEB.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r")}); err != nil || len(ts.Targets) != 0 {
		t.Errorf("targets after refused PutTargets: %+v, %v", ts, err)
	}
	if _, err := dsEB.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"source":["a"]}`), Event: aws.String(`{"source":"a"}`)}); code(err) != "ValidationException" {
		t.Errorf("TestEventPattern with an event lacking its envelope: %v", err)
	}
	res, err := dsEB.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"detail":{"n":[{"numeric":[">=",3]}]}}`),
		Event: aws.String(`{"id":"1","account":"` + dsAcct + `","source":"a","time":"2026-12-03T00:00:00Z","region":"us-east-1","resources":[],"detail-type":"x","detail":{"n":3}}`)})
	if err != nil || !res.Result {
		t.Errorf("TestEventPattern = %+v, %v; want true", res, err)
	}

	// Another account: staging cannot see data-science's rule through its bus's ARN, nor put
	// events on its bus, until a bus policy says so.
	dsBus := "arn:aws:events:us-east-1:" + dsAcct + ":event-bus/default"
	if _, err := stgEB.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r"), EventBusName: aws.String(dsBus)}); code(err) != "AccessDeniedException" {
		t.Errorf("staging DescribeRule on data-science's bus: %v, want AccessDeniedException", err)
	}
	put := func(cl *eventbridge.Client, bus string) error {
		out, err := cl.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("app"), DetailType: aws.String("T"), Detail: aws.String(`{}`), EventBusName: aws.String(bus)}}})
		if err == nil && out.FailedEntryCount != 0 {
			return fmt.Errorf("failed entry %s: %s", *out.Entries[0].ErrorCode, *out.Entries[0].ErrorMessage)
		}
		return err
	}
	if err := put(stgEB, dsBus); code(err) != "AccessDeniedException" {
		t.Errorf("staging PutEvents on data-science's bus: %v, want AccessDeniedException", err)
	}
	stgBus := "arn:aws:events:us-east-1:" + stgAcct + ":event-bus/default"
	_, err = stgEB.PutPermission(ctx, &eventbridge.PutPermissionInput{Action: aws.String("events:PutEvents"), Principal: aws.String(dsAcct), StatementId: aws.String("ds")})
	must(t, err)
	if err := put(dsEB, stgBus); err != nil {
		t.Errorf("data-science PutEvents on staging's bus with its policy: %v", err)
	}
	if err := put(prodEB, stgBus); code(err) != "AccessDeniedException" {
		t.Errorf("production PutEvents on staging's bus (not in its policy): %v, want AccessDeniedException", err)
	}
	// An explicit Deny in the caller's identity policy wins over the bus policy's Allow.
	dsIAM := iam.NewFromConfig(s.cfg("data-science"))
	_, err = dsIAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin"), PolicyName: aws.String("no-staging-events"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"events:PutEvents","Resource":"` + stgBus + `"}]}`)})
	must(t, err)
	if err := put(dsEB, stgBus); code(err) != "AccessDeniedException" {
		t.Errorf("PutEvents under an identity Deny: %v, want AccessDeniedException", err)
	}
	_, err = dsIAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("admin"), PolicyName: aws.String("no-staging-events")})
	must(t, err)
	// An explicit Deny in the bus policy wins over its own Allow.
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"ds","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"events:PutEvents","Resource":"%s"},`+
		`{"Sid":"deny","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"events:PutEvents","Resource":"%s"}]}`, dsAcct, stgBus, dsAcct, stgBus)
	_, err = stgEB.PutPermission(ctx, &eventbridge.PutPermissionInput{Policy: aws.String(policy)})
	must(t, err)
	if err := put(dsEB, stgBus); code(err) != "AccessDeniedException" {
		t.Errorf("PutEvents under the bus policy's Deny: %v, want AccessDeniedException", err)
	}
	d, err := stgEB.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{})
	if err != nil || d.Policy == nil || !strings.Contains(*d.Policy, `"deny"`) || *d.Name != "default" || *d.Arn != stgBus {
		t.Errorf("DescribeEventBus = %+v, %v", d, err)
	}
	if _, err := stgEB.RemovePermission(ctx, &eventbridge.RemovePermissionInput{StatementId: aws.String("nope")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("RemovePermission of a missing statement: %v", err)
	}
	_, err = stgEB.RemovePermission(ctx, &eventbridge.RemovePermissionInput{RemoveAllPermissions: true})
	must(t, err)
	if err := put(dsEB, stgBus); code(err) != "AccessDeniedException" {
		t.Errorf("PutEvents after RemoveAllPermissions: %v, want AccessDeniedException", err)
	}
	// Entries are checked one by one; a missing bus fails its entry, not the call.
	out, err := dsEB.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("app"), DetailType: aws.String("T"), Detail: aws.String(`[1]`)},
		{Source: aws.String("aws.sagemaker"), DetailType: aws.String("T"), Detail: aws.String(`{}`)},
		{Source: aws.String("app"), DetailType: aws.String("T"), Detail: aws.String(`{}`), EventBusName: aws.String("nobus")},
		{Source: aws.String("app"), DetailType: aws.String("T"), Detail: aws.String(`{"ok":true}`)},
	}})
	must(t, err)
	var codes []string
	for _, e := range out.Entries {
		codes = append(codes, aws.ToString(e.ErrorCode))
	}
	if out.FailedEntryCount != 3 || strings.Join(codes, ",") != "MalformedDetail,NotAuthorizedForSourceException,ResourceNotFoundException," || out.Entries[3].EventId == nil {
		t.Errorf("PutEvents entries = %d failed, codes %q", out.FailedEntryCount, codes)
	}
}
