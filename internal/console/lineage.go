package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/pipeline"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
	"github.com/slipway-ml/slipway/internal/registry"
)

// A model package version's page: the version, and its lineage — where it came from (the
// pipeline execution and step that registered it, the training job behind its model data,
// the processing jobs upstream of it) and where it went (the approval history, the endpoints
// serving it in the accounts the principal may read, and the deploy executions that made them).
//
// Every record is read as the signed-in principal through the API's own operations. A record
// the principal may not read is shown as "not visible to you" with the refused action, never
// with its name or ARN (hidden strips the resource from the refusal's message).

type lineageStep struct {
	Name, Status, Link string
}

type lineageTraining struct {
	Step   *lineageStep
	Hidden string // why the job is not shown ("" when it is)
	Job    *jobs.Job
	Hyper  [][2]string // hyperparameters, sorted by name
}

type lineageProcessing struct {
	Step   lineageStep
	Hidden string
	Job    *jobs.Job
}

type lineageExecution struct {
	Hidden     string // why the execution is not shown ("" when it is)
	Execution  pipeline.Execution
	Link       string
	Register   *lineageStep
	Training   *lineageTraining
	Processing []lineageProcessing
	Problem    string // a read that failed for another reason than a refusal
}

type lineageDeployment struct {
	Account, AccountName string
	Cells                []whereCell
}

type versionData struct {
	Group      string
	Package    registry.Package
	Containers []lineageContainer
	Metrics    [][2]string
	Problems   []string // metrics reports that could not be read, and why
	// Execution is nil when no pipeline registered the version.
	Execution *lineageExecution
	// Deployments are the accounts the principal may read where an endpoint serves the version.
	Deployments []lineageDeployment
	// Executions are the deploy pipeline executions whose stacks made those endpoints.
	Executions   []whereExecution
	WhereProblem string
	WhereHidden  string
}

type lineageContainer struct {
	Image, ModelDataURL string
}

func (c *Console) versionPage(w http.ResponseWriter, r *http.Request, s *session) {
	group := r.PathValue("group")
	v := base(s, group+" version "+r.PathValue("version"), "registry")
	d, err := c.version(r, s, group)
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "version", v)
		return
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "version", v)
}

func (c *Console) version(r *http.Request, s *session, group string) (versionData, error) {
	d := versionData{Group: group}
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return d, errs.E(errs.Invalid, "a version is a number from 1").WithCode("ValidationException")
	}
	if err := c.call(r.Context(), r, s, "sagemaker", "DescribeModelPackage", func(ctx context.Context, call identity.Call) error {
		var err error
		d.Package, err = c.cfg.Registry.DescribePackage(ctx, registry.Call(call), c.cfg.Registry.PackageARN(call.Caller.Account, group, n))
		return err
	}); err != nil {
		return d, err
	}
	d.Containers = containersOf(d.Package.Details["InferenceSpecification"])
	ms, problems := c.metrics(r, s, []registry.Package{d.Package})
	for _, m := range ms {
		for _, p := range m.Points {
			d.Metrics = append(d.Metrics, [2]string{m.Name, strconv.FormatFloat(p.Value, 'g', 6, 64)})
		}
	}
	d.Problems = problems
	if execARN, md := lineageOf(d.Package); execARN != "" {
		d.Execution = c.lineageExecution(r, s, execARN, md)
	}
	c.lineageWhere(r, s, &d)
	return d, nil
}

// lineageOf reads what the registering pipeline recorded in a package: the execution
// (MetadataProperties.GeneratedBy) and the lineage keys of CustomerMetadataProperties.
func lineageOf(p registry.Package) (string, map[string]string) {
	var meta struct{ GeneratedBy string }
	_ = json.Unmarshal(p.Details["MetadataProperties"], &meta)
	md := map[string]string{}
	_ = json.Unmarshal(p.Details["CustomerMetadataProperties"], &md)
	return meta.GeneratedBy, md
}

func containersOf(raw json.RawMessage) []lineageContainer {
	var spec struct {
		Containers []struct{ Image, ModelDataUrl string }
	}
	_ = json.Unmarshal(raw, &spec)
	var out []lineageContainer
	for _, c := range spec.Containers {
		out = append(out, lineageContainer{Image: c.Image, ModelDataURL: c.ModelDataUrl})
	}
	return out
}

// deniedRE takes a refusal's message apart: the action, the resource, and how it was decided.
var deniedRE = regexp.MustCompile(`is not authorized to perform: (\S+) on resource: \S+(.*)$`)

// hidden is what a page shows of a record the principal may not read: that it is not visible,
// the action refused and why — not the record's name or ARN, which the refusal's message holds.
func (c *Console) hidden(err error) string {
	if !errs.Is(err, errs.AccessDenied) {
		return ""
	}
	if m := deniedRE.FindStringSubmatch(errs.Message(err)); m != nil {
		return "not visible to you: you may not " + m[1] + strings.TrimRight(m[2], ".")
	}
	return "not visible to you"
}

func (c *Console) stepLink(x pipeline.Execution, step string) string {
	return "/console/pipelines/" + url.PathEscape(x.PipelineName) + "/executions/" + url.PathEscape(x.ID) + "/steps/" + url.PathEscape(step)
}

// lineageExecution follows a version back to the execution that registered it: the
// registering step, the training job behind its model data, and the processing jobs upstream
// of the registering step.
func (c *Console) lineageExecution(r *http.Request, s *session, arn string, md map[string]string) *lineageExecution {
	le := &lineageExecution{}
	if err := c.call(r.Context(), r, s, "sagemaker", "DescribePipelineExecution", func(ctx context.Context, call identity.Call) error {
		var err error
		le.Execution, err = c.cfg.Pipelines.DescribeExecution(ctx, call, arn)
		return err
	}); err != nil {
		if le.Hidden = c.hidden(err); le.Hidden == "" {
			le.Problem = c.problem(err)
		}
		return le
	}
	x := le.Execution
	le.Link = "/console/pipelines/" + url.PathEscape(x.PipelineName) + "/executions/" + url.PathEscape(x.ID)
	var steps []pipeline.Step
	if err := c.call(r.Context(), r, s, "sagemaker", "ListPipelineExecutionSteps", func(ctx context.Context, call identity.Call) error {
		var err error
		steps, err = c.cfg.Pipelines.ListSteps(ctx, call, x.ARN, true)
		return err
	}); err != nil {
		le.Problem = c.problem(err)
		return le
	}
	byName := map[string]pipeline.Step{}
	for _, st := range steps {
		byName[st.Name] = st
	}
	stepOf := func(name string) *lineageStep {
		if name == "" {
			return nil
		}
		ls := &lineageStep{Name: name, Status: "NotStarted"}
		if st, ok := byName[name]; ok {
			ls.Status, ls.Link = string(st.Status), c.stepLink(x, name)
		}
		return ls
	}
	le.Register = stepOf(md[pipeline.LineageStepKey])
	if job := md[pipeline.LineageTrainingJobKey]; job != "" {
		lt := &lineageTraining{Step: stepOf(md[pipeline.LineageTrainingStepKey])}
		j, err := c.describeJob(r, s, jobs.TrainingJob, job[strings.LastIndexByte(job, '/')+1:])
		if err != nil {
			if lt.Hidden = c.hidden(err); lt.Hidden == "" {
				lt.Hidden = c.problem(err)
			}
		} else {
			lt.Job = &j
			for k, v := range j.Spec.HyperParameters {
				lt.Hyper = append(lt.Hyper, [2]string{k, v})
			}
			sort.Slice(lt.Hyper, func(a, b int) bool { return lt.Hyper[a][0] < lt.Hyper[b][0] })
		}
		le.Training = lt
	}
	// The processing steps upstream of the registering step (every processing step of the
	// execution when its definition cannot be read).
	var upstream map[string]bool // nil: the definition could not be read
	var def string
	if le.Register != nil && c.call(r.Context(), r, s, "sagemaker", "DescribePipelineDefinitionForExecution", func(ctx context.Context, call identity.Call) error {
		var err error
		def, _, err = c.cfg.Pipelines.ExecutionDefinition(ctx, call, x.ARN)
		return err
	}) == nil {
		if d, err := definition.Parse([]byte(def)); err == nil {
			upstream = map[string]bool{}
			for _, n := range d.Plan().Upstream(le.Register.Name) {
				upstream[n] = true
			}
		}
	}
	for _, st := range steps {
		if st.Type != string(definition.Processing) || (upstream != nil && !upstream[st.Name]) {
			continue
		}
		lp := lineageProcessing{Step: lineageStep{Name: st.Name, Status: string(st.Status), Link: c.stepLink(x, st.Name)}}
		if sj, ok := jobOf(st.Metadata); ok && sj.Kind == "ProcessingJob" {
			j, err := c.describeJob(r, s, jobs.ProcessingJob, sj.Name)
			if err != nil {
				if lp.Hidden = c.hidden(err); lp.Hidden == "" {
					lp.Hidden = c.problem(err)
				}
			} else {
				lp.Job = &j
			}
		}
		le.Processing = append(le.Processing, lp)
	}
	return le
}

func (c *Console) describeJob(r *http.Request, s *session, kind jobs.Kind, name string) (jobs.Job, error) {
	var j jobs.Job
	if c.cfg.Jobs == nil {
		return j, errs.E(errs.Internal, "the console has no jobs service")
	}
	err := c.call(r.Context(), r, s, "sagemaker", "Describe"+kind.Noun(), func(ctx context.Context, call identity.Call) error {
		var err error
		j, err = c.cfg.Jobs.Describe(ctx, call, kind, name)
		return err
	})
	return j, err
}

// lineageWhere fills in where the version went: the "where" view's endpoints serving it in
// each account the principal may read, and the deploy executions whose stacks made them.
func (c *Console) lineageWhere(r *http.Request, s *session, d *versionData) {
	wd, err := c.where(r, s)
	if err != nil {
		if d.WhereHidden = c.hidden(err); d.WhereHidden == "" {
			d.WhereProblem = c.problem(err)
		}
		return
	}
	seen := map[string]bool{}
	for _, row := range wd.Rows {
		if row.Group != d.Group {
			continue
		}
		for i, cells := range row.Cells {
			ld := lineageDeployment{Account: wd.Accounts[i].ID, AccountName: wd.Accounts[i].Name}
			for _, cell := range cells {
				if cell.Version != d.Package.Version {
					continue
				}
				ld.Cells = append(ld.Cells, cell)
				if x := cell.Execution; x != nil && !seen[x.Pipeline+"/"+x.ID] {
					seen[x.Pipeline+"/"+x.ID] = true
					d.Executions = append(d.Executions, *x)
				}
			}
			if len(ld.Cells) > 0 {
				d.Deployments = append(d.Deployments, ld)
			}
		}
	}
}
