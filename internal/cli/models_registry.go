package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

var modelsHelp = helpText{
	usage: "slipway models <list|show|approve|reject|lineage> [ARGS] [flags]",
	desc: `The model registry for people, through the server's SageMaker API with the profile's
credentials:

  list [GROUP]                 the model package groups, or the versions of one group
  show GROUP/VERSION           a version's details, metrics, lineage and endpoints
  approve GROUP/VERSION        set a version Approved (--comment records why)
  reject GROUP/VERSION         set a version Rejected (--comment records why)
  lineage GROUP/VERSION        where a version came from: execution, step, training job, data

Run "slipway models SUBCOMMAND -h" for a subcommand's flags.`,
	example: `slipway models list abalone --profile data-science
slipway models approve abalone/1 --comment "mse 4.1 on the held-out set"`,
}

var modelsListHelp = helpText{
	usage: "slipway models list [GROUP] [flags]",
	desc: `Without GROUP, lists the model package groups of the caller's account: name, number of
versions, the latest version's approval status, the newest Approved version and when the group
was created. With GROUP, lists its versions: version, status, approval status, when it was
created and its key metric (mse, rmse, accuracy, auc… the first of those found in the
statistics file that ModelMetrics.ModelQuality names; "-" when the version has none or the file
cannot be read).`,
	example: `slipway models list --profile data-science
slipway models list abalone --output json`,
}

var modelsShowHelp = helpText{
	usage: "slipway models show GROUP/VERSION [flags]",
	desc: `Prints one model version: its ARN, status, approval status with the comment and who set it,
its container (image, model data), every metric of its ModelMetrics statistics files, a lineage
summary (the pipeline execution that registered it and its training job; "slipway models
lineage" follows them) and the endpoints of the caller's account that serve it.`,
	example: `slipway models show abalone/1 --profile data-science`,
}

var modelsApproveHelp = helpText{
	usage: "slipway models approve GROUP/VERSION [flags]",
	desc: `Sets a model version's approval status to Approved (UpdateModelPackage), with --comment as
its ApprovalDescription. The registry then emits a "SageMaker Model Package State Change"
event, which may start a deploy pipeline. A principal without sagemaker:UpdateModelPackage on
the version is refused: the command says so with the server's reason and exits 1, and nothing
changes.`,
	example: `slipway models approve abalone/1 --comment "mse 4.1 on the held-out set" --profile data-science`,
}

var modelsRejectHelp = helpText{
	usage: "slipway models reject GROUP/VERSION [flags]",
	desc: `Sets a model version's approval status to Rejected (UpdateModelPackage), with --comment as
its ApprovalDescription. A Rejected version deploys nothing. A principal without
sagemaker:UpdateModelPackage on the version is refused (exit 1) and nothing changes.`,
	example: `slipway models reject abalone/2 --comment "overfits: validation mse doubled" --profile data-science`,
}

// runModels runs slipway models SUBCOMMAND.
func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommands("models", modelsHelp, map[string]func([]string) error{
		"list": func(a []string) error { return runModelsList(ctx, a, stdout, stderr) },
		"show": func(a []string) error { return runModelsShow(ctx, a, stdout, stderr) },
		"approve": func(a []string) error {
			return runModelsDecide(ctx, a, stdout, stderr, smtypes.ModelApprovalStatusApproved)
		},
		"reject": func(a []string) error {
			return runModelsDecide(ctx, a, stdout, stderr, smtypes.ModelApprovalStatusRejected)
		},
		"lineage": func(a []string) error { return runModelsLineage(ctx, a, stdout, stderr) },
	}, args, stdout)
}

// groupVersion parses GROUP/VERSION.
func groupVersion(s string) (string, int32, error) {
	group, v, ok := strings.Cut(s, "/")
	version, err := strconv.ParseInt(v, 10, 32)
	if !ok || group == "" || err != nil || version < 1 {
		return "", 0, fmt.Errorf("%w: %q is not GROUP/VERSION (e.g. abalone/1)", errUsage, s)
	}
	return group, int32(version), nil
}

// registryClients are the API clients the models commands use.
type registryClients struct {
	sm *sagemaker.Client
	s3 *s3.Client
}

func (cf *clientFlags) registry() (registryClients, error) {
	cfg, err := cf.config()
	if err != nil {
		return registryClients{}, err
	}
	return registryClients{sm: sagemaker.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}, nil
}

// groupJSON and versionJSON are the --output json shapes of models list.
type groupJSON struct {
	Name           string    `json:"name"`
	ARN            string    `json:"arn"`
	Created        time.Time `json:"created"`
	Versions       int       `json:"versions"`
	LatestApproval string    `json:"latestApproval,omitempty"`
	LatestApproved int32     `json:"latestApproved,omitempty"`
}

type metricJSON struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

type versionJSON struct {
	Group     string      `json:"group"`
	Version   int32       `json:"version"`
	ARN       string      `json:"arn"`
	Status    string      `json:"status"`
	Approval  string      `json:"approval"`
	Created   time.Time   `json:"created"`
	KeyMetric *metricJSON `json:"keyMetric,omitempty"`
}

func runModelsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newClientCommand("models list", modelsListHelp, stdout, stderr)
	cf, of := &cmd.cf, &cmd.of
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: want at most one model package group", errUsage)
	}
	c, err := cf.registry()
	if err != nil {
		return err
	}
	now := time.Now()
	if len(pos) == 0 {
		groups, err := listGroups(ctx, c.sm)
		if err != nil {
			return err
		}
		if of.json() {
			return writeJSON(stdout, groups)
		}
		rows := [][]string{}
		for _, g := range groups {
			approved := "-"
			if g.LatestApproved > 0 {
				approved = strconv.Itoa(int(g.LatestApproved))
			}
			rows = append(rows, []string{g.Name, strconv.Itoa(g.Versions), orElse(g.LatestApproval, "-"), approved, ago(g.Created, now)})
		}
		if len(rows) == 0 {
			fmt.Fprintln(stdout, "no model package groups in this account")
			return nil
		}
		return table(stdout, []string{"GROUP", "VERSIONS", "LATEST", "APPROVED", "CREATED"}, rows)
	}
	sums, err := listVersions(ctx, c.sm, pos[0])
	if err != nil {
		return err
	}
	versions := make([]versionJSON, 0, len(sums))
	for _, s := range sums {
		v := versionJSON{Group: pos[0], Version: aws.ToInt32(s.ModelPackageVersion), ARN: aws.ToString(s.ModelPackageArn),
			Status: string(s.ModelPackageStatus), Approval: string(s.ModelApprovalStatus), Created: aws.ToTime(s.CreationTime)}
		if d, err := c.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: s.ModelPackageArn}); err == nil {
			if ms, err := c.metrics(ctx, d.ModelMetrics); err == nil {
				v.KeyMetric = keyMetric(ms)
			}
		}
		versions = append(versions, v)
	}
	if of.json() {
		return writeJSON(stdout, versions)
	}
	if len(versions) == 0 {
		fmt.Fprintf(stdout, "model package group %s has no versions\n", pos[0])
		return nil
	}
	rows := [][]string{}
	for _, v := range versions {
		metric := "-"
		if v.KeyMetric != nil {
			metric = fmt.Sprintf("%s %s", v.KeyMetric.Name, fmtFloat(v.KeyMetric.Value))
		}
		rows = append(rows, []string{strconv.Itoa(int(v.Version)), v.Status, v.Approval, ago(v.Created, now), metric})
	}
	return table(stdout, []string{"VERSION", "STATUS", "APPROVAL", "CREATED", "METRIC"}, rows)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

// listGroups lists the caller's groups with their versions' summary.
func listGroups(ctx context.Context, sm *sagemaker.Client) ([]groupJSON, error) {
	groups := []groupJSON{}
	p := sagemaker.NewListModelPackageGroupsPaginator(sm, &sagemaker.ListModelPackageGroupsInput{SortBy: smtypes.ModelPackageGroupSortByName, SortOrder: smtypes.SortOrderAscending})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range page.ModelPackageGroupSummaryList {
			gj := groupJSON{Name: aws.ToString(g.ModelPackageGroupName), ARN: aws.ToString(g.ModelPackageGroupArn), Created: aws.ToTime(g.CreationTime)}
			vs, err := listVersions(ctx, sm, gj.Name)
			if err != nil {
				return nil, err
			}
			gj.Versions = len(vs)
			if len(vs) > 0 {
				gj.LatestApproval = string(vs[len(vs)-1].ModelApprovalStatus)
			}
			for _, v := range vs {
				if v.ModelApprovalStatus == smtypes.ModelApprovalStatusApproved {
					gj.LatestApproved = aws.ToInt32(v.ModelPackageVersion)
				}
			}
			groups = append(groups, gj)
		}
	}
	return groups, nil
}

// listVersions lists a group's versions, oldest first.
func listVersions(ctx context.Context, sm *sagemaker.Client, group string) ([]smtypes.ModelPackageSummary, error) {
	var all []smtypes.ModelPackageSummary
	p := sagemaker.NewListModelPackagesPaginator(sm, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(group)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, page.ModelPackageSummaryList...)
	}
	sort.Slice(all, func(i, j int) bool {
		return aws.ToInt32(all[i].ModelPackageVersion) < aws.ToInt32(all[j].ModelPackageVersion)
	})
	return all, nil
}

// findVersion returns the ARN of a group's version.
func findVersion(ctx context.Context, sm *sagemaker.Client, group string, version int32) (string, error) {
	vs, err := listVersions(ctx, sm, group)
	if err != nil {
		return "", err
	}
	for _, v := range vs {
		if aws.ToInt32(v.ModelPackageVersion) == version {
			return aws.ToString(v.ModelPackageArn), nil
		}
	}
	return "", fmt.Errorf("model package group %s has no version %d", group, version)
}

// metrics reads the statistics files ModelMetrics names (model quality first) and returns
// their metrics: the SageMaker evaluation-report shape {"regression_metrics": {"mse":
// {"value": 4.1}}}, also what Model Monitor writes; a name seen twice keeps its first value.
func (c registryClients) metrics(ctx context.Context, mm *smtypes.ModelMetrics) ([]metricJSON, error) {
	if mm == nil {
		return nil, nil
	}
	var sources []*smtypes.MetricsSource
	if mm.ModelQuality != nil {
		sources = append(sources, mm.ModelQuality.Statistics)
	}
	if mm.ModelDataQuality != nil {
		sources = append(sources, mm.ModelDataQuality.Statistics)
	}
	var out []metricJSON
	seen := map[string]bool{}
	for _, src := range sources {
		if src == nil || aws.ToString(src.S3Uri) == "" {
			continue
		}
		bucket, key, ok := strings.Cut(strings.TrimPrefix(aws.ToString(src.S3Uri), "s3://"), "/")
		if !ok || !strings.HasPrefix(aws.ToString(src.S3Uri), "s3://") {
			return out, fmt.Errorf("statistics %s is not an s3:// URI", aws.ToString(src.S3Uri))
		}
		obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return out, fmt.Errorf("cannot read the statistics %s: %w", aws.ToString(src.S3Uri), err)
		}
		raw, err := io.ReadAll(io.LimitReader(obj.Body, 1<<20))
		obj.Body.Close()
		if err != nil {
			return out, err
		}
		ms, err := parseMetrics(raw)
		if err != nil {
			return out, fmt.Errorf("the statistics %s: %w", aws.ToString(src.S3Uri), err)
		}
		for _, m := range ms {
			if !seen[m.Name] {
				seen[m.Name] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// parseMetrics reads the metrics of a statistics file: every member of an object whose name ends
// in "_metrics" that is {"value": number} or a number, sorted by name.
func parseMetrics(raw []byte) ([]metricJSON, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	var out []metricJSON
	for section, body := range doc {
		if !strings.HasSuffix(section, "_metrics") {
			continue
		}
		var ms map[string]json.RawMessage
		if json.Unmarshal(body, &ms) != nil {
			continue
		}
		for name, m := range ms {
			var v struct {
				Value *float64 `json:"value"`
			}
			var f float64
			switch {
			case json.Unmarshal(m, &v) == nil && v.Value != nil:
				f = *v.Value
			case json.Unmarshal(m, &f) == nil:
			default:
				continue
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			out = append(out, metricJSON{Name: name, Value: f})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// keyMetric picks the metric a list shows: the first of the usual headline metrics, else the
// first by name.
func keyMetric(ms []metricJSON) *metricJSON {
	if len(ms) == 0 {
		return nil
	}
	for _, name := range []string{"mse", "rmse", "mae", "r2", "accuracy", "auc", "f1", "precision", "recall"} {
		for i := range ms {
			if ms[i].Name == name {
				return &ms[i]
			}
		}
	}
	return &ms[0]
}

// showJSON is the --output json shape of models show.
type showJSON struct {
	versionJSON
	Description         string            `json:"description,omitempty"`
	ApprovalDescription string            `json:"approvalDescription,omitempty"`
	ModifiedBy          string            `json:"modifiedBy,omitempty"`
	Modified            *time.Time        `json:"modified,omitempty"`
	Images              []string          `json:"images,omitempty"`
	ModelData           []string          `json:"modelData,omitempty"`
	Metrics             []metricJSON      `json:"metrics"`
	MetricsError        string            `json:"metricsError,omitempty"`
	Execution           string            `json:"execution,omitempty"`
	TrainingJob         string            `json:"trainingJob,omitempty"`
	Endpoints           []string          `json:"endpoints"`
	EndpointsError      string            `json:"endpointsError,omitempty"`
	Metadata            map[string]string `json:"customerMetadata,omitempty"`
}

func runModelsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newClientCommand("models show", modelsShowHelp, stdout, stderr)
	cf, of := &cmd.cf, &cmd.of
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	group, version, err := oneVersion(pos)
	if err != nil {
		return err
	}
	c, err := cf.registry()
	if err != nil {
		return err
	}
	arn, err := findVersion(ctx, c.sm, group, version)
	if err != nil {
		return err
	}
	d, err := c.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
	if err != nil {
		return err
	}
	v := showJSON{versionJSON: versionJSON{Group: group, Version: version, ARN: arn, Status: string(d.ModelPackageStatus),
		Approval: string(d.ModelApprovalStatus), Created: aws.ToTime(d.CreationTime)},
		Description: aws.ToString(d.ModelPackageDescription), ApprovalDescription: aws.ToString(d.ApprovalDescription),
		ModifiedBy: userOf(d.LastModifiedBy), Modified: d.LastModifiedTime, Metrics: []metricJSON{}, Endpoints: []string{},
		Metadata: d.CustomerMetadataProperties}
	if d.InferenceSpecification != nil {
		for _, ct := range d.InferenceSpecification.Containers {
			v.Images = append(v.Images, aws.ToString(ct.Image))
			if u := aws.ToString(ct.ModelDataUrl); u != "" {
				v.ModelData = append(v.ModelData, u)
			}
		}
	}
	ms, err := c.metrics(ctx, d.ModelMetrics)
	if err != nil {
		v.MetricsError = err.Error()
	}
	if ms != nil {
		v.Metrics = ms
	}
	v.KeyMetric = keyMetric(ms)
	if d.MetadataProperties != nil {
		v.Execution = aws.ToString(d.MetadataProperties.GeneratedBy)
	}
	v.TrainingJob = d.CustomerMetadataProperties["slipway:TrainingJobArn"]
	eps, err := endpointsServing(ctx, c.sm, arn)
	if err != nil {
		v.EndpointsError = err.Error()
	}
	if eps != nil {
		v.Endpoints = eps
	}
	if of.json() {
		return writeJSON(stdout, v)
	}
	now := time.Now()
	w := &kv{w: stdout}
	w.line("model package", v.ARN)
	w.line("status", v.Status)
	w.line("created", fmt.Sprintf("%s (%s)", v.Created.UTC().Format(time.RFC3339), ago(v.Created, now)))
	if v.Description != "" {
		w.line("description", v.Description)
	}
	approval := v.Approval
	if v.ModifiedBy != "" && v.Modified != nil {
		approval += fmt.Sprintf(", set by %s %s", v.ModifiedBy, ago(*v.Modified, now))
	}
	w.line("approval", approval)
	if v.ApprovalDescription != "" {
		w.line("comment", v.ApprovalDescription)
	}
	for _, img := range v.Images {
		w.line("image", img)
	}
	for _, u := range v.ModelData {
		w.line("model data", u)
	}
	switch {
	case v.MetricsError != "":
		w.line("metrics", "(unknown: "+v.MetricsError+")")
	case len(v.Metrics) == 0:
		w.line("metrics", "(none: the version has no ModelMetrics statistics)")
	default:
		parts := make([]string, 0, len(v.Metrics))
		for _, m := range v.Metrics {
			parts = append(parts, m.Name+" "+fmtFloat(m.Value))
		}
		w.line("metrics", strings.Join(parts, "  "))
	}
	if v.Execution == "" {
		w.line("lineage", "(not registered by a pipeline)")
	} else {
		w.line("lineage", "execution "+v.Execution)
		if v.TrainingJob != "" {
			w.line("", "training job "+v.TrainingJob)
		}
		w.line("", fmt.Sprintf("(slipway models lineage %s/%d follows them)", group, version))
	}
	switch {
	case v.EndpointsError != "":
		w.line("deployed", "(unknown: "+v.EndpointsError+")")
	case len(v.Endpoints) == 0:
		w.line("deployed", "(no endpoint of this account serves it)")
	default:
		for i, e := range v.Endpoints {
			label := ""
			if i == 0 {
				label = "deployed"
			}
			w.line(label, e)
		}
	}
	return nil
}

// kv prints label/value lines with the values aligned.
type kv struct{ w io.Writer }

func (k *kv) line(label, value string) { fmt.Fprintf(k.w, "%-14s %s\n", label, value) }

// userOf names who a UserContext is: the IAM identity's ARN, else the user profile.
func userOf(u *smtypes.UserContext) string {
	if u == nil {
		return ""
	}
	if u.IamIdentity != nil && aws.ToString(u.IamIdentity.Arn) != "" {
		return aws.ToString(u.IamIdentity.Arn)
	}
	return firstSet(aws.ToString(u.UserProfileName), aws.ToString(u.UserProfileArn))
}

// endpointsServing lists the caller account's endpoints whose current config has a variant
// whose model's container came from the package arn: "NAME (STATUS, variant V)".
func endpointsServing(ctx context.Context, sm *sagemaker.Client, arn string) ([]string, error) {
	var out []string
	models := map[string]bool{} // model name → serves the package
	p := sagemaker.NewListEndpointsPaginator(sm, &sagemaker.ListEndpointsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Endpoints {
			d, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: e.EndpointName})
			if err != nil {
				return nil, err
			}
			cfg, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: d.EndpointConfigName})
			if err != nil {
				return nil, err
			}
			for _, pv := range cfg.ProductionVariants {
				name := aws.ToString(pv.ModelName)
				serves, known := models[name]
				if !known {
					m, err := sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: pv.ModelName})
					if err != nil {
						return nil, err
					}
					cts := m.Containers
					if m.PrimaryContainer != nil {
						cts = append(cts, *m.PrimaryContainer)
					}
					for _, ct := range cts {
						serves = serves || aws.ToString(ct.ModelPackageName) == arn
					}
					models[name] = serves
				}
				if serves {
					out = append(out, fmt.Sprintf("%s (%s, variant %s)", aws.ToString(d.EndpointName), d.EndpointStatus, aws.ToString(pv.VariantName)))
				}
			}
		}
	}
	return out, nil
}

// modelsDecision is the --output json shape of models approve and reject.
type modelsDecision struct {
	ARN                 string `json:"arn"`
	Previous            string `json:"previousApproval"`
	Approval            string `json:"approval"`
	ApprovalDescription string `json:"approvalDescription,omitempty"`
	ModifiedBy          string `json:"modifiedBy,omitempty"`
}

func runModelsDecide(ctx context.Context, args []string, stdout, stderr io.Writer, status smtypes.ModelApprovalStatus) error {
	verb, h := "approve", modelsApproveHelp
	if status == smtypes.ModelApprovalStatusRejected {
		verb, h = "reject", modelsRejectHelp
	}
	cmd := newClientCommand("models "+verb, h, stdout, stderr)
	cf, of := &cmd.cf, &cmd.of
	comment := cmd.fs.String("comment", "", "why (recorded as the version's ApprovalDescription)")
	pos, err := cmd.parse(args)
	if err != nil {
		return err
	}
	group, version, err := oneVersion(pos)
	if err != nil {
		return err
	}
	c, err := cf.registry()
	if err != nil {
		return err
	}
	arn, err := findVersion(ctx, c.sm, group, version)
	if err != nil {
		return refused(err, fmt.Sprintf("list the versions of %s", group))
	}
	before, err := c.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
	if err != nil {
		return refused(err, fmt.Sprintf("describe %s/%d", group, version))
	}
	in := &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(arn), ModelApprovalStatus: status}
	if *comment != "" {
		in.ApprovalDescription = comment
	}
	if _, err := c.sm.UpdateModelPackage(ctx, in); err != nil {
		return refused(err, fmt.Sprintf("%s %s/%d", verb, group, version))
	}
	after, err := c.sm.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(arn)})
	if err != nil {
		return err
	}
	out := modelsDecision{ARN: arn, Previous: string(before.ModelApprovalStatus), Approval: string(after.ModelApprovalStatus),
		ApprovalDescription: aws.ToString(after.ApprovalDescription), ModifiedBy: userOf(after.LastModifiedBy)}
	if of.json() {
		return writeJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "%s/%d: %s → %s", group, version, out.Previous, out.Approval)
	if out.ModifiedBy != "" {
		fmt.Fprintf(stdout, " by %s", out.ModifiedBy)
	}
	fmt.Fprintln(stdout)
	if out.ApprovalDescription != "" {
		fmt.Fprintf(stdout, "comment: %s\n", out.ApprovalDescription)
	}
	return nil
}
