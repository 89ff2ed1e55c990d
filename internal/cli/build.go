package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// slipway build: the steps of a deploy pipeline's Build and Test actions (the built-in
// multi-account-deployment template's buildspecs), so they run without Python. They use the
// SDK's default chain: the build's role credentials, AWS_REGION and AWS_ENDPOINT_URL.

var buildHelp = map[string]helpText{
	"deploy-config": {
		usage: "slipway build deploy-config --model-package-group GROUP [flags]",
		desc: `Writes each stage's stack-set parameters for one version of GROUP: the version the
--model-package-file names (the model-package.json a SlipwayModelPackage source action wrote:
the version whose approval started the deploy pipeline), else the newest Approved version.
It writes OUT/staging-params.json and OUT/prod-params.json ([{"ParameterKey","ParameterValue"}],
what a CloudFormationStackSet action's Parameters file holds) from the stage configurations
({"Parameters": {...}}) plus SageMakerProjectName, ModelPackageName (the version's ARN),
ArtifactBucket and DataScienceAccountId; and OUT/deploy-info.json (the version, and the held-out
rows its pipeline wrote: the evaluation report's sibling prepared/test.csv). Fails when the
version named is not of GROUP or no longer Approved, or when the group has no Approved version.`,
		example: `slipway build deploy-config --model-package-group abalone --project-name abalone \
    --model-package-file "$CODEBUILD_SRC_DIR_ModelPackage/model-package.json" \
    --staging-config staging-config.json --prod-config prod-config.json --out-dir out`,
	},
	"check-approved": {
		usage: "slipway build check-approved [--info deploy-info.json]",
		desc: `Fails unless the version deploy-config chose (deploy-info.json's ModelPackageArn) is still
Approved. The built-in template runs it first in the production stage: a version rejected while
its deployment waited for the production approval is then not deployed to production, whoever
approves the deployment. It reads the version as the build's role (sagemaker:DescribeModelPackage).`,
		example: `slipway build check-approved --info deploy-info.json`,
	},
	"test-endpoints": {
		usage: "slipway build test-endpoints --stack-set NAME --role-name ROLE --endpoint-name NAME [flags]",
		desc: `Tests every endpoint a stack set deployed: for each account with an instance of the stack
set, it assumes ROLE there, requires the endpoint to be InService, invokes it with the held-out
rows (label first, text/csv) and computes the mean squared error. It writes the results as JSON
and fails when an endpoint is not InService or its error is above --max-mse.`,
		example: `slipway build test-endpoints --stack-set sagemaker-abalone-staging --role-name sagemaker-abalone-endpoint-test \
    --endpoint-name abalone-staging --info deploy-info.json --max-mse 6 --out test-results.json`,
	},
}

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, rest, err := subcommand("build", args, buildHelp, []string{"deploy-config", "check-approved", "test-endpoints"})
	if err != nil {
		return err
	}
	fs := newCommand("build "+sub, buildHelp[sub], stdout, stderr)
	endpoint := fs.String("endpoint", os.Getenv("AWS_ENDPOINT_URL"), "the server's API URL (default $AWS_ENDPOINT_URL)")
	switch sub {
	case "deploy-config":
		group := fs.String("model-package-group", os.Getenv("MODEL_PACKAGE_GROUP_NAME"), "the model package group (default $MODEL_PACKAGE_GROUP_NAME)")
		project := fs.String("project-name", os.Getenv("SAGEMAKER_PROJECT_NAME"), "the project (default $SAGEMAKER_PROJECT_NAME)")
		bucket := fs.String("artifact-bucket", os.Getenv("ARTIFACT_BUCKET"), "the project's artifact bucket (default $ARTIFACT_BUCKET)")
		staging := fs.String("staging-config", "staging-config.json", "the staging configuration")
		prod := fs.String("prod-config", "prod-config.json", "the production configuration")
		out := fs.String("out-dir", "out", "where to write the files")
		pkgFile := fs.String("model-package-file", os.Getenv("MODEL_PACKAGE_FILE"), "the source action's model-package.json naming the version to deploy (default $MODEL_PACKAGE_FILE; none: the newest Approved)")
		if _, err := parseInterleaved(fs, rest); err != nil {
			return err
		}
		if *group == "" {
			return fmt.Errorf("%w: --model-package-group is required", errUsage)
		}
		cfg, err := buildConfig(ctx, *endpoint)
		if err != nil {
			return err
		}
		return deployConfig(ctx, cfg, stdout, deployConfigInput{Group: *group, Project: firstSet(*project, *group), Bucket: *bucket,
			Configs: map[string]string{"staging": *staging, "prod": *prod}, OutDir: *out, PackageFile: *pkgFile})
	case "check-approved":
		info := fs.String("info", "deploy-info.json", "deploy-config's deploy-info.json (the version deployed)")
		if _, err := parseInterleaved(fs, rest); err != nil {
			return err
		}
		var di deployInfo
		b, err := os.ReadFile(*info)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &di); err != nil || di.ModelPackageArn == "" {
			return fmt.Errorf("%s names no version (ModelPackageArn): %v", *info, err)
		}
		cfg, err := buildConfig(ctx, *endpoint)
		if err != nil {
			return err
		}
		return checkApproved(ctx, cfg, stdout, di.ModelPackageArn)
	case "test-endpoints":
		set := fs.String("stack-set", os.Getenv("STACK_SET_NAME"), "the stack set whose accounts to test (default $STACK_SET_NAME)")
		role := fs.String("role-name", os.Getenv("TEST_ROLE_NAME"), "the role to assume in each account (default $TEST_ROLE_NAME)")
		name := fs.String("endpoint-name", os.Getenv("ENDPOINT_NAME"), "the endpoint's name in each account (default $ENDPOINT_NAME)")
		info := fs.String("info", "deploy-info.json", "deploy-config's deploy-info.json (the held-out rows' location)")
		data := fs.String("data", "", "the held-out rows (s3://…, label first, no header) instead of the info's")
		maxMSE := fs.Float64("max-mse", 6, "the largest mean squared error accepted")
		rows := fs.Int("rows", 200, "at most this many rows per endpoint")
		out := fs.String("out", "test-results.json", "where to write the results")
		if _, err := parseInterleaved(fs, rest); err != nil {
			return err
		}
		if *set == "" || *role == "" || *name == "" {
			return fmt.Errorf("%w: --stack-set, --role-name and --endpoint-name are required", errUsage)
		}
		cfg, err := buildConfig(ctx, *endpoint)
		if err != nil {
			return err
		}
		uri := *data
		if uri == "" {
			var di deployInfo
			b, err := os.ReadFile(*info)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &di); err != nil || di.TestDataUri == "" {
				return fmt.Errorf("%s names no held-out rows (TestDataUri): %v", *info, err)
			}
			uri = di.TestDataUri
		}
		return testEndpoints(ctx, cfg, stdout, *set, *role, *name, uri, *maxMSE, *rows, *out)
	}
	return nil
}

func buildConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, err
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

type deployConfigInput struct {
	Group, Project, Bucket string
	Configs                map[string]string // stage → file
	OutDir                 string
	// PackageFile is a SlipwayModelPackage source artifact naming the version to deploy.
	PackageFile string
}

type deployInfo struct {
	ModelPackageGroupName string
	ModelPackageArn       string
	ModelPackageVersion   int32
	TestDataUri           string `json:",omitempty"`
}

type stackSetParameter struct{ ParameterKey, ParameterValue string }

// stageParameters merges a stage configuration with the deployment's own parameters, sorted.
func stageParameters(config []byte, own map[string]string) ([]stackSetParameter, error) {
	var c struct{ Parameters map[string]any }
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("not a stage configuration ({\"Parameters\": {...}}): %v", err)
	}
	m := map[string]string{}
	for k, v := range c.Parameters {
		switch x := v.(type) {
		case string:
			m[k] = x
		case float64:
			m[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			m[k] = strconv.FormatBool(x)
		default:
			return nil, fmt.Errorf("parameter %s: want a string, number or boolean", k)
		}
	}
	for k, v := range own {
		m[k] = v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]stackSetParameter, 0, len(keys))
	for _, k := range keys {
		out = append(out, stackSetParameter{k, m[k]})
	}
	return out, nil
}

// testDataOf derives the held-out rows from a version's evaluation report location
// (…/evaluation/evaluation.json → …/prepared/test.csv, the abalone pipeline's layout).
func testDataOf(pkg *sagemaker.DescribeModelPackageOutput) string {
	if pkg.ModelMetrics == nil || pkg.ModelMetrics.ModelQuality == nil || pkg.ModelMetrics.ModelQuality.Statistics == nil {
		return ""
	}
	u := aws.ToString(pkg.ModelMetrics.ModelQuality.Statistics.S3Uri)
	base, ok := strings.CutSuffix(u, "/evaluation/evaluation.json")
	if !ok {
		return ""
	}
	return base + "/prepared/test.csv"
}

// sourcePackage reads the version a SlipwayModelPackage source artifact names.
func sourcePackage(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var src struct{ ModelPackageArn string }
	if err := json.Unmarshal(b, &src); err != nil || src.ModelPackageArn == "" {
		return "", fmt.Errorf("%s names no ModelPackageArn: %v", file, err)
	}
	return src.ModelPackageArn, nil
}

func deployConfig(ctx context.Context, cfg aws.Config, w io.Writer, in deployConfigInput) error {
	sm := sagemaker.NewFromConfig(cfg)
	var arn string
	if in.PackageFile != "" {
		a, err := sourcePackage(in.PackageFile)
		if err != nil {
			return err
		}
		arn = a
	} else {
		list, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(in.Group),
			ModelApprovalStatus: smtypes.ModelApprovalStatusApproved, SortBy: smtypes.ModelPackageSortByCreationTime,
			SortOrder: smtypes.SortOrderDescending, MaxResults: aws.Int32(1)})
		if err != nil {
			return err
		}
		if len(list.ModelPackageSummaryList) == 0 {
			return fmt.Errorf("model package group %s has no Approved version", in.Group)
		}
		arn = aws.ToString(list.ModelPackageSummaryList[0].ModelPackageArn)
	}
	pkg, err := sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
	if err != nil {
		return err
	}
	if g := aws.ToString(pkg.ModelPackageGroupName); g != in.Group {
		return fmt.Errorf("%s is a version of group %s, not %s", arn, g, in.Group)
	}
	if pkg.ModelApprovalStatus != smtypes.ModelApprovalStatusApproved {
		return fmt.Errorf("%s is %s, not Approved: it is not deployed", arn, pkg.ModelApprovalStatus)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	own := map[string]string{"SageMakerProjectName": in.Project, "ModelPackageName": arn, "DataScienceAccountId": aws.ToString(id.Account)}
	if in.Bucket != "" {
		own["ArtifactBucket"] = in.Bucket
	}
	if err := os.MkdirAll(in.OutDir, 0o755); err != nil {
		return err
	}
	stages := make([]string, 0, len(in.Configs))
	for s := range in.Configs {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	for _, stage := range stages {
		b, err := os.ReadFile(in.Configs[stage])
		if err != nil {
			return err
		}
		ps, err := stageParameters(b, own)
		if err != nil {
			return fmt.Errorf("%s: %w", in.Configs[stage], err)
		}
		if err := writeJSONFile(filepath.Join(in.OutDir, stage+"-params.json"), ps); err != nil {
			return err
		}
	}
	info := deployInfo{ModelPackageGroupName: in.Group, ModelPackageArn: arn, ModelPackageVersion: aws.ToInt32(pkg.ModelPackageVersion), TestDataUri: testDataOf(pkg)}
	if err := writeJSONFile(filepath.Join(in.OutDir, "deploy-info.json"), info); err != nil {
		return err
	}
	fmt.Fprintf(w, "deploying %s version %d (%s) to %s\n", in.Group, info.ModelPackageVersion, arn, strings.Join(stages, ", "))
	return nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// heldOut reads label-first CSV rows: the labels, and the feature rows as CSV text.
func heldOut(r io.Reader, limit int) (labels []float64, features string, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var b strings.Builder
	for len(labels) < limit {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		if len(rec) < 2 {
			return nil, "", fmt.Errorf("row %d has no features (want the label first, then the features)", len(labels)+1)
		}
		y, err := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
		if err != nil {
			return nil, "", fmt.Errorf("row %d: the label %q is not a number", len(labels)+1, rec[0])
		}
		labels = append(labels, y)
		b.WriteString(strings.Join(rec[1:], ","))
		b.WriteByte('\n')
	}
	if len(labels) == 0 {
		return nil, "", fmt.Errorf("no held-out rows")
	}
	return labels, b.String(), nil
}

// mse compares predictions (one per line or comma-separated, as text/csv answers) with labels.
func mse(labels []float64, predictions string) (float64, error) {
	fields := strings.FieldsFunc(predictions, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' })
	if len(fields) != len(labels) {
		return 0, fmt.Errorf("%d predictions for %d rows", len(fields), len(labels))
	}
	sum := 0.0
	for i, f := range fields {
		p, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(p) {
			return 0, fmt.Errorf("prediction %d (%q) is not a number", i+1, f)
		}
		sum += (p - labels[i]) * (p - labels[i])
	}
	return sum / float64(len(labels)), nil
}

type endpointResult struct {
	Account, Endpoint, Status string
	MSE                       float64 `json:",omitempty"`
	Rows                      int     `json:",omitempty"`
	Passed                    bool
	Error                     string `json:",omitempty"`
}

func testEndpoints(ctx context.Context, cfg aws.Config, w io.Writer, set, role, endpoint, uri string, maxMSE float64, limit int, out string) error {
	bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if !strings.HasPrefix(uri, "s3://") || !ok {
		return fmt.Errorf("%q is not s3://bucket/key", uri)
	}
	obj, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("cannot read the held-out rows: %w", err)
	}
	labels, features, err := heldOut(obj.Body, limit)
	obj.Body.Close()
	if err != nil {
		return err
	}
	var accounts []string
	pg := cloudformation.NewListStackInstancesPaginator(cloudformation.NewFromConfig(cfg), &cloudformation.ListStackInstancesInput{StackSetName: aws.String(set)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, in := range page.Summaries {
			if in.Status != cfntypes.StackInstanceStatusInoperable {
				accounts = append(accounts, aws.ToString(in.Account))
			}
		}
	}
	if len(accounts) == 0 {
		return fmt.Errorf("stack set %s has no instances to test", set)
	}
	sort.Strings(accounts)
	var results []endpointResult
	failed := 0
	stsc := sts.NewFromConfig(cfg)
	for _, acct := range accounts {
		r := endpointResult{Account: acct, Endpoint: endpoint}
		func() {
			ac := cfg.Copy()
			ac.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsc, "arn:aws:iam::"+acct+":role/"+role))
			d, err := sagemaker.NewFromConfig(ac).DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(endpoint)})
			if err != nil {
				r.Error = err.Error()
				return
			}
			r.Status = string(d.EndpointStatus)
			if d.EndpointStatus != smtypes.EndpointStatusInService {
				r.Error = "the endpoint is not InService"
				return
			}
			inv, err := sagemakerruntime.NewFromConfig(ac).InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint),
				ContentType: aws.String("text/csv"), Body: []byte(features)})
			if err != nil {
				r.Error = err.Error()
				return
			}
			if r.MSE, err = mse(labels, string(bytes.TrimSpace(inv.Body))); err != nil {
				r.Error = err.Error()
				return
			}
			r.Rows = len(labels)
			r.Passed = r.MSE <= maxMSE
			if !r.Passed {
				r.Error = fmt.Sprintf("mse %.4g is above %g", r.MSE, maxMSE)
			}
		}()
		if !r.Passed {
			failed++
		}
		fmt.Fprintf(w, "%s  %s  %s  mse %.4g  %s\n", acct, endpoint, r.Status, r.MSE, map[bool]string{true: "passed", false: "FAILED: " + r.Error}[r.Passed])
		results = append(results, r)
	}
	if err := writeJSONFile(out, map[string]any{"StackSetName": set, "MaxMSE": maxMSE, "Results": results, "Passed": failed == 0}); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d endpoints failed the staging test", failed, len(accounts))
	}
	return nil
}

// checkApproved fails unless version is Approved now.
func checkApproved(ctx context.Context, cfg aws.Config, w io.Writer, version string) error {
	pkg, err := sagemaker.NewFromConfig(cfg).DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: &version})
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", version, err)
	}
	if st := pkg.ModelApprovalStatus; st != smtypes.ModelApprovalStatusApproved {
		why := ""
		if d := aws.ToString(pkg.ApprovalDescription); d != "" {
			why = " (" + d + ")"
		}
		return fmt.Errorf("%s is %s now%s, not Approved: it is not deployed further; approve the version again to deploy it", version, st, why)
	}
	fmt.Fprintf(w, "%s is Approved\n", version)
	return nil
}
