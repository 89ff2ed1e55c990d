package stacksets

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// Service is CloudFormation's stack sets API.
type Service struct {
	store  Store
	authz  Authorizer
	roles  Roles
	org    Org
	stacks Stacks
	region string
	now    func() time.Time
}

// Config of a Service.
type Config struct {
	Store  Store
	Authz  Authorizer
	Roles  Roles
	Org    Org
	Stacks Stacks
	Region string
	Now    func() time.Time
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{store: c.Store, authz: c.Authz, roles: c.Roles, org: c.Org, stacks: c.Stacks, region: c.Region, now: c.Now}
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationError")
}

func notFound(name string) error {
	return errs.E(errs.NotFound, "StackSet %s not found", name).WithCode("StackSetNotFoundException")
}

var nameRE = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]{0,127}$`)

// ARN is a stack set's ARN; id is its StackSetId (NAME:UUID).
func (s *Service) ARN(account, id string) string {
	name, uuid, _ := strings.Cut(id, ":")
	return arn.CloudFormationStackSet(s.region, account, name, uuid)
}

// ParseKey reads a work item key (a stack set ARN) back into its account.
func ParseKey(key string) (string, bool) {
	a, err := arn.Parse(key)
	if err != nil || a.Service != "cloudformation" || !strings.HasPrefix(a.Resource, "stackset/") {
		return "", false
	}
	return a.Account, true
}

func (s *Service) authorize(ctx context.Context, c identity.Call, op, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "cloudformation:" + op, Resource: resource, ResourceAccount: c.Caller.Account, Context: c.Context,
	})
	return err
}

// find loads the caller's stack set (by name or StackSetId) and authorizes op on it; a set
// that does not exist is authorized on stackset/NAME:* first, so a denied caller learns nothing.
func (s *Service) find(ctx context.Context, c identity.Call, op, nameOrID string) (StackSet, error) {
	if nameOrID == "" {
		return StackSet{}, invalid("StackSetName is required")
	}
	set, err := s.store.GetStackSet(ctx, c.Caller.Account, nameOrID)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			return StackSet{}, err
		}
		name, _, _ := strings.Cut(nameOrID, ":")
		if aerr := s.authorize(ctx, c, op, arn.CloudFormationStackSet(s.region, c.Caller.Account, name, "*")); aerr != nil {
			return StackSet{}, aerr
		}
		return StackSet{}, notFound(nameOrID)
	}
	if err := s.authorize(ctx, c, op, set.ARN); err != nil {
		return StackSet{}, err
	}
	return set, nil
}

func actor(c identity.Caller) identity.Caller {
	c.SessionToken, c.SourceIP = "", ""
	return c
}

// CreateInput is a CreateStackSet request.
type CreateInput struct {
	Name              string
	Description       string
	TemplateBody      string
	TemplateURL       string
	Parameters        []stacks.ParameterInput
	Capabilities      []string
	Tags              map[string]string
	PermissionModel   string
	AutoDeployment    *AutoDeployment
	AdminRoleARN      string
	ExecutionRoleName string
	CallAs            string
}

func checkCallAs(v string) error {
	if v != "" && v != "SELF" {
		return invalid("CallAs %s is not supported by this server: call from the management account (SELF)", v)
	}
	return nil
}

// checkTemplate validates the template as the caller would see it at CreateStack.
func (s *Service) checkTemplate(ctx context.Context, c identity.Call, body, url string) error {
	if url != "" {
		return invalid("TemplateURL is not supported by this server: pass the template as TemplateBody")
	}
	if body == "" {
		return invalid("Either Template URL or Template Body must be specified.")
	}
	_, err := s.stacks.ValidateTemplate(ctx, c, body, "")
	return err
}

// managementAccount returns the organization's management account.
func (s *Service) managementAccount(ctx context.Context) (string, error) {
	o, err := s.org.Organization(ctx)
	if err != nil {
		return "", err
	}
	return o.ManagementAccount, nil
}

func (s *Service) checkPermissions(ctx context.Context, c identity.Call, model, admin, exec string, auto *AutoDeployment) error {
	switch model {
	case ServiceManaged:
		if admin != "" || exec != "" {
			return invalid("AdministrationRoleARN and ExecutionRoleName are for SELF_MANAGED stack sets")
		}
		if auto == nil {
			return invalid("AutoDeployment must be given for a SERVICE_MANAGED stack set")
		}
		m, err := s.managementAccount(ctx)
		if err != nil {
			return err
		}
		if c.Caller.Account != m {
			return errs.E(errs.Invalid, "Only the organization's management account (%s) can create SERVICE_MANAGED stack sets", m).WithCode("ValidationError")
		}
	case SelfManaged:
		if auto != nil && auto.Enabled {
			return invalid("AutoDeployment is for SERVICE_MANAGED stack sets")
		}
		if admin == "" {
			return invalid("AdministrationRoleARN is required for a SELF_MANAGED stack set on this server")
		}
		if exec != "" && !regexp.MustCompile(`^[a-zA-Z_0-9+=,.@-]{1,64}$`).MatchString(exec) {
			return invalid("ExecutionRoleName %q is not a role name", exec)
		}
		if _, err := s.roles.PassRole(ctx, c, admin, stacks.ServicePrincipal); err != nil {
			return err
		}
	default:
		return invalid("PermissionModel must be SERVICE_MANAGED or SELF_MANAGED")
	}
	return nil
}

// CreateStackSet stores a stack set (with no instances).
func (s *Service) CreateStackSet(ctx context.Context, c identity.Call, in CreateInput) (StackSet, error) {
	if !nameRE.MatchString(in.Name) {
		return StackSet{}, invalid("1 validation error detected: Value '%s' at 'stackSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", in.Name)
	}
	if err := checkCallAs(in.CallAs); err != nil {
		return StackSet{}, err
	}
	if in.PermissionModel == "" {
		in.PermissionModel = SelfManaged
	}
	if in.PermissionModel == SelfManaged && in.ExecutionRoleName == "" {
		in.ExecutionRoleName = "AWSCloudFormationStackSetExecutionRole"
	}
	id := in.Name + ":" + randid.UUID()
	setARN := s.ARN(c.Caller.Account, id)
	if err := s.authorize(ctx, c, "CreateStackSet", setARN); err != nil {
		return StackSet{}, err
	}
	if err := s.checkPermissions(ctx, c, in.PermissionModel, in.AdminRoleARN, in.ExecutionRoleName, in.AutoDeployment); err != nil {
		return StackSet{}, err
	}
	body, err := s.stacks.TemplateBody(ctx, c, in.TemplateBody, in.TemplateURL)
	if err != nil {
		return StackSet{}, err
	}
	in.TemplateBody, in.TemplateURL = body, ""
	if err := s.checkTemplate(ctx, c, in.TemplateBody, ""); err != nil {
		return StackSet{}, err
	}
	now := s.now()
	set := StackSet{Account: c.Caller.Account, Region: s.region, Name: in.Name, ID: id, ARN: setARN, Status: "ACTIVE",
		Description: in.Description, Template: in.TemplateBody, Parameters: in.Parameters, Capabilities: in.Capabilities,
		Tags: in.Tags, PermissionModel: in.PermissionModel, AdminRoleARN: in.AdminRoleARN, ExecutionRoleName: in.ExecutionRoleName,
		Actor: actor(c.Caller), CreatedAt: now, UpdatedAt: now}
	if in.AutoDeployment != nil {
		set.AutoDeployment = *in.AutoDeployment
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertStackSet(ctx, set); err != nil {
			if errs.Is(err, errs.Conflict) {
				return errs.E(errs.Conflict, "StackSet %s already exists", in.Name).WithCode("NameAlreadyExistsException")
			}
			return err
		}
		return nil
	})
	return set, err
}

// DescribeStackSet returns a stack set.
func (s *Service) DescribeStackSet(ctx context.Context, c identity.Call, name, callAs string) (StackSet, error) {
	if err := checkCallAs(callAs); err != nil {
		return StackSet{}, err
	}
	return s.find(ctx, c, "DescribeStackSet", name)
}

// ListStackSets lists the account's stack sets (status filters ACTIVE or DELETED).
func (s *Service) ListStackSets(ctx context.Context, c identity.Call, status, callAs string) ([]StackSet, error) {
	if err := checkCallAs(callAs); err != nil {
		return nil, err
	}
	if status != "" && status != "ACTIVE" && status != "DELETED" {
		return nil, invalid("Status must be ACTIVE or DELETED")
	}
	if err := s.authorize(ctx, c, "ListStackSets", "*"); err != nil {
		return nil, err
	}
	all, err := s.store.ListStackSets(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	var out []StackSet
	for _, set := range all {
		if status == "" || set.Status == status {
			out = append(out, set)
		}
	}
	return out, nil
}

// DeleteStackSet deletes a stack set that has no instances.
func (s *Service) DeleteStackSet(ctx context.Context, c identity.Call, name, callAs string) error {
	if err := checkCallAs(callAs); err != nil {
		return err
	}
	cur, err := s.find(ctx, c, "DeleteStackSet", name)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		set, err := tx.LockStackSet(ctx, cur.ARN)
		if err != nil {
			return err
		}
		if set.Status == "DELETED" {
			return notFound(name)
		}
		if set.running() != nil {
			return errs.E(errs.Conflict, "Another Operation on StackSet %s is in progress", set.ID).WithCode("OperationInProgressException")
		}
		if len(set.Instances) > 0 {
			return errs.E(errs.Conflict, "StackSet %s is not empty: delete its %d stack instances first", set.ID, len(set.Instances)).WithCode("StackSetNotEmptyException")
		}
		set.Status, set.UpdatedAt = "DELETED", s.now()
		return tx.UpdateStackSet(ctx, set)
	})
}

// InstancesInput is a Create/Update/DeleteStackInstances request.
type InstancesInput struct {
	Name         string
	Targets      Targets
	Prefs        Preferences
	Overrides    []stacks.ParameterInput
	RetainStacks bool
	OperationID  string
	CallAs       string
}

func checkPrefs(p Preferences) error {
	if p.HasMaxCount && p.HasMaxPct {
		return invalid("Specify MaxConcurrentCount or MaxConcurrentPercentage, not both")
	}
	if p.HasTolCount && p.HasTolPct {
		return invalid("Specify FailureToleranceCount or FailureTolerancePercentage, not both")
	}
	if p.HasMaxCount && p.MaxConcurrentCount < 1 {
		return invalid("MaxConcurrentCount must be at least 1")
	}
	if p.HasMaxPct && (p.MaxConcurrentPercentage < 1 || p.MaxConcurrentPercentage > 100) {
		return invalid("MaxConcurrentPercentage must be between 1 and 100")
	}
	if p.HasTolCount && p.FailureToleranceCount < 0 {
		return invalid("FailureToleranceCount must be at least 0")
	}
	if p.HasTolPct && (p.FailureTolerancePercentage < 0 || p.FailureTolerancePercentage > 100) {
		return invalid("FailureTolerancePercentage must be between 0 and 100")
	}
	switch p.RegionConcurrencyType {
	case "", "SEQUENTIAL", "PARALLEL":
	default:
		return invalid("RegionConcurrencyType must be SEQUENTIAL or PARALLEL")
	}
	return nil
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)
var ouRE = regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)

// resolve turns an operation's targets into the (account, region, OU) triples it acts on.
func (s *Service) resolve(ctx context.Context, set StackSet, t Targets, action string) ([]Result, error) {
	if len(t.Regions) == 0 {
		return nil, invalid("Regions is required")
	}
	for _, r := range t.Regions {
		if r != s.region {
			return nil, invalid("Region %s is not served here: this server deploys to %s only", r, s.region)
		}
	}
	for _, a := range t.Accounts {
		if !accountRE.MatchString(a) {
			return nil, invalid("Account %q is not a 12-digit account id", a)
		}
	}
	type target struct{ account, ou string }
	var targets []target
	switch set.PermissionModel {
	case SelfManaged:
		if len(t.OrganizationalUnitIDs) > 0 {
			return nil, invalid("OrganizationalUnitIds are for SERVICE_MANAGED stack sets; a SELF_MANAGED set takes Accounts")
		}
		if len(t.Accounts) == 0 {
			return nil, invalid("Accounts is required")
		}
		for _, a := range t.Accounts {
			targets = append(targets, target{a, ""})
		}
	case ServiceManaged:
		if len(t.OrganizationalUnitIDs) == 0 {
			if action == ActionCreate {
				return nil, invalid("DeploymentTargets.OrganizationalUnitIds is required for a SERVICE_MANAGED stack set")
			}
		}
		filter := t.AccountFilterType
		switch filter {
		case "", "NONE":
			if len(t.Accounts) > 0 {
				return nil, invalid("Accounts given with AccountFilterType NONE: name INTERSECTION, DIFFERENCE or UNION")
			}
		case "INTERSECTION", "DIFFERENCE", "UNION":
			if len(t.Accounts) == 0 {
				return nil, invalid("AccountFilterType %s needs Accounts", filter)
			}
		default:
			return nil, invalid("AccountFilterType must be NONE, INTERSECTION, DIFFERENCE or UNION")
		}
		o, err := s.org.Organization(ctx)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, ou := range t.OrganizationalUnitIDs {
			if !ouRE.MatchString(ou) {
				return nil, invalid("OrganizationalUnitId %q is not an OU or root id", ou)
			}
			if ou != o.RootID {
				if _, err := s.org.Unit(ctx, ou); err != nil {
					if errs.Is(err, errs.NotFound) {
						return nil, invalid("OrganizationalUnitId %s does not exist in the organization", ou)
					}
					return nil, err
				}
			}
			accts, err := s.org.AccountsUnder(ctx, ou)
			if err != nil {
				return nil, err
			}
			for _, a := range accts {
				if a.ID == o.ManagementAccount || seen[a.ID] {
					continue // a SERVICE_MANAGED set never deploys to the management account
				}
				in := slices.Contains(t.Accounts, a.ID)
				if (filter == "INTERSECTION" && !in) || (filter == "DIFFERENCE" && in) {
					continue
				}
				seen[a.ID] = true
				targets = append(targets, target{a.ID, ou})
			}
		}
		if filter == "UNION" {
			for _, a := range t.Accounts {
				if !seen[a] && a != o.ManagementAccount {
					seen[a] = true
					targets = append(targets, target{a, ""})
				}
			}
		}
	}
	regions := t.Regions
	var out []Result
	for _, r := range regions {
		for _, tg := range targets {
			out = append(out, Result{Account: tg.account, Region: r, OU: tg.ou, Status: ResPending})
		}
	}
	return out, nil
}

// startOperation adds an operation to a set (under its lock) and enqueues it.
func (s *Service) startOperation(ctx context.Context, tx Tx, set *StackSet, op Operation) error {
	if set.running() != nil {
		return errs.E(errs.Conflict, "Another Operation on StackSet %s is in progress", set.ID).WithCode("OperationInProgressException")
	}
	for _, o := range set.Operations {
		if o.ID == op.ID {
			return errs.E(errs.Conflict, "Operation %s already exists", op.ID).WithCode("OperationIdAlreadyExistsException")
		}
	}
	op.Status, op.CreatedAt = OpQueued, s.now()
	set.Operations = append(set.Operations, op)
	set.UpdatedAt = op.CreatedAt
	if err := tx.UpdateStackSet(ctx, *set); err != nil {
		return err
	}
	return tx.Enqueue(ctx, WorkKind, set.ARN, op.CreatedAt)
}

func opID(given string) (string, error) {
	if given == "" {
		return randid.UUID(), nil
	}
	if !regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$`).MatchString(given) {
		return "", invalid("OperationId %q must match [a-zA-Z0-9][-a-zA-Z0-9]*", given)
	}
	return given, nil
}

// Instances starts a CREATE, UPDATE or DELETE operation on the instances in.Targets names.
func (s *Service) Instances(ctx context.Context, c identity.Call, action string, in InstancesInput) (string, error) {
	opName := map[string]string{ActionCreate: "CreateStackInstances", ActionUpdate: "UpdateStackInstances", ActionDelete: "DeleteStackInstances"}[action]
	if err := checkCallAs(in.CallAs); err != nil {
		return "", err
	}
	cur, err := s.find(ctx, c, opName, in.Name)
	if err != nil {
		return "", err
	}
	if cur.Status == "DELETED" {
		return "", notFound(in.Name)
	}
	if err := checkPrefs(in.Prefs); err != nil {
		return "", err
	}
	id, err := opID(in.OperationID)
	if err != nil {
		return "", err
	}
	results, err := s.resolve(ctx, cur, in.Targets, action)
	if err != nil {
		return "", err
	}
	if action != ActionCreate {
		// Update and Delete act only on instances that exist.
		var kept []Result
		for _, r := range results {
			if cur.instance(r.Account, r.Region) != nil {
				kept = append(kept, r)
			}
		}
		if action == ActionUpdate && len(kept) < len(results) {
			for _, r := range results {
				if cur.instance(r.Account, r.Region) == nil {
					return "", errs.E(errs.NotFound, "Stack instance in account %s and region %s does not exist", r.Account, r.Region).WithCode("StackInstanceNotFoundException")
				}
			}
		}
		results = kept
	}
	op := Operation{ID: id, Action: action, Prefs: in.Prefs, Targets: in.Targets, RetainStacks: in.RetainStacks, Results: results, Overrides: in.Overrides}
	err = s.store.Update(ctx, func(tx Tx) error {
		set, err := tx.LockStackSet(ctx, cur.ARN)
		if err != nil {
			return err
		}
		set.Actor = actor(c.Caller)
		if action == ActionCreate {
			for _, ou := range in.Targets.OrganizationalUnitIDs {
				if !slices.Contains(set.OUs, ou) {
					set.OUs = append(set.OUs, ou)
				}
			}
		}
		if action == ActionDelete {
			var keep []string
			for _, ou := range set.OUs {
				if !slices.Contains(in.Targets.OrganizationalUnitIDs, ou) {
					keep = append(keep, ou)
				}
			}
			set.OUs = keep
		}
		return s.startOperation(ctx, tx, &set, op)
	})
	return id, err
}

// UpdateInput is an UpdateStackSet request.
type UpdateInput struct {
	Name                string
	Description         *string
	TemplateBody        string
	TemplateURL         string
	UsePreviousTemplate bool
	Parameters          []stacks.ParameterInput
	Capabilities        []string
	Tags                map[string]string
	AutoDeployment      *AutoDeployment
	AdminRoleARN        string
	ExecutionRoleName   string
	PermissionModel     string
	Prefs               Preferences
	Targets             Targets
	OperationID         string
	CallAs              string
}

// UpdateStackSet changes a set's template or parameters and starts an UPDATE operation over
// its instances (those in.Targets names, or all).
func (s *Service) UpdateStackSet(ctx context.Context, c identity.Call, in UpdateInput) (string, error) {
	if err := checkCallAs(in.CallAs); err != nil {
		return "", err
	}
	cur, err := s.find(ctx, c, "UpdateStackSet", in.Name)
	if err != nil {
		return "", err
	}
	if cur.Status == "DELETED" {
		return "", notFound(in.Name)
	}
	if in.PermissionModel != "" && in.PermissionModel != cur.PermissionModel {
		return "", invalid("Changing a stack set's PermissionModel is not supported by this server")
	}
	if err := checkPrefs(in.Prefs); err != nil {
		return "", err
	}
	id, err := opID(in.OperationID)
	if err != nil {
		return "", err
	}
	if in.TemplateURL != "" && in.UsePreviousTemplate {
		return "", invalid("Specify exactly one of TemplateBody, TemplateURL and UsePreviousTemplate.")
	}
	if in.TemplateBody, err = s.stacks.TemplateBody(ctx, c, in.TemplateBody, in.TemplateURL); err != nil {
		return "", err
	}
	in.TemplateURL = ""
	if in.UsePreviousTemplate == (in.TemplateBody != "") {
		return "", invalid("Exactly one of TemplateBody and UsePreviousTemplate must be given")
	}
	body := in.TemplateBody
	if in.UsePreviousTemplate {
		body = cur.Template
	}
	if err := s.checkTemplate(ctx, c, body, in.TemplateURL); err != nil {
		return "", err
	}
	admin, exec := cur.AdminRoleARN, cur.ExecutionRoleName
	if in.AdminRoleARN != "" {
		admin = in.AdminRoleARN
	}
	if in.ExecutionRoleName != "" {
		exec = in.ExecutionRoleName
	}
	auto := &cur.AutoDeployment
	if in.AutoDeployment != nil {
		auto = in.AutoDeployment
	}
	if err := s.checkPermissions(ctx, c, cur.PermissionModel, admin, exec, auto); err != nil {
		return "", err
	}
	var results []Result
	if len(in.Targets.Regions) > 0 {
		if results, err = s.resolve(ctx, cur, in.Targets, ActionUpdate); err != nil {
			return "", err
		}
		var kept []Result
		for _, r := range results {
			if cur.instance(r.Account, r.Region) != nil {
				kept = append(kept, r)
			}
		}
		results = kept
	} else {
		for _, i := range cur.Instances {
			results = append(results, Result{Account: i.Account, Region: i.Region, OU: i.OU, Status: ResPending})
		}
	}
	params := mergeParams(in.Parameters, cur.Parameters)
	err = s.store.Update(ctx, func(tx Tx) error {
		set, err := tx.LockStackSet(ctx, cur.ARN)
		if err != nil {
			return err
		}
		if set.running() != nil {
			return errs.E(errs.Conflict, "Another Operation on StackSet %s is in progress", set.ID).WithCode("OperationInProgressException")
		}
		set.Template, set.Parameters, set.Capabilities = body, params, in.Capabilities
		if in.Description != nil {
			set.Description = *in.Description
		}
		if in.Tags != nil {
			set.Tags = in.Tags
		}
		set.AdminRoleARN, set.ExecutionRoleName, set.AutoDeployment = admin, exec, *auto
		set.Actor = actor(c.Caller)
		for i := range set.Instances {
			set.Instances[i].Status = "OUTDATED"
		}
		return s.startOperation(ctx, tx, &set, Operation{ID: id, Action: ActionUpdate, Prefs: in.Prefs, Targets: in.Targets, Results: results})
	})
	return id, err
}

// mergeParams resolves UsePreviousValue against the set's current parameters.
func mergeParams(given, prev []stacks.ParameterInput) []stacks.ParameterInput {
	if given == nil {
		return prev
	}
	out := make([]stacks.ParameterInput, 0, len(given))
	for _, p := range given {
		if p.UsePreviousValue {
			for _, q := range prev {
				if q.Key == p.Key {
					p = stacks.ParameterInput{Key: p.Key, Value: q.Value}
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// DescribeOperation returns one of a set's operations.
func (s *Service) DescribeOperation(ctx context.Context, c identity.Call, name, id, callAs, op string) (StackSet, Operation, error) {
	if err := checkCallAs(callAs); err != nil {
		return StackSet{}, Operation{}, err
	}
	set, err := s.find(ctx, c, op, name)
	if err != nil {
		return StackSet{}, Operation{}, err
	}
	if id == "" {
		return StackSet{}, Operation{}, invalid("OperationId is required")
	}
	o := set.operation(id)
	if o == nil {
		return StackSet{}, Operation{}, errs.E(errs.NotFound, "Operation %s not found", id).WithCode("OperationNotFoundException")
	}
	return set, *o, nil
}

// Operations lists a set's operations, newest first.
func (s *Service) Operations(ctx context.Context, c identity.Call, name, callAs string) ([]Operation, error) {
	if err := checkCallAs(callAs); err != nil {
		return nil, err
	}
	set, err := s.find(ctx, c, "ListStackSetOperations", name)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(set.Operations)
	slices.Reverse(out)
	return out, nil
}

// ListInstances lists a set's instances, optionally of one account and/or region.
func (s *Service) ListInstances(ctx context.Context, c identity.Call, name, account, region, callAs string) (StackSet, []Instance, error) {
	if err := checkCallAs(callAs); err != nil {
		return StackSet{}, nil, err
	}
	set, err := s.find(ctx, c, "ListStackInstances", name)
	if err != nil {
		return StackSet{}, nil, err
	}
	var out []Instance
	for _, i := range set.Instances {
		if (account == "" || i.Account == account) && (region == "" || i.Region == region) {
			out = append(out, i)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].Account+out[a].Region < out[b].Account+out[b].Region
	})
	return set, out, nil
}

// DescribeInstance returns one instance.
func (s *Service) DescribeInstance(ctx context.Context, c identity.Call, name, account, region, callAs string) (StackSet, Instance, error) {
	if err := checkCallAs(callAs); err != nil {
		return StackSet{}, Instance{}, err
	}
	if account == "" || region == "" {
		return StackSet{}, Instance{}, invalid("StackInstanceAccount and StackInstanceRegion are required")
	}
	set, err := s.find(ctx, c, "DescribeStackInstance", name)
	if err != nil {
		return StackSet{}, Instance{}, err
	}
	i := set.instance(account, region)
	if i == nil {
		return StackSet{}, Instance{}, errs.E(errs.NotFound, "Stack instance in account %s and region %s does not exist for stack set %s", account, region, name).WithCode("StackInstanceNotFoundException")
	}
	return set, *i, nil
}
