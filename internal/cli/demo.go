package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
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
	desc: `Tells the whole story on a fresh server of its own (a free loopback port; an organization of
a data-science account, a staging OU of two accounts and a production OU of one): a project
from the built-in multi-account-deployment template; the model-build pipeline trains and
evaluates the abalone model and registers it PendingManualApproval; a data scientist approves
it; the event starts the deploy pipeline, which writes the stage configurations, deploys the
endpoint with a stack set into both staging accounts and tests every staging endpoint; the
data scientist may not approve production (separation of duties), an operator does; the
production stack set deploys, and a production invocation prints a prediction. Each stage is
shown live with its timing, then a summary table and the commands to explore what was built.
With --endpoint it tells the story against a running server instead (its data-science
profile's credentials are used; names get a random suffix).`,
	example: `slipway demo
slipway demo --keep                      # leave the server running to explore; Ctrl-C stops it
slipway demo --data-dir /tmp/demo        # keep the server's data there
slipway demo --endpoint http://127.0.0.1:9330 --credentials ./slipway-data/credentials`,
}

// runDemo tells the story of the product end to end (see demoHelp).
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway demo", demoHelp, stdout, stderr)
	dir := fs.String("data-dir", "", "directory for the demo's server and files (default: a new temporary directory)")
	keep := fs.Bool("keep", false, "leave the demo's server running after the story, until interrupted")
	endpoint := fs.String("endpoint", "", "tell the story against the running server at this URL instead of a server of its own")
	creds := fs.String("credentials", "", "with --endpoint: the server's credentials file (default ~/.aws/credentials)")
	profile := fs.String("profile", "data-science", "with --endpoint: the profile of the organization's management (data-science) account")
	promotion := fs.String("promotion", "manual", "how the deploy pipeline promotes to production: manual (an operator approves) or automated (a passing staging test does)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *promotion != "manual" && *promotion != "automated" {
		return fmt.Errorf("%w: --promotion %q must be manual or automated", errUsage, *promotion)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "slipway-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	d := &demo{out: stdout, dir: *dir, keep: *keep, url: *endpoint, promotion: *promotion, profile: *profile, credPath: *creds}
	return d.run(ctx)
}

// demo is one telling of the story. It is a client: after starting its server (unless
// --endpoint) it reaches the server through the API only, as the people of the story.
type demo struct {
	out                      io.Writer
	dir, url, promotion      string
	profile, credPath        string
	keep                     bool
	started                  time.Time
	step                     int
	admin                    aws.Config // the data-science account's admin (the platform team)
	scientist, operator      aws.Config
	dsAccount                string
	staging, production      []account
	project, bucket, suffix  string
	buildPipe, deployPipe    string
	stagingOU, productionOU  string
	version, deployID        string
	seen                     map[string]string // deploy action → what was printed last
	before                   map[string]bool   // the deploy pipeline's executions before the approval
	approvedAt, stagingReady time.Time
	rows                     []summaryRow
}

type account struct{ name, id string }

type summaryRow struct {
	stage, account string
	took           time.Duration
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, "      "+format+"\n", args...) }

// live prints a line stamped with the time since the story began.
func (d *demo) live(format string, args ...any) {
	fmt.Fprintf(d.out, "  %5.1fs %s\n", time.Since(d.started).Seconds(), fmt.Sprintf(format, args...))
}

func (d *demo) next(title string) {
	d.step++
	fmt.Fprintf(d.out, "\n[%d] %s\n", d.step, title)
}

func (d *demo) record(stage, account string, took time.Duration) {
	d.rows = append(d.rows, summaryRow{stage, account, took})
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}

func (d *demo) config(c credentials.StaticCredentialsProvider) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(d.url), RetryMaxAttempts: 3, Credentials: c}
}

// demoOrg is the organization of the demo's own server.
const demoOrg = `management: {name: data-science}
units:
  - name: staging
    accounts: [{name: staging}, {name: staging-2}]
  - name: production
    accounts: [{name: production}]
`

func (d *demo) run(ctx context.Context) error {
	d.started = time.Now()
	var a *app.App
	var cfg config.Config
	stopServer := func() error { return nil }
	if d.url == "" {
		var err error
		cfg = config.Default()
		cfg.DataDir = filepath.Join(d.dir, "server")
		cfg.Listen = "127.0.0.1:0"
		cfg.OrgFile = filepath.Join(d.dir, "org.yaml")
		if err := os.MkdirAll(d.dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.OrgFile, []byte(demoOrg), 0o644); err != nil {
			return err
		}
		logf, err := os.Create(filepath.Join(d.dir, "server.log"))
		if err != nil {
			return err
		}
		defer logf.Close()
		a, err = app.New(ctx, cfg, slog.New(slog.NewTextHandler(logf, nil)), nil)
		if err != nil {
			return err
		}
		sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
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
		var once sync.Once
		var serveErr error
		stopServer = func() error {
			once.Do(func() { stop(); serveErr = <-served })
			return serveErr
		}
		defer stopServer()
		d.credPath = a.CredentialsPath()
	} else {
		d.suffix = "-" + randomHex(2)
	}
	if err := d.story(ctx); err != nil {
		return err
	}
	if a == nil {
		return nil
	}
	if d.keep {
		fmt.Fprintf(d.out, "\nThe server keeps running at %s (data in %s). Ctrl-C stops it.\n", d.url, cfg.DataDir)
		sig, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		<-sig.Done()
		stop()
	}
	if err := stopServer(); err != nil {
		return fmt.Errorf("the server did not stop cleanly: %w", err)
	}
	data, err := openOffline(ctx, cfg)
	if err != nil {
		return err
	}
	defer data.Close()
	n, problem, err := audit.Verify(ctx, data)
	if err != nil {
		return err
	}
	if problem != nil {
		return fmt.Errorf("audit chain broken: %s", problem)
	}
	fmt.Fprintf(d.out, "\nEvery call of the story is in the audit trail: %d records, chain intact (slipway audit verify --data-dir %s).\n", n, cfg.DataDir)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// story is the demo proper, told through the API.
func (d *demo) story(ctx context.Context) error {
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"The organization: a data-science account, a staging OU and a production OU", d.organization},
		{"The people: a data scientist (a user) and a deployment operator (a role)", d.people},
		{"A project from the built-in template multi-account-deployment", d.createProject},
		{"The data scientist runs the model-build pipeline on abalone", d.buildModel},
		{"The data scientist approves the version", d.approveVersion},
		{"The approval starts the deploy pipeline: build, staging in every staging account, test", d.deployStaging},
		{"Production needs an approval", d.promote},
		{"Production is deployed and answers", d.deployProduction},
	}
	for _, s := range steps {
		d.next(s.title)
		if err := s.run(ctx); err != nil {
			return err
		}
	}
	d.summary()
	return nil
}

func (d *demo) organization(ctx context.Context) error {
	path := d.credPath
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		path = filepath.Join(home, ".aws", "credentials")
	}
	profiles, err := credfile.ReadFile(path)
	if err != nil {
		return fmt.Errorf("the demo needs the server's credentials file: %w", err)
	}
	p, ok := profiles[d.profile]
	if !ok {
		return fmt.Errorf("the credentials file %s has no profile %q", path, d.profile)
	}
	d.admin = d.config(credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, p.SessionToken))
	who, err := sts.NewFromConfig(d.admin).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	d.dsAccount = aws.ToString(who.Account)
	d.say("API %s (SageMaker, S3, IAM, STS, Organizations, EventBridge, CloudFormation, CodePipeline, CodeBuild)", d.url)
	d.say("%-11s %s  (the management account; the platform team is its admin)", "data-science", d.dsAccount)
	orgs := organizations.NewFromConfig(d.admin)
	roots, err := orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return err
	}
	ous, err := orgs.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	if err != nil {
		return err
	}
	ouIDs := map[string]string{}
	for _, ou := range ous.OrganizationalUnits {
		name := aws.ToString(ou.Name)
		if name != "staging" && name != "production" {
			continue
		}
		ouIDs[name] = aws.ToString(ou.Id)
		accts, err := orgs.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: ou.Id})
		if err != nil {
			return err
		}
		for _, ac := range accts.Accounts {
			x := account{aws.ToString(ac.Name), aws.ToString(ac.Id)}
			if name == "staging" {
				d.staging = append(d.staging, x)
			} else {
				d.production = append(d.production, x)
			}
			d.say("%-11s %s  (OU %s %s)", x.name, x.id, name, aws.ToString(ou.Id))
		}
	}
	if len(d.staging) == 0 || len(d.production) == 0 {
		return fmt.Errorf("the organization needs an OU named staging and one named production, each with an account")
	}
	d.project = "abalone" + d.suffix
	d.stagingOU, d.productionOU = ouIDs["staging"], ouIDs["production"]
	return nil
}

// people makes the data scientist (a user who may build, register and approve models, and
// watch deployments, but not approve one) and the deployment operator (a role the platform
// team assumes, which may approve deployments).
func (d *demo) people(ctx context.Context) error {
	im := iam.NewFromConfig(d.admin)
	user := "data-scientist" + d.suffix
	if _, err := im.CreateUser(ctx, &iam.CreateUserInput{UserName: &user}); err != nil {
		return err
	}
	scientistPolicy := `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["sagemaker:*","s3:*","codepipeline:Get*","codepipeline:List*","logs:Get*","logs:Describe*"],"Resource":"*"},
 {"Effect":"Deny","Action":"codepipeline:PutApprovalResult","Resource":"*"}]}`
	if _, err := im.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: aws.String("data-scientist"), PolicyDocument: &scientistPolicy}); err != nil {
		return err
	}
	key, err := im.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &user})
	if err != nil {
		return err
	}
	d.scientist = d.config(credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""))
	d.say("user %s: may build, register and approve models; an explicit Deny on codepipeline:PutApprovalResult", user)

	role := "deployment-operator" + d.suffix
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, d.dsAccount)
	if _, err := im.CreateRole(ctx, &iam.CreateRoleInput{RoleName: &role, AssumeRolePolicyDocument: &trust}); err != nil {
		return err
	}
	operatorPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codepipeline:PutApprovalResult","codepipeline:Get*","codepipeline:List*"],"Resource":"*"}]}`
	if _, err := im.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &role, PolicyName: aws.String("approve-deployments"), PolicyDocument: &operatorPolicy}); err != nil {
		return err
	}
	roleARN := fmt.Sprintf("arn:aws:iam::%s:role/%s", d.dsAccount, role)
	sess, err := sts.NewFromConfig(d.admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: aws.String("operator")})
	if err != nil {
		return err
	}
	c := sess.Credentials
	d.operator = d.config(credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	d.say("role %s: may approve deployments (codepipeline:PutApprovalResult); the platform team assumes it", role)
	return nil
}

func (d *demo) createProject(ctx context.Context) error {
	t0 := time.Now()
	sm := sagemaker.NewFromConfig(d.admin)
	params := []smtypes.ProvisioningParameter{
		{Key: aws.String("StagingOrganizationalUnitIds"), Value: aws.String(d.stagingOU)},
		{Key: aws.String("ProductionOrganizationalUnitIds"), Value: aws.String(d.productionOU)},
		{Key: aws.String("PromotionMode"), Value: aws.String(d.promotion)},
	}
	out, err := sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: &d.project,
		ProjectDescription:                aws.String("Abalone age from physical measurements, deployed to staging and production"),
		ServiceCatalogProvisioningDetails: &smtypes.ServiceCatalogProvisioningDetails{ProductId: aws.String("multi-account-deployment"), ProvisioningParameters: params}})
	if err != nil {
		return err
	}
	d.say("create-project %s (template multi-account-deployment, promotion %s) → %s", d.project, d.promotion, aws.ToString(out.ProjectArn))
	var last smtypes.ProjectStatus
	for {
		p, err := sm.DescribeProject(ctx, &sagemaker.DescribeProjectInput{ProjectName: &d.project})
		if err != nil {
			return err
		}
		if p.ProjectStatus != last {
			d.live("project %s", p.ProjectStatus)
			last = p.ProjectStatus
		}
		if p.ProjectStatus == smtypes.ProjectStatusCreateCompleted {
			break
		}
		if p.ProjectStatus == smtypes.ProjectStatusCreateFailed {
			return fmt.Errorf("the project was not created: %s", describeProjectFailure(p))
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	d.bucket = "sagemaker-project-" + aws.ToString(out.ProjectId)
	d.buildPipe = d.project + "-model-build"
	d.deployPipe = "sagemaker-" + d.project + "-deploy"
	d.say("made: model package group %s (shared with both OUs), bucket %s,", d.project, d.bucket)
	d.say("      model-build pipeline %s, deploy pipeline %s,", d.buildPipe, d.deployPipe)
	d.say("      a rule starting the deploy pipeline when a version becomes Approved, and their roles")
	d.record("project", "data-science", time.Since(t0))
	return nil
}

func describeProjectFailure(p *sagemaker.DescribeProjectOutput) string {
	if p.ServiceCatalogProvisionedProductDetails != nil {
		return aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage)
	}
	return string(p.ProjectStatus)
}

func (d *demo) buildModel(ctx context.Context) error {
	t0 := time.Now()
	s3c := s3.NewFromConfig(d.scientist, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &d.bucket, Key: aws.String("data/abalone.csv"), Body: bytes.NewReader(sample.Abalone())}); err != nil {
		return err
	}
	d.say("uploaded abalone.csv to s3://%s/data/abalone.csv", d.bucket)
	sm := sagemaker.NewFromConfig(d.scientist)
	out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: &d.buildPipe,
		PipelineExecutionDisplayName: aws.String("demo"), ClientRequestToken: aws.String("demo-" + randomHex(16))})
	if err != nil {
		return err
	}
	arn := aws.ToString(out.PipelineExecutionArn)
	seen := map[string]smtypes.StepStatus{}
	for {
		x, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: &arn})
		if err != nil {
			return err
		}
		steps, err := sm.ListPipelineExecutionSteps(ctx, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: &arn, SortOrder: smtypes.SortOrderAscending})
		if err != nil {
			return err
		}
		for _, s := range steps.PipelineExecutionSteps {
			name := aws.ToString(s.StepName)
			if seen[name] == s.StepStatus {
				continue
			}
			seen[name] = s.StepStatus
			took := ""
			if s.StartTime != nil && s.EndTime != nil {
				took = fmt.Sprintf(" in %.1fs", s.EndTime.Sub(*s.StartTime).Seconds())
			}
			why := ""
			if s.FailureReason != nil {
				why = ": " + aws.ToString(s.FailureReason)
			}
			d.live("step %-28s %s%s%s", name, s.StepStatus, took, why)
		}
		switch x.PipelineExecutionStatus {
		case smtypes.PipelineExecutionStatusSucceeded:
			d.record("model build", "data-science", time.Since(t0))
			return d.showVersion(ctx)
		case smtypes.PipelineExecutionStatusFailed, smtypes.PipelineExecutionStatusStopped:
			return fmt.Errorf("the model-build pipeline %s: %s", x.PipelineExecutionStatus, aws.ToString(x.FailureReason))
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// showVersion prints the registered version and its metrics (from ModelMetrics, as registered).
func (d *demo) showVersion(ctx context.Context) error {
	sm := sagemaker.NewFromConfig(d.scientist)
	list, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: &d.project,
		SortBy: smtypes.ModelPackageSortByCreationTime, SortOrder: smtypes.SortOrderDescending})
	if err != nil {
		return err
	}
	if len(list.ModelPackageSummaryList) == 0 {
		return fmt.Errorf("the pipeline registered no version in group %s", d.project)
	}
	v := list.ModelPackageSummaryList[0]
	d.say("registered %s  (%s)", aws.ToString(v.ModelPackageArn), v.ModelApprovalStatus)
	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: v.ModelPackageArn})
	if err != nil {
		return err
	}
	if mm := pkg.ModelMetrics; mm != nil && mm.ModelQuality != nil && mm.ModelQuality.Statistics != nil {
		if mse, err := d.metric(ctx, aws.ToString(mm.ModelQuality.Statistics.S3Uri), "mse"); err == nil {
			d.say("its evaluation: mse %.3f on the test split (the condition step required ≤ 6.0)", mse)
		}
	}
	d.version = aws.ToString(v.ModelPackageArn)
	return nil
}

// metric reads regression_metrics.NAME.value of an evaluation report in S3.
func (d *demo) metric(ctx context.Context, uri, name string) (float64, error) {
	bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if !ok {
		return 0, fmt.Errorf("%s is not an S3 URI", uri)
	}
	obj, err := s3.NewFromConfig(d.scientist, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	defer obj.Body.Close()
	var report struct {
		Regression map[string]struct {
			Value float64 `json:"value"`
		} `json:"regression_metrics"`
	}
	if err := json.NewDecoder(obj.Body).Decode(&report); err != nil {
		return 0, err
	}
	return report.Regression[name].Value, nil
}

func (d *demo) approveVersion(ctx context.Context) error {
	// The executions the deploy pipeline had before (CodePipeline starts one when a pipeline
	// is created): the approval's is the one that is new.
	d.before = map[string]bool{}
	list, err := codepipeline.NewFromConfig(d.scientist).ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: &d.deployPipe})
	if err != nil {
		return err
	}
	for _, x := range list.PipelineExecutionSummaries {
		d.before[aws.ToString(x.PipelineExecutionId)] = true
	}
	sm := sagemaker.NewFromConfig(d.scientist)
	if _, err := sm.UpdateModelPackage(ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: &d.version,
		ModelApprovalStatus: smtypes.ModelApprovalStatusApproved, ApprovalDescription: aws.String("mse under the threshold; ready for staging")}); err != nil {
		return err
	}
	d.approvedAt = time.Now()
	d.live("%s → Approved (by the data scientist)", d.version)
	d.say("the registry wrote a \"SageMaker Model Package State Change\" event in the same transaction;")
	d.say("the project's rule matches only ModelApprovalStatus Approved and starts the deploy pipeline")
	return nil
}

// execution waits for the deploy pipeline's execution the approval started.
func (d *demo) execution(ctx context.Context) (string, error) {
	cp := codepipeline.NewFromConfig(d.scientist)
	for {
		out, err := cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: &d.deployPipe})
		if err != nil {
			return "", err
		}
		for _, x := range out.PipelineExecutionSummaries {
			if !d.before[aws.ToString(x.PipelineExecutionId)] {
				d.live("deploy pipeline %s: execution %s started by the rule", d.deployPipe, aws.ToString(x.PipelineExecutionId))
				return aws.ToString(x.PipelineExecutionId), nil
			}
		}
		if time.Since(d.approvedAt) > time.Minute {
			return "", fmt.Errorf("no execution of %s started within a minute of the approval", d.deployPipe)
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// watch prints the deploy pipeline's actions as they change until until says stop; it fails
// when the execution fails.
func (d *demo) watch(ctx context.Context, id string, seen map[string]string, until func(*codepipeline.GetPipelineStateOutput) bool) (*codepipeline.GetPipelineStateOutput, error) {
	cp := codepipeline.NewFromConfig(d.scientist)
	for {
		st, err := cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: &d.deployPipe})
		if err != nil {
			return nil, err
		}
		for _, s := range st.StageStates {
			for _, a := range s.ActionStates {
				x := a.LatestExecution
				if x == nil || s.LatestExecution == nil || aws.ToString(s.LatestExecution.PipelineExecutionId) != id {
					continue
				}
				key := aws.ToString(s.StageName) + "/" + aws.ToString(a.ActionName)
				line := string(x.Status)
				if x.Summary != nil {
					line += ": " + aws.ToString(x.Summary)
				}
				if x.ErrorDetails != nil {
					line += ": " + aws.ToString(x.ErrorDetails.Message)
				}
				if seen[key] == line {
					continue
				}
				seen[key] = line
				d.live("%-40s %s", key, line)
			}
		}
		x, err := cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: &d.deployPipe, PipelineExecutionId: &id})
		if err != nil {
			return nil, err
		}
		switch x.PipelineExecution.Status {
		case cptypes.PipelineExecutionStatusFailed, cptypes.PipelineExecutionStatusStopped, cptypes.PipelineExecutionStatusSuperseded:
			return nil, fmt.Errorf("the deploy pipeline's execution %s: %s", x.PipelineExecution.Status, aws.ToString(statusSummary(x.PipelineExecution)))
		}
		if until(st) || x.PipelineExecution.Status == cptypes.PipelineExecutionStatusSucceeded {
			return st, nil
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

func statusSummary(x *cptypes.PipelineExecution) *string {
	if x.StatusSummary != nil {
		return x.StatusSummary
	}
	return aws.String("(no summary)")
}

// actionState finds an action of the pipeline's state.
func actionState(st *codepipeline.GetPipelineStateOutput, stage, action string) *cptypes.ActionExecution {
	for _, s := range st.StageStates {
		if aws.ToString(s.StageName) != stage {
			continue
		}
		for _, a := range s.ActionStates {
			if aws.ToString(a.ActionName) == action {
				return a.LatestExecution
			}
		}
	}
	return nil
}

// memberConfig is a session of the organization's access role in a member account, as the
// management account's admin may assume it.
func (d *demo) memberConfig(ctx context.Context, acct string) (aws.Config, error) {
	roleARN := fmt.Sprintf("arn:aws:iam::%s:role/OrganizationAccountAccessRole", acct)
	out, err := sts.NewFromConfig(d.admin).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: aws.String("demo")})
	if err != nil {
		return aws.Config{}, err
	}
	c := out.Credentials
	return d.config(credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))), nil
}

// waitEndpoints waits until the stage's endpoint is InService in every account, recording
// each account's time since the approval.
func (d *demo) waitEndpoints(ctx context.Context, stage string, accts []account, since time.Time) error {
	name := d.project + "-" + stage
	var wg sync.WaitGroup
	errc := make(chan error, len(accts))
	var mu sync.Mutex
	for _, ac := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg, err := d.memberConfig(ctx, ac.id)
			if err != nil {
				errc <- err
				return
			}
			sm := sagemaker.NewFromConfig(cfg)
			for {
				ep, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: &name})
				if err == nil && ep.EndpointStatus == smtypes.EndpointStatusInService {
					took := time.Since(since)
					mu.Lock()
					d.live("endpoint %s InService in %s (%s)", name, ac.name, ac.id)
					d.record("deploy "+stage, ac.name, took)
					mu.Unlock()
					return
				}
				if err == nil && ep.EndpointStatus == smtypes.EndpointStatusFailed {
					errc <- fmt.Errorf("endpoint %s failed in %s: %s", name, ac.name, aws.ToString(ep.FailureReason))
					return
				}
				if err != nil && errorCode(err) != "ValidationException" {
					errc <- err
					return
				}
				if time.Since(since) > 5*time.Minute {
					errc <- fmt.Errorf("endpoint %s is not InService in %s after 5 minutes", name, ac.name)
					return
				}
				if err := pause(ctx, 25*time.Millisecond); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func (d *demo) deployStaging(ctx context.Context) error {
	id, err := d.execution(ctx)
	if err != nil {
		return err
	}
	d.deployID = id
	d.seen = map[string]string{}
	ready := make(chan error, 1)
	go func() { ready <- d.waitEndpoints(ctx, "staging", d.staging, d.approvedAt) }()
	// Until the test has passed (and, when promotion is manual, the approval waits).
	st, err := d.watch(ctx, id, d.seen, func(st *codepipeline.GetPipelineStateOutput) bool {
		t := actionState(st, "TestStaging", "TestStagingEndpoints")
		return t != nil && t.Status == cptypes.ActionExecutionStatusSucceeded
	})
	if err != nil {
		return err
	}
	if err := <-ready; err != nil {
		return err
	}
	d.stagingReady = time.Now()
	d.say("approval → the endpoint InService in all %d staging accounts: %.2fs", len(d.staging), d.stagingReady.Sub(d.approvedAt).Seconds())
	if t := actionState(st, "TestStaging", "TestStagingEndpoints"); t != nil {
		d.say("staging test: %s", aws.ToString(t.Summary))
	}
	return nil
}

func (d *demo) promote(ctx context.Context) error {
	if d.promotion == "automated" {
		st, err := d.watch(ctx, d.deployID, d.seen, func(st *codepipeline.GetPipelineStateOutput) bool {
			a := actionState(st, "ApproveDeployment", "ApproveDeployment")
			return a != nil && a.Status == cptypes.ActionExecutionStatusSucceeded
		})
		if err != nil {
			return err
		}
		a := actionState(st, "ApproveDeployment", "ApproveDeployment")
		d.say("promotion is automated: the passing staging test approved (%s)", aws.ToString(a.Summary))
		return nil
	}
	st, err := d.watch(ctx, d.deployID, d.seen, func(st *codepipeline.GetPipelineStateOutput) bool {
		a := actionState(st, "ApproveDeployment", "ApproveDeployment")
		return a != nil && a.Status == cptypes.ActionExecutionStatusInProgress && a.Token != nil
	})
	if err != nil {
		return err
	}
	waiting := time.Now()
	token := actionState(st, "ApproveDeployment", "ApproveDeployment").Token
	put := func(cfg aws.Config, summary string) error {
		_, err := codepipeline.NewFromConfig(cfg).PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{PipelineName: &d.deployPipe,
			StageName: aws.String("ApproveDeployment"), ActionName: aws.String("ApproveDeployment"), Token: token,
			Result: &cptypes.ApprovalResult{Status: cptypes.ApprovalStatusApproved, Summary: &summary}})
		return err
	}
	err = put(d.scientist, "looks good to me")
	if errorCode(err) != "AccessDeniedException" {
		return fmt.Errorf("the data scientist's approval was not refused: %v", err)
	}
	d.live("the data scientist approves production → AccessDenied: %s", errorMessage(err))
	if err := put(d.operator, "staging endpoints pass the test; promote"); err != nil {
		return err
	}
	d.live("the deployment operator approves production: \"staging endpoints pass the test; promote\"")
	d.record("approval", "data-science", time.Since(waiting))
	return nil
}

func (d *demo) deployProduction(ctx context.Context) error {
	t0 := time.Now()
	ready := make(chan error, 1)
	go func() { ready <- d.waitEndpoints(ctx, "prod", d.production, t0) }()
	if _, err := d.watch(ctx, d.deployID, d.seen, func(*codepipeline.GetPipelineStateOutput) bool { return false }); err != nil {
		return err
	}
	if err := <-ready; err != nil {
		return err
	}
	d.live("deploy pipeline execution %s Succeeded", d.deployID)
	// A held-out row of the pipeline's test split, as the endpoint expects it (features only).
	row, label, err := d.heldOutRow(ctx)
	if err != nil {
		return err
	}
	cfg, err := d.memberConfig(ctx, d.production[0].id)
	if err != nil {
		return err
	}
	name := d.project + "-prod"
	out, err := sagemakerruntime.NewFromConfig(cfg).InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: &name,
		ContentType: aws.String("text/csv"), Accept: aws.String("text/csv"), Body: []byte(row)})
	if err != nil {
		return err
	}
	d.say("invoke-endpoint %s in %s (%s)", name, d.production[0].name, d.production[0].id)
	d.say("  row (scaled features of a held-out abalone): %s", shorten(row, 60))
	d.say("  prediction: %s rings (the abalone had %s)", strings.TrimSpace(string(out.Body)), label)
	return nil
}

// heldOutRow is the first row of the test split the model-build pipeline wrote: its features
// and its label.
func (d *demo) heldOutRow(ctx context.Context) (string, string, error) {
	s3c := s3.NewFromConfig(d.scientist, func(o *s3.Options) { o.UsePathStyle = true })
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: aws.String("model-build/")})
	if err != nil {
		return "", "", err
	}
	var keys []string
	for _, o := range list.Contents {
		if strings.HasSuffix(aws.ToString(o.Key), "test.csv") {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if len(keys) == 0 {
		return "", "", fmt.Errorf("no test split under s3://%s/model-build/", d.bucket)
	}
	sort.Strings(keys)
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &d.bucket, Key: &keys[0]})
	if err != nil {
		return "", "", err
	}
	defer obj.Body.Close()
	line, err := bufio.NewReader(obj.Body).ReadString('\n')
	if err != nil && line == "" {
		return "", "", err
	}
	label, features, _ := strings.Cut(strings.TrimSpace(line), ",")
	return features, label, nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (d *demo) summary() {
	fmt.Fprintf(d.out, "\nSummary\n")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  stage\taccount\tduration")
	for _, r := range d.rows {
		fmt.Fprintf(tw, "  %s\t%s\t%.2fs\n", r.stage, r.account, r.took.Seconds())
	}
	tw.Flush()
	fmt.Fprintf(d.out, "\nApproval → every staging endpoint InService: %.2fs. The story took %.1fs.\n",
		d.stagingReady.Sub(d.approvedAt).Seconds(), time.Since(d.started).Seconds())
	creds := d.credPath
	fmt.Fprintf(d.out, "\nExplore what it built:\n")
	fmt.Fprintf(d.out, "  export AWS_SHARED_CREDENTIALS_FILE=%s SLIPWAY_ENDPOINT=%s\n", creds, d.url)
	fmt.Fprintf(d.out, "  slipway models list %s\n", d.project)
	fmt.Fprintf(d.out, "  slipway models lineage %s/1\n", d.project)
	fmt.Fprintf(d.out, "  slipway pipelines watch %s\n", d.buildPipe)
	fmt.Fprintf(d.out, "  slipway deployments watch %s\n", d.deployPipe)
	fmt.Fprintf(d.out, "  aws --endpoint-url %s --profile %s sagemaker describe-endpoint --endpoint-name %s-staging\n", d.url, d.staging[0].name, d.project)
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
