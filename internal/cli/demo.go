package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/slipway-ml/slipway/internal/algorithms/sample"
	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

var demoHelp = helpText{
	usage: "slipway demo [flags]",
	desc: `Runs the story of the README end to end on a fresh server of its own (on a free loopback
port, stopped at the end): trains and evaluates the abalone model with the built-in XGBoost,
registers it in the data-science account, shows that staging and production cannot read it
until the group's policy lets them, approves it, and shows the state-change event and the
verified audit trail. It prints each step; the files stay in the data directory.`,
	example: `slipway demo
slipway demo --data-dir /tmp/demo   # keep the server's data and the model files there`,
}

// runDemo runs the story of the README on a fresh server: train and evaluate the abalone model,
// register it in the data-science account, show that staging and production are isolated until
// the group's policy lets them read it, approve it, and show the event and the audit trail.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway demo", demoHelp, stdout, stderr)
	dir := fs.String("data-dir", "", "directory for the demo's server and files (default: a new temporary directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "slipway-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	d := &demo{out: stdout, dir: *dir}
	return d.run(ctx)
}

type demo struct {
	out  io.Writer
	dir  string
	url  string
	step int
	cred map[string][2]string // profile → key id, secret
	acct map[string]string    // profile → account id
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, "      "+format+"\n", args...) }

func (d *demo) next(title string) {
	d.step++
	fmt.Fprintf(d.out, "\n[%d] %s\n", d.step, title)
}

func (d *demo) cfg(profile string) aws.Config {
	c := d.cred[profile]
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(d.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(c[0], c[1], "")}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func (d *demo) run(ctx context.Context) error {
	start := time.Now()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(d.dir, "server")
	cfg.Listen = "127.0.0.1:0"
	logf, err := os.Create(filepath.Join(d.dir, "server.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(logf, nil)), nil)
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { served <- a.Serve(sctx, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		d.url = "http://" + addr
	case err := <-served:
		stop()
		return err
	}
	// The demo is a client: it reaches the server through the API only. Once the story is told
	// it stops the server and reads the outbox and the audit trail offline, as `slipway audit
	// verify` does.
	var stopOnce sync.Once
	var serveErr error
	stopServer := func() error {
		stopOnce.Do(func() { stop(); serveErr = <-served })
		return serveErr
	}
	defer stopServer()

	d.next("A Slipway server is running with a fresh organization")
	if err := d.readCredentials(a.CredentialsPath()); err != nil {
		return err
	}
	d.say("API:         %s (SageMaker, IAM, STS, Organizations over the AWS wire protocols)", d.url)
	d.say("credentials: %s", a.CredentialsPath())
	for _, p := range []string{"data-science", "staging", "production"} {
		who, err := sts.NewFromConfig(d.cfg(p)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return err
		}
		d.acct[p] = *who.Account
		d.say("%-13s account %s  %s", p, *who.Account, *who.Arn)
	}

	d.next("Preprocess the abalone data set (impute, scale, one-hot sex, 70/15/15 split)")
	work := filepath.Join(d.dir, "work")
	raw := filepath.Join(work, "abalone.csv")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(raw, sample.Abalone(), 0o644); err != nil {
		return err
	}
	quiet := io.Discard
	prepped := filepath.Join(work, "prepped")
	if err := runAlgo(ctx, []string{"prep", "--input", raw, "--label", "rings", "--categorical", "sex",
		"--split", "0.7,0.15,0.15", "--seed", "42", "--out", prepped}, quiet, quiet); err != nil {
		return err
	}
	d.say("wrote %s/{train,validation,test}.csv and transform.json", prepped)

	d.next("Train XGBoost (reg:squarederror, 50 rounds, max_depth 5, eta 0.2, gamma 4, min_child_weight 6, subsample 0.7)")
	model := filepath.Join(work, "model")
	var log strings.Builder
	if err := runAlgo(ctx, []string{"train", "xgboost", "--train", filepath.Join(prepped, "train.csv"),
		"--validation", filepath.Join(prepped, "validation.csv"),
		"--set", "objective=reg:squarederror,num_round=50,max_depth=5,eta=0.2,gamma=4,min_child_weight=6,subsample=0.7,seed=42",
		"--model-dir", model}, &log, quiet); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	d.say("%s", lines[0])
	d.say("…")
	d.say("%s", lines[len(lines)-1])

	d.next("Evaluate on the test split")
	evalPath := filepath.Join(work, "evaluation.json")
	if err := runAlgo(ctx, []string{"evaluate", "--model", filepath.Join(model, "xgboost-model"),
		"--test", filepath.Join(prepped, "test.csv"), "--out", evalPath}, quiet, quiet); err != nil {
		return err
	}
	var report struct {
		Regression map[string]struct {
			Value float64 `json:"value"`
		} `json:"regression_metrics"`
	}
	raw2, err := os.ReadFile(evalPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw2, &report); err != nil {
		return err
	}
	mse := report.Regression["mse"].Value
	d.say("mse %.3f  rmse %.3f  mae %.3f  r2 %.3f", mse, report.Regression["rmse"].Value, report.Regression["mae"].Value, report.Regression["r2"].Value)
	if mse > 6.0 {
		return fmt.Errorf("the model's mse %.3f is above the 6.0 threshold; the pipeline would not register it", mse)
	}
	d.say("mse ≤ 6.0: the condition step registers the model")

	d.next("Register the model version in data-science's model registry")
	ds := sagemaker.NewFromConfig(d.cfg("data-science"))
	group := aws.String("abalone")
	if _, err := ds.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: group,
		ModelPackageGroupDescription: aws.String("Abalone age from physical measurements")}); err != nil {
		return err
	}
	pkg, err := ds.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{
		ModelPackageGroupName:   group,
		ModelPackageDescription: aws.String("XGBoost, 50 rounds"),
		InferenceSpecification: &smtypes.InferenceSpecification{
			Containers:                 []smtypes.ModelPackageContainerDefinition{{Image: aws.String("slipway/xgboost:1.7")}},
			SupportedContentTypes:      []string{"text/csv"},
			SupportedResponseMIMETypes: []string{"text/csv"},
		},
		// Artifacts live on local disk until the S3 API arrives; the registry records where.
		CustomerMetadataProperties: map[string]string{"mse": fmt.Sprintf("%.4f", mse), "evaluation": evalPath,
			"model": filepath.Join(model, "xgboost-model")},
	})
	if err != nil {
		return err
	}
	arn := *pkg.ModelPackageArn
	d.say("%s  (PendingManualApproval)", arn)

	d.next("Staging and production cannot see it: accounts are isolated")
	stg := sagemaker.NewFromConfig(d.cfg("staging"))
	_, err = stg.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &arn})
	d.say("staging describe-model-package → %s", orElse(errorCode(err), "allowed?!"))
	if errorCode(err) != "AccessDeniedException" {
		return fmt.Errorf("staging was not denied: %v", err)
	}

	d.next("The group's resource policy grants read access to the staging and production accounts")
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"DeployAccountsRead","Effect":"Allow",
  "Principal":{"AWS":["arn:aws:iam::%s:root","arn:aws:iam::%s:root"]},
  "Action":["sagemaker:DescribeModelPackage","sagemaker:ListModelPackages","sagemaker:DescribeModelPackageGroup"],
  "Resource":["arn:aws:sagemaker:us-east-1:%s:model-package-group/abalone","arn:aws:sagemaker:us-east-1:%s:model-package/abalone/*"]}]}`,
		d.acct["staging"], d.acct["production"], d.acct["data-science"], d.acct["data-science"])
	if _, err := ds.PutModelPackageGroupPolicy(ctx, &sagemaker.PutModelPackageGroupPolicyInput{ModelPackageGroupName: group, ResourcePolicy: &policy}); err != nil {
		return err
	}
	got, err := stg.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &arn})
	if err != nil {
		return err
	}
	d.say("staging describe-model-package → %s, version %d", got.ModelApprovalStatus, *got.ModelPackageVersion)
	_, err = stg.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: &arn, ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
	d.say("staging update-model-package → %s (the policy grants reading only)", orElse(errorCode(err), "allowed?!"))

	d.next("An SCP on the production OU forbids approving models there")
	orgs := organizations.NewFromConfig(d.cfg("data-science"))
	roots, err := orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return err
	}
	ous, err := orgs.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	if err != nil {
		return err
	}
	scp, err := orgs.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("no-approvals-in-production"),
		Description: aws.String("Approvals happen in data-science only"), Type: orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:UpdateModelPackage","Resource":"*"}]}`)})
	if err != nil {
		return err
	}
	for _, ou := range ous.OrganizationalUnits {
		if *ou.Name == "production" {
			if _, err := orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: scp.Policy.PolicySummary.Id, TargetId: ou.Id}); err != nil {
				return err
			}
			d.say("attached %s to OU %s", *scp.Policy.PolicySummary.Id, *ou.Id)
		}
	}
	prod := sagemaker.NewFromConfig(d.cfg("production"))
	if _, err := prod.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("local")}); err != nil {
		return err
	}
	local, err := prod.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("local")})
	if err != nil {
		return err
	}
	_, err = prod.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: local.ModelPackageArn, ModelApprovalStatus: smtypes.ModelApprovalStatusApproved})
	d.say("production admin approving its own package → %s", orElse(errorCode(err), "allowed?!"))

	d.next("A reviewer in data-science approves the version")
	if _, err := ds.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: &arn,
		ModelApprovalStatus: smtypes.ModelApprovalStatusApproved, ApprovalDescription: aws.String(fmt.Sprintf("mse %.3f ≤ 6.0", mse))}); err != nil {
		return err
	}
	got, err = ds.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &arn})
	if err != nil {
		return err
	}
	d.say("%s by %s: %q", got.ModelApprovalStatus, *got.LastModifiedBy.IamIdentity.Arn, *got.ApprovalDescription)

	if err := stopServer(); err != nil {
		return fmt.Errorf("the server did not stop cleanly: %w", err)
	}
	data, err := openOffline(ctx, cfg)
	if err != nil {
		return err
	}
	defer data.Close()

	d.next("The registry wrote a state-change event for each change, in the same transaction (the outbox)")
	d.say("(the server is stopped; read offline from %s)", cfg.DataDir)
	evs, err := data.EventsAfter(ctx, 0, 100)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		var detail struct{ ModelApprovalStatus, ModelPackageArn string }
		json.Unmarshal(ev.Detail, &detail)
		d.say("#%d %s  %s  %s", ev.Seq, ev.DetailType, detail.ModelPackageArn, detail.ModelApprovalStatus)
	}
	d.say("a rule matching ModelApprovalStatus=Approved will start the deploy pipeline (next issues)")

	d.next("Every call is in the audit trail, chained by hash")
	n, problem, err := audit.Verify(ctx, data)
	if err != nil {
		return err
	}
	if problem != nil {
		return fmt.Errorf("audit chain broken: %s", problem)
	}
	d.say("%d records, chain intact (slipway audit verify --data-dir %s)", n, cfg.DataDir)
	fmt.Fprintf(d.out, "\nDone in %.1fs. Files are in %s.\n", time.Since(start).Seconds(), d.dir)
	return nil
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (d *demo) readCredentials(path string) error {
	profiles, err := credfile.ReadFile(path)
	if err != nil {
		return err
	}
	d.cred, d.acct = map[string][2]string{}, map[string]string{}
	for name, p := range profiles {
		d.cred[name] = [2]string{p.AccessKeyID, p.SecretAccessKey}
	}
	return nil
}
