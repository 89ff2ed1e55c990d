package console

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/serving"
)

// The "where" view: for each model package group, which version serves in which account.
//
// Which accounts it shows is bounded by what the signed-in principal may read, never more:
//   - the candidate accounts are those the principal may list (organizations:ListAccounts,
//     as the management account's principals may), or else its own account and the accounts
//     its account's deploy pipelines deploy into (the CloudFormation actions' roles, which it
//     reads with codepipeline:ListPipelineExecutions);
//   - the principal's own account is read as the principal; another account is read only
//     through a session of that account's OrganizationAccountAccessRole that the principal
//     assumes (sts:AssumeRole, decided by the role's trust policy, as "Switch role" is), and
//     is left out — not named, not counted — when the role cannot be assumed or its session
//     may not list the account's endpoints.
//
// Every read is the API's, as the principal or its role session, and is audited.

// WhereRole is the role the view assumes in another account to read its endpoints.
const WhereRole = "OrganizationAccountAccessRole"

// whereSessionDuration is how long a role session the view assumed lives; the view reuses it
// (for the same console session and role) until a minute before it ends.
const whereSessionDuration = 15 * time.Minute

type whereAccount struct {
	ID, Name string
	Stages   []string // the deploy pipelines' stages that deploy into it
	Via      string   // the assumed role, "" for the principal's own account
}

type whereExecution struct {
	Pipeline, ID, Stage string
	At                  time.Time
}

type whereCell struct {
	Endpoint, Variant string
	Version           int
	Status            serving.Status
	Weight            float64
	Execution         *whereExecution // the deploy pipeline execution whose stack made the endpoint
}

type whereRow struct {
	Group string // the group's name ("ACCOUNT/NAME" when it is not the principal's account's)
	Cells [][]whereCell
}

type whereData struct {
	Accounts []whereAccount
	Rows     []whereRow
	Problems []string // reads that failed in accounts the principal may read (their reasons)
}

// deployTarget is a CloudFormation deploy action of a deploy pipeline.
type deployTarget struct {
	Account, Stack, Pipeline, Stage, Action string
}

func (c *Console) wherePage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Which version is where", "deployments")
	d, err := c.where(r, s)
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "where", v)
		return
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "where", v)
}

func (c *Console) where(r *http.Request, s *session) (whereData, error) {
	var d whereData
	own := s.caller.Account
	// 1. The deploy pipelines of the principal's account and where they deploy.
	var pipelines []delivery.Pipeline
	if err := c.call(r.Context(), r, s, "codepipeline", "ListPipelines", func(ctx context.Context, call identity.Call) error {
		var err error
		pipelines, err = c.cfg.Delivery.ListPipelines(ctx, call)
		return err
	}); err != nil && !errs.Is(err, errs.AccessDenied) {
		return d, err
	}
	var targets []deployTarget
	// latest: the newest succeeded execution of each deploy action, by account and stack.
	latest := map[[2]string]*whereExecution{}
	stagesOf := map[string][]string{}
	for _, p := range pipelines {
		var execs []delivery.Execution
		if err := c.call(r.Context(), r, s, "codepipeline", "ListPipelineExecutions", func(ctx context.Context, call identity.Call) error {
			var err error
			execs, err = c.cfg.Delivery.ListPipelineExecutions(ctx, call, p.Name)
			return err
		}); err != nil {
			d.Problems = append(d.Problems, p.Name+": "+c.problem(err))
			continue
		}
		sort.Slice(execs, func(i, j int) bool { return execs[i].Seq > execs[j].Seq })
		for _, st := range p.Stages {
			for _, a := range st.Actions {
				if t, ok := targetOf(p.Name, st.Name, a); ok {
					targets = append(targets, t)
					stagesOf[t.Account] = appendNew(stagesOf[t.Account], p.Name+"/"+st.Name)
				}
			}
		}
		for _, x := range execs {
			declared := map[string][]delivery.Action{} // the execution's own declaration, by stage
			for _, st := range x.Pipeline.Stages {
				declared[st.Name] = st.Actions
			}
			for _, run := range x.Stages {
				for _, ar := range run.Actions {
					if ar.Status != delivery.ActionSucceeded {
						continue
					}
					for _, a := range declared[run.Name] {
						t, ok := targetOf(p.Name, run.Name, a)
						if !ok || a.Name != ar.Name {
							continue
						}
						k := [2]string{t.Account, t.Stack}
						if latest[k] == nil {
							latest[k] = &whereExecution{Pipeline: p.Name, ID: x.ID, Stage: run.Name, At: ar.UpdatedAt}
						}
					}
				}
			}
		}
	}
	// 2. The candidate accounts.
	names := map[string]string{}
	candidates := []string{own}
	var accounts []org.Account
	if err := c.call(r.Context(), r, s, "organizations", "ListAccounts", func(ctx context.Context, call identity.Call) error {
		var err error
		accounts, err = c.cfg.Org.ListAccounts(ctx, call, "")
		return err
	}); err == nil {
		for _, a := range accounts {
			names[a.ID] = a.Name
			candidates = appendNew(candidates, a.ID)
		}
	} else {
		for _, t := range targets {
			candidates = appendNew(candidates, t.Account)
		}
	}
	// 3. Each account the principal may read: its endpoints, their variants' model versions.
	groups := map[string]map[string][]whereCell{} // group → account → cells
	var ownErr error
	for _, acct := range candidates {
		caller, via := s.caller, ""
		if acct != own {
			var ok bool
			if caller, ok = c.assumeFor(r, s, acct); !ok {
				continue // not readable: not shown
			}
			via = caller.PrincipalARN
		}
		cells, err := c.whereEndpoints(r, caller, own, targets, latest)
		if err != nil {
			if acct != own && errs.Is(err, errs.AccessDenied) {
				continue
			}
			if acct == own {
				ownErr = err
			}
			d.Problems = append(d.Problems, acct+": "+c.problem(err))
		}
		d.Accounts = append(d.Accounts, whereAccount{ID: acct, Name: names[acct], Stages: stagesOf[acct], Via: via})
		for g, cs := range cells {
			if groups[g] == nil {
				groups[g] = map[string][]whereCell{}
			}
			groups[g][acct] = append(groups[g][acct], cs...)
		}
	}
	if ownErr != nil && len(d.Accounts) == 1 {
		return d, ownErr // nothing the principal may read: the refusal, not an empty table
	}
	sort.SliceStable(d.Accounts, func(i, j int) bool {
		if (d.Accounts[i].ID == own) != (d.Accounts[j].ID == own) {
			return d.Accounts[i].ID == own
		}
		return d.Accounts[i].Name+d.Accounts[i].ID < d.Accounts[j].Name+d.Accounts[j].ID
	})
	var gnames []string
	for g := range groups {
		gnames = append(gnames, g)
	}
	sort.Strings(gnames)
	for _, g := range gnames {
		row := whereRow{Group: g}
		for _, a := range d.Accounts {
			row.Cells = append(row.Cells, groups[g][a.ID])
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// targetOf is a CloudFormation deploy action's account (its role's) and stack.
func targetOf(pipeline, stage string, a delivery.Action) (deployTarget, bool) {
	if a.Provider != "CloudFormation" || a.Configuration["StackName"] == "" {
		return deployTarget{}, false
	}
	role, err := arn.Parse(a.RoleARN)
	if err != nil || role.Account == "" {
		return deployTarget{}, false
	}
	return deployTarget{Account: role.Account, Stack: a.Configuration["StackName"], Pipeline: pipeline, Stage: stage, Action: a.Name}, true
}

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// forgetAssumed drops the role sessions a console session's "where" views assumed (at sign-out).
func (c *Console) forgetAssumed(s *session) {
	c.assumed.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), s.hash+" ") {
			c.assumed.Delete(k)
		}
		return true
	})
}

type assumedKey struct {
	id      string
	expires time.Time
}

// assumeFor returns a session of the account's WhereRole for the principal, assuming the
// role (as the principal) unless the console session holds one that lives on; ok is false
// when the principal may not assume it.
func (c *Console) assumeFor(r *http.Request, s *session, account string) (identity.Caller, bool) {
	roleARN := "arn:aws:iam::" + account + ":role/" + WhereRole
	k := s.hash + " " + s.caller.ARN + " " + roleARN
	if v, ok := c.assumed.Load(k); ok {
		if a := v.(assumedKey); c.now().Add(time.Minute).Before(a.expires) {
			if key, err := c.cfg.Identity.LookupAccessKey(r.Context(), a.id); err == nil {
				caller := key.Caller
				caller.SourceIP = sourceIP(r)
				return caller, true
			}
		}
		c.assumed.Delete(k)
	}
	name := "console-where-" + strings.NewReplacer("/", "-", ":", "-").Replace(s.caller.Name)
	if len(name) > 64 {
		name = name[:64]
	}
	var sess identity.Session
	err := c.call(r.Context(), r, s, "sts", "AssumeRole", func(ctx context.Context, call identity.Call) error {
		var err error
		sess, err = c.cfg.Identity.AssumeRole(ctx, call, roleARN, name, identity.AssumeOptions{Duration: whereSessionDuration})
		return err
	})
	if err != nil {
		return identity.Caller{}, false
	}
	key, err := c.cfg.Identity.LookupAccessKey(r.Context(), sess.ID)
	if err != nil {
		return identity.Caller{}, false
	}
	c.assumed.Store(k, assumedKey{id: sess.ID, expires: sess.ExpiresAt})
	caller := key.Caller
	caller.SourceIP = sourceIP(r)
	return caller, true
}

// whereEndpoints reads an account's endpoints as caller and returns, by model package group,
// the variants serving a version of it.
func (c *Console) whereEndpoints(r *http.Request, caller identity.Caller, own string, targets []deployTarget, latest map[[2]string]*whereExecution) (map[string][]whereCell, error) {
	ctx := r.Context()
	var eps []serving.Endpoint
	if err := c.callAs(ctx, r, caller, "sagemaker", "ListEndpoints", func(ctx context.Context, call identity.Call) error {
		var err error
		eps, err = c.cfg.Serving.ListEndpoints(ctx, call, serving.Query{SortBy: "Name", Limit: 1000})
		return err
	}); err != nil {
		return nil, err
	}
	// The endpoints the deploy pipelines' stacks in this account made, and their executions.
	made := map[string]*whereExecution{}
	for _, t := range targets {
		if t.Account != caller.Account || latest[[2]string{t.Account, t.Stack}] == nil || c.cfg.Stacks == nil {
			continue
		}
		_ = c.callAs(ctx, r, caller, "cloudformation", "DescribeStacks", func(ctx context.Context, call identity.Call) error {
			sts, err := c.cfg.Stacks.DescribeStacks(ctx, call, t.Stack)
			for _, st := range sts {
				for _, res := range st.Resources {
					if res != nil && res.Type == "AWS::SageMaker::Endpoint" && res.PhysicalID != "" {
						name := res.PhysicalID[strings.LastIndexByte(res.PhysicalID, '/')+1:]
						made[strings.ToLower(name)] = latest[[2]string{t.Account, t.Stack}]
					}
				}
			}
			return err
		})
	}
	out := map[string][]whereCell{}
	models := map[string]string{} // model name → model package ARN
	for _, e := range eps {
		var cfg serving.Config
		if err := c.callAs(ctx, r, caller, "sagemaker", "DescribeEndpointConfig", func(ctx context.Context, call identity.Call) error {
			var err error
			cfg, err = c.cfg.Serving.DescribeConfig(ctx, call, e.ConfigName)
			return err
		}); err != nil {
			continue
		}
		weights := map[string]float64{}
		for _, vs := range e.Variants {
			weights[vs.VariantName] = vs.CurrentWeight
		}
		for _, v := range cfg.Variants {
			pkg, seen := models[v.ModelName]
			if !seen {
				_ = c.callAs(ctx, r, caller, "sagemaker", "DescribeModel", func(ctx context.Context, call identity.Call) error {
					m, err := c.cfg.Serving.DescribeModel(ctx, call, v.ModelName)
					if err == nil {
						if m.Primary != nil {
							pkg = m.Primary.ModelPackageName
						} else if len(m.Containers) > 0 {
							pkg = m.Containers[0].ModelPackageName
						}
					}
					return err
				})
				models[v.ModelName] = pkg
			}
			group, version, ok := packageVersion(pkg)
			if !ok {
				continue
			}
			if a, err := arn.Parse(pkg); err == nil && a.Account != own {
				group = a.Account + "/" + group
			}
			out[group] = append(out[group], whereCell{Endpoint: e.Name, Variant: v.VariantName, Version: version, Status: e.Status,
				Weight: weights[v.VariantName], Execution: made[strings.ToLower(e.Name)]})
		}
	}
	return out, nil
}

// packageVersion reads a versioned model package's ARN (…:model-package/GROUP/VERSION).
func packageVersion(pkg string) (group string, version int, ok bool) {
	a, err := arn.Parse(pkg)
	if err != nil || a.Service != "sagemaker" {
		return "", 0, false
	}
	rest, found := strings.CutPrefix(a.Resource, "model-package/")
	if !found {
		return "", 0, false
	}
	group, v, found := strings.Cut(rest, "/")
	n, err := strconv.Atoi(v)
	if !found || group == "" || err != nil || n < 1 {
		return "", 0, false
	}
	return group, n, true
}
