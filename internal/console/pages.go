package console

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/serving"
)

// base is the view every signed-in page starts from.
func base(s *session, title, nav string) view {
	return view{Title: title, Nav: nav, Session: s, Caller: s.caller, CSRF: s.rec.CSRF}
}

// --- Organization ---

type orgNode struct {
	Kind     string // Root | OU
	ID, Name string
	SCPs     []string
	Units    []orgNode
	Accounts []orgAccount
}

type orgAccount struct {
	org.Account
	SCPs []string
}

type orgData struct {
	Org  org.Organization
	Root orgNode
}

func (c *Console) orgPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Organization", "org")
	var d orgData
	err := c.call(r.Context(), r, s, "organizations", "DescribeOrganization", func(ctx context.Context, call identity.Call) error {
		var err error
		d.Org, _, err = c.cfg.Org.DescribeOrganization(ctx, call)
		return err
	})
	var roots []org.Root
	if err == nil {
		err = c.call(r.Context(), r, s, "organizations", "ListRoots", func(ctx context.Context, call identity.Call) error {
			var err error
			roots, err = c.cfg.Org.ListRoots(ctx, call)
			return err
		})
	}
	scps := map[string][]string{} // target id → the SCPs attached to it
	if err == nil {
		var policies []org.Policy
		err = c.call(r.Context(), r, s, "organizations", "ListPolicies", func(ctx context.Context, call identity.Call) error {
			var err error
			policies, err = c.cfg.Org.ListPolicies(ctx, call, org.SCPType)
			return err
		})
		for _, p := range policies {
			if err != nil {
				break
			}
			err = c.call(r.Context(), r, s, "organizations", "ListTargetsForPolicy", func(ctx context.Context, call identity.Call) error {
				ts, err := c.cfg.Org.Targets(ctx, call, p.ID)
				for _, t := range ts {
					scps[t.ID] = append(scps[t.ID], p.Name)
				}
				return err
			})
		}
	}
	if err == nil && len(roots) > 0 {
		d.Root, err = c.orgTree(r, s, "Root", roots[0].ID, "Root", scps, 0)
	}
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "org", v)
		return
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "org", v)
}

func (c *Console) orgTree(r *http.Request, s *session, kind, id, name string, scps map[string][]string, depth int) (orgNode, error) {
	n := orgNode{Kind: kind, ID: id, Name: name, SCPs: scps[id]}
	var units []org.Unit
	var accounts []org.Account
	err := c.call(r.Context(), r, s, "organizations", "ListOrganizationalUnitsForParent", func(ctx context.Context, call identity.Call) error {
		var err error
		units, err = c.cfg.Org.ListUnits(ctx, call, id)
		return err
	})
	if err == nil {
		err = c.call(r.Context(), r, s, "organizations", "ListAccountsForParent", func(ctx context.Context, call identity.Call) error {
			var err error
			accounts, err = c.cfg.Org.ListAccounts(ctx, call, id)
			return err
		})
	}
	if err != nil {
		return n, err
	}
	for _, a := range accounts {
		n.Accounts = append(n.Accounts, orgAccount{Account: a, SCPs: scps[a.ID]})
	}
	if depth >= 5 { // OUs nest five deep at most
		return n, nil
	}
	for _, u := range units {
		child, err := c.orgTree(r, s, "OU", u.ID, u.Name, scps, depth+1)
		if err != nil {
			return n, err
		}
		n.Units = append(n.Units, child)
	}
	return n, nil
}

// --- Model registry ---

func (c *Console) registryPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Model registry", "registry")
	var groups []registry.Group
	err := c.call(r.Context(), r, s, "sagemaker", "ListModelPackageGroups", func(ctx context.Context, call identity.Call) error {
		var err error
		groups, err = c.cfg.Registry.ListGroups(ctx, registry.Call(call), registry.GroupQuery{SortBy: "CreationTime", Descending: true, Limit: 1000})
		return err
	})
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "registry", v)
		return
	}
	v.Data = groups
	c.render(w, r, http.StatusOK, "registry", v)
}

type groupData struct {
	Group    registry.Group
	Versions []registry.Package
	Metrics  []metricSeries
	Problems []string // metrics that could not be read, and why
}

func (c *Console) groupView(r *http.Request, s *session) (view, error) {
	name := r.PathValue("group")
	v := base(s, name, "registry")
	var d groupData
	err := c.call(r.Context(), r, s, "sagemaker", "DescribeModelPackageGroup", func(ctx context.Context, call identity.Call) error {
		var err error
		d.Group, err = c.cfg.Registry.DescribeGroup(ctx, registry.Call(call), name)
		return err
	})
	if err == nil {
		err = c.call(r.Context(), r, s, "sagemaker", "ListModelPackages", func(ctx context.Context, call identity.Call) error {
			var err error
			d.Versions, err = c.cfg.Registry.ListPackages(ctx, registry.Call(call), registry.PackageQuery{GroupName: name, SortBy: "CreationTime", Limit: 1000})
			return err
		})
	}
	if err != nil {
		return v, err
	}
	sort.Slice(d.Versions, func(i, j int) bool { return d.Versions[i].Version < d.Versions[j].Version })
	d.Metrics, d.Problems = c.metrics(r, s, d.Versions)
	v.Data = d
	return v, nil
}

func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := c.groupView(r, s)
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "group", v)
		return
	}
	c.render(w, r, http.StatusOK, "group", v)
}

// maxMetricVersions bounds the versions whose metrics a group page reads (the newest).
const maxMetricVersions = 50

// metrics reads each version's ModelMetrics reports, as the signed-in principal, and returns
// one series per metric across the versions.
func (c *Console) metrics(r *http.Request, s *session, versions []registry.Package) ([]metricSeries, []string) {
	start := 0
	if len(versions) > maxMetricVersions {
		start = len(versions) - maxMetricVersions
	}
	values := map[string]map[int]float64{}
	var problems []string
	for _, p := range versions[start:] {
		for _, uri := range MetricsURIs(p.Details["ModelMetrics"]) {
			bucket, key, ok := splitS3(uri)
			if !ok {
				continue
			}
			var body []byte
			err := c.call(r.Context(), r, s, "s3", "GetObject", func(ctx context.Context, call identity.Call) error {
				_, rc, err := c.cfg.Artifacts.GetObject(ctx, call.Caller, bucket, key, nil)
				if err != nil {
					return err
				}
				defer rc.Close()
				body, err = io.ReadAll(io.LimitReader(rc, maxReportBytes+1))
				return err
			})
			if err != nil {
				problems = append(problems, "version "+strconv.Itoa(p.Version)+": "+uri+": "+c.problem(err))
				continue
			}
			for name, val := range ParseMetrics(body) {
				if values[name] == nil {
					values[name] = map[int]float64{}
				}
				values[name][p.Version] = val
			}
		}
	}
	return series(values), problems
}

func splitS3(uri string) (bucket, key string, ok bool) {
	rest, found := strings.CutPrefix(uri, "s3://")
	if !found {
		return "", "", false
	}
	bucket, key, ok = strings.Cut(rest, "/")
	return bucket, key, ok && bucket != "" && key != ""
}

type compareData struct {
	Group string
	A, B  registry.Package
	Rows  []compareRow
}

type compareRow struct {
	Name string
	A, B string
	Diff bool
}

func (c *Console) comparePage(w http.ResponseWriter, r *http.Request, s *session) {
	group := r.PathValue("group")
	v := base(s, "Compare versions of "+group, "registry")
	var pkgs [2]registry.Package
	var err error
	for i, q := range []string{"a", "b"} {
		n, perr := strconv.Atoi(r.URL.Query().Get(q))
		if perr != nil || n < 1 {
			err = errs.E(errs.Invalid, "choose two versions to compare (a and b are version numbers)").WithCode("ValidationException")
			break
		}
		if err = c.call(r.Context(), r, s, "sagemaker", "DescribeModelPackage", func(ctx context.Context, call identity.Call) error {
			var err error
			pkgs[i], err = c.cfg.Registry.DescribePackage(ctx, registry.Call(call), c.cfg.Registry.PackageARN(call.Caller.Account, group, n))
			return err
		}); err != nil {
			break
		}
	}
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "compare", v)
		return
	}
	d := compareData{Group: group, A: pkgs[0], B: pkgs[1]}
	row := func(name, a, b string) { d.Rows = append(d.Rows, compareRow{name, a, b, a != b}) }
	row("Approval status", string(d.A.ApprovalStatus), string(d.B.ApprovalStatus))
	row("Approval comment", d.A.ApprovalDescription, d.B.ApprovalDescription)
	row("Description", d.A.Description, d.B.Description)
	row("Created", fmtTime(d.A.CreatedAt), fmtTime(d.B.CreatedAt))
	keys := map[string]bool{}
	for k := range d.A.Details {
		keys[k] = true
	}
	for k := range d.B.Details {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		row(k, string(d.A.Details[k]), string(d.B.Details[k]))
	}
	ms, _ := c.metrics(r, s, []registry.Package{d.A, d.B})
	for _, m := range ms {
		a, b := "", ""
		for _, p := range m.Points {
			if p.Version == d.A.Version {
				a = strconv.FormatFloat(p.Value, 'g', 6, 64)
			}
			if p.Version == d.B.Version {
				b = strconv.FormatFloat(p.Value, 'g', 6, 64)
			}
		}
		row("metric "+m.Name, a, b)
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "compare", v)
}

// setStatus approves or rejects a version with a comment: sagemaker:UpdateModelPackage as the
// signed-in principal. A refusal shows the group page with the reason.
func (c *Console) setStatus(w http.ResponseWriter, r *http.Request, s *session) {
	group := r.PathValue("group")
	version, verr := strconv.Atoi(r.PathValue("version"))
	status := registry.ApprovalStatus(r.PostForm.Get("status"))
	comment := r.PostForm.Get("comment")
	var err error = errs.E(errs.Invalid, "no such version").WithCode("ValidationException")
	if verr == nil {
		err = c.call(r.Context(), r, s, "sagemaker", "UpdateModelPackage", func(ctx context.Context, call identity.Call) error {
			_, err := c.cfg.Registry.UpdatePackage(ctx, registry.Call(call), registry.UpdateInput{
				ARN: c.cfg.Registry.PackageARN(call.Caller.Account, group, version), ApprovalStatus: status, ApprovalDescription: &comment,
			})
			return err
		})
	}
	if err != nil {
		v, gerr := c.groupView(r, s)
		v.Error = c.problem(err)
		if gerr != nil {
			v.Data = nil
		}
		c.render(w, r, statusOf(err), "group", v)
		return
	}
	back := "/console/registry/" + url.PathEscape(group)
	if r.PostForm.Get("back") == "version" {
		back += "/" + strconv.Itoa(version)
	}
	http.Redirect(w, r, back+"?flash="+url.QueryEscape("Version "+strconv.Itoa(version)+" is now "+string(status)), http.StatusSeeOther)
}

// --- Endpoints ---

func (c *Console) endpointsPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Endpoints", "endpoints")
	var eps []serving.Endpoint
	err := c.call(r.Context(), r, s, "sagemaker", "ListEndpoints", func(ctx context.Context, call identity.Call) error {
		var err error
		eps, err = c.cfg.Serving.ListEndpoints(ctx, call, serving.Query{SortBy: "Name", Limit: 1000})
		return err
	})
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "endpoints", v)
		return
	}
	v.Data = eps
	v.Poll = "/console/endpoints/live"
	c.render(w, r, http.StatusOK, "endpoints", v)
}

type endpointData struct {
	Endpoint serving.Endpoint
	Config   *serving.Config
	Query    EndpointQuery
	Charts   []variantCharts
	// ChartsProblem is why the metrics cannot be shown (cloudwatch:GetMetricData refused).
	ChartsProblem string
	// Capture is the configuration's data capture (nil when it captures nothing); Samples its
	// newest captured invocations, CaptureProblem why they cannot be read.
	Capture        *serving.CaptureConfig
	Samples        []CaptureSample
	CaptureProblem string
}

func (c *Console) endpoint(r *http.Request, s *session) (endpointData, error) {
	var d endpointData
	name := r.PathValue("name")
	err := c.call(r.Context(), r, s, "sagemaker", "DescribeEndpoint", func(ctx context.Context, call identity.Call) error {
		var err error
		d.Endpoint, err = c.cfg.Serving.DescribeEndpoint(ctx, call, name)
		return err
	})
	return d, err
}

func (c *Console) endpointPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Endpoint "+r.PathValue("name"), "endpoints")
	q, err := ParseEndpointQuery(r.URL.Query())
	var d endpointData
	if err == nil {
		d, err = c.endpoint(r, s)
	}
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "endpoint", v)
		return
	}
	d.Query = q
	// The configuration is shown when the principal may read it; its refusal is not the page's.
	_ = c.call(r.Context(), r, s, "sagemaker", "DescribeEndpointConfig", func(ctx context.Context, call identity.Call) error {
		cfg, err := c.cfg.Serving.DescribeConfig(ctx, call, d.Endpoint.ConfigName)
		if err == nil {
			d.Config = &cfg
		}
		return err
	})
	// The charts: the last minutes of the endpoint's invocations, as CloudWatch's metrics are read.
	ms, err := c.endpointMetrics(r, s, d.Endpoint, q.Minutes)
	if err != nil {
		d.ChartsProblem = c.problem(err)
	}
	d.Charts = endpointCharts(ms)
	// Data capture samples, when the configuration captures and the principal may read them.
	if d.Config != nil {
		if cc, err := serving.ParseCaptureConfig(d.Config.DataCapture); err == nil && cc != nil {
			d.Capture = cc
			if q.Samples > 0 {
				d.Samples, err = c.captureSamples(r, s, d.Endpoint.Name, cc, q.Samples)
				if err != nil {
					d.CaptureProblem = c.problem(err)
				}
			}
		}
	}
	v.Data = d
	v.Poll = "/console/endpoints/" + url.PathEscape(d.Endpoint.Name) + "/live?minutes=" + strconv.Itoa(q.Minutes)
	c.render(w, r, http.StatusOK, "endpoint", v)
}

// endpointLive is an endpoint's live state for the page's poller: element keys → values.
func (c *Console) endpointLive(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.endpoint(r, s)
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": c.problem(err)})
		return
	}
	out := map[string]string{"status": string(d.Endpoint.Status), "failure": d.Endpoint.FailureReason}
	for _, vs := range d.Endpoint.Variants {
		out["weight:"+vs.VariantName] = strconv.FormatFloat(vs.CurrentWeight, 'g', 4, 64)
		out["instances:"+vs.VariantName] = strconv.Itoa(vs.CurrentInstanceCount) + " / " + strconv.Itoa(vs.DesiredInstanceCount)
	}
	// The window's totals, when the principal may read the metrics (the charts are the page's).
	q, qerr := ParseEndpointQuery(r.URL.Query())
	var ms []variantMinutes
	if qerr == nil {
		ms, qerr = c.endpointMetrics(r, s, d.Endpoint, q.Minutes)
	}
	if qerr == nil {
		for _, vc := range endpointCharts(ms) {
			out["invocations:"+vc.Variant] = strconv.FormatInt(vc.Invocations, 10)
			out["4xx:"+vc.Variant] = strconv.FormatInt(vc.Errors4xx, 10)
			out["5xx:"+vc.Variant] = strconv.FormatInt(vc.Errors5xx, 10)
			out["latency:"+vc.Variant] = funcs["dur"].(func(time.Duration) string)(vc.ModelAverage)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// endpointsLive is every endpoint's status, for the endpoints page's poller.
func (c *Console) endpointsLive(w http.ResponseWriter, r *http.Request, s *session) {
	var eps []serving.Endpoint
	err := c.call(r.Context(), r, s, "sagemaker", "ListEndpoints", func(ctx context.Context, call identity.Call) error {
		var err error
		eps, err = c.cfg.Serving.ListEndpoints(ctx, call, serving.Query{SortBy: "Name", Limit: 1000})
		return err
	})
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": c.problem(err)})
		return
	}
	out := map[string]string{}
	for _, e := range eps {
		out["status:"+e.Name] = string(e.Status)
	}
	writeJSON(w, http.StatusOK, out)
}
