package registry

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// The event the registry emits.
const (
	EventSource     = "aws.sagemaker"
	EventDetailType = "SageMaker Model Package State Change"
)

// Service is the registry's business logic.
type Service struct {
	store  Store
	authz  Authorizer
	region string
	now    func() time.Time
	hooks  hooks
}

// hooks let tests stop a call at a point of interest (nil in production).
type hooks struct {
	// inCreate runs inside CreatePackage's transaction once the store found no package with the
	// call's ClientToken and allocated a version: the window in which a second call with the
	// same token races the first.
	inCreate func(token string, version int)
}

// NewService returns a Service whose ARNs name region.
func NewService(st Store, authz Authorizer, region string, now func() time.Time) *Service {
	return &Service{store: st, authz: authz, region: region, now: now}
}

// Call is who asks, and the request facts authorization needs.
type Call struct {
	Caller  identity.Caller
	Context identity.RequestContext
}

var (
	groupNameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)
	versionRE   = regexp.MustCompile(`^[0-9]{1,9}$`)
)

// GroupARN returns the ARN of a group.
func (s *Service) GroupARN(account, name string) string {
	return s.arn(account, "model-package-group/"+name)
}

// PackageARN returns the ARN of a package version.
func (s *Service) PackageARN(account, group string, version int) string {
	return s.arn(account, "model-package/"+group+"/"+strconv.Itoa(version))
}

// packagesARN returns the pattern that names every version of a group, the resource of
// CreateModelPackage and ListModelPackages.
func (s *Service) packagesARN(account, group string) string {
	return s.arn(account, "model-package/"+group+"/*")
}

func (s *Service) arn(account, resource string) string {
	return arn.ARN{Partition: "aws", Service: "sagemaker", Region: s.region, Account: account, Resource: resource}.String()
}

// inRegion refuses an ARN of another region: the resource it names cannot be here, and acting
// on it would write rows (tags) no call of this region can reach again.
func (s *Service) inRegion(region, name string) error {
	if region != s.region {
		return errs.E(errs.Invalid, "%s names region %s; this endpoint serves %s", name, region, s.region).WithCode("ValidationException")
	}
	return nil
}

// ref is what the ARN of a group or of a package version names.
type ref struct {
	region, account, group string
	version                int // 0 for a group
}

// parseRef reads the ARN of a group (…:model-package-group/GROUP) or of a package version
// (…:model-package/GROUP/VERSION, VERSION ≥ 1); ok is false for anything else.
func parseRef(s string) (r ref, ok bool) {
	a, err := arn.Parse(s)
	if err != nil || !strings.HasPrefix(a.Partition, "aws") || a.Service != "sagemaker" || a.Region == "" || !arn.ValidAccountID(a.Account) {
		return ref{}, false
	}
	r = ref{region: a.Region, account: a.Account}
	if name, found := strings.CutPrefix(a.Resource, "model-package-group/"); found {
		r.group = name
	} else if rest, found := strings.CutPrefix(a.Resource, "model-package/"); found {
		name, version, _ := strings.Cut(rest, "/")
		if !versionRE.MatchString(version) {
			return ref{}, false
		}
		r.group, r.version = name, atoi(version)
		if r.version < 1 {
			return ref{}, false
		}
	} else {
		return ref{}, false
	}
	return r, groupNameRE.MatchString(r.group)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// groupRef resolves a group name (in the caller's account) or ARN (in any account).
func (s *Service) groupRef(c Call, nameOrARN string) (account, name string, err error) {
	if r, ok := parseRef(nameOrARN); ok && r.version == 0 {
		if err := s.inRegion(r.region, nameOrARN); err != nil {
			return "", "", err
		}
		return r.account, r.group, nil
	}
	if groupNameRE.MatchString(nameOrARN) {
		return c.Caller.Account, nameOrARN, nil
	}
	return "", "", errs.E(errs.Invalid, "%q is neither a model package group name nor a model package group ARN", nameOrARN).WithCode("ValidationException")
}

// packageRef resolves a package ARN.
func (s *Service) packageRef(nameOrARN string) (account, group string, version int, err error) {
	r, ok := parseRef(nameOrARN)
	if !ok || r.version == 0 {
		if groupNameRE.MatchString(nameOrARN) {
			return "", "", 0, errs.E(errs.Invalid, "unversioned model packages are not supported; name a versioned model package by its ARN (arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION)").WithCode("ValidationException")
		}
		return "", "", 0, errs.E(errs.Invalid, "%q is not a model package ARN", nameOrARN).WithCode("ValidationException")
	}
	if err := s.inRegion(r.region, nameOrARN); err != nil {
		return "", "", 0, err
	}
	return r.account, r.group, r.version, nil
}

// target is one resource an operation touches: its ARN (or ARN pattern) and the ARN of the
// resource whose tags are its aws:ResourceTag/* keys ("" when there are none yet: a missing
// resource, or one being created). For a pattern of a group's packages that is the group.
type target struct {
	resource string
	tagsOf   string
}

// on is a target that carries its own tags.
func on(resource string) target { return target{resource: resource, tagsOf: resource} }

// groupTargets returns the resources an action on a group's behalf is decided on, with the
// group's tags when it exists: the group itself, or for the calls on its versions as a whole the
// pattern of its packages (AWS's resource for CreateModelPackage; ListModelPackages may be
// granted on either). The declarations in sagemakerapi.Operations say the same.
func (s *Service) groupTargets(action, account, name string, exists bool) []target {
	group := target{resource: s.GroupARN(account, name)}
	if exists {
		group.tagsOf = group.resource // a new version has no tags: the group's apply
	}
	packages := target{resource: s.packagesARN(account, name), tagsOf: group.tagsOf}
	switch action {
	case "CreateModelPackage":
		return []target{packages}
	case "ListModelPackages":
		return []target{packages, group}
	}
	return []target{group}
}

// authorize checks action on one resource in account; for another account's resource the
// group's policy must allow it too.
func (s *Service) authorize(ctx context.Context, c Call, action string, t target, account, groupPolicy string) error {
	return s.authorizeAny(ctx, c, action, []target{t}, account, groupPolicy)
}

// authorizeAny decides once over every resource an operation touches, any of which may grant
// it: an explicit Deny on any of them denies, whatever the others allow; otherwise one Allow
// suffices. (A denial is never retried on another resource without knowing it was implicit.)
func (s *Service) authorizeAny(ctx context.Context, c Call, action string, ts []target, account, groupPolicy string) error {
	var firstDenial error
	allowed := false
	for _, t := range ts {
		rc, err := s.withResourceTags(ctx, c.Context, t.tagsOf)
		if err != nil {
			return err
		}
		_, err = s.authz.Authorize(ctx, c.Caller, identity.Action{
			Name: "sagemaker:" + action, Resource: t.resource, ResourceAccount: account,
			ResourcePolicy: groupPolicy, Context: rc,
		})
		switch {
		case err == nil:
			allowed = true
		case !errs.Is(err, errs.AccessDenied) || identity.ExplicitlyDenied(err):
			return err
		case firstDenial == nil:
			firstDenial = err
		}
	}
	if allowed {
		return nil
	}
	return firstDenial
}

// withResourceTags returns rc with the aws:ResourceTag/* keys of a resource's tags. The tags go
// in as stored: SageMaker tag keys are case-sensitive, so "frozen" and "FROZEN" are two keys,
// and the evaluator, matching condition keys without regard to case, sees both.
func (s *Service) withResourceTags(ctx context.Context, rc identity.RequestContext, tagsOf string) (identity.RequestContext, error) {
	if tagsOf == "" {
		return rc, nil
	}
	tags, err := s.store.ListTags(ctx, tagsOf)
	if err != nil || len(tags) == 0 {
		return rc, err
	}
	keys := make(map[string][]string, len(rc.Keys)+len(tags))
	for k, v := range rc.Keys {
		keys[k] = v
	}
	for k, v := range tags {
		keys["aws:ResourceTag/"+k] = []string{v}
	}
	rc.Keys = keys
	return rc, nil
}

// withRequestTags returns c with the aws:RequestTag/* and aws:TagKeys condition keys of a
// request that sets tags.
func withRequestTags(c Call, tags map[string]string) Call {
	if len(tags) == 0 {
		return c
	}
	keys := cloneKeys(c.Context.Keys, len(tags)+1)
	var names []string
	for k, v := range tags {
		keys["aws:RequestTag/"+k] = []string{v}
		names = append(names, k)
	}
	sort.Strings(names)
	keys["aws:TagKeys"] = names
	c.Context.Keys = keys
	return c
}

// withApprovalStatus returns c with the sagemaker:ModelApprovalStatus condition key: the status a
// request registers a package with or moves it to. A policy can so restrict which status a
// principal may set (e.g. register only PendingManualApproval, leaving approval to others).
func withApprovalStatus(c Call, status ApprovalStatus) Call {
	if status == "" {
		return c
	}
	keys := cloneKeys(c.Context.Keys, 1)
	keys["sagemaker:ModelApprovalStatus"] = []string{string(status)}
	c.Context.Keys = keys
	return c
}

func cloneKeys(m map[string][]string, extra int) map[string][]string {
	keys := make(map[string][]string, len(m)+extra)
	for k, v := range m {
		keys[k] = v
	}
	return keys
}

func groupMissing(name string) error {
	return errs.E(errs.NotFound, "Model Package Group %s does not exist.", name).WithCode("ValidationException")
}

func packageMissing(arn string) error {
	return errs.E(errs.NotFound, "Model Package %s does not exist.", arn).WithCode("ValidationException")
}

// loadGroup reads a group, hiding its existence from a caller of another account who may not
// see it (AccessDenied, as AWS answers).
func (s *Service) loadGroup(ctx context.Context, c Call, action, account, name string) (Group, error) {
	g, err := s.store.GetGroup(ctx, account, name)
	if errs.Is(err, errs.NotFound) {
		// Say that it does not exist only to a caller who may act on it: the others learn
		// nothing (in another account, no policy can allow them, so they are always denied).
		if err := s.authorizeAny(ctx, c, action, s.groupTargets(action, account, name, false), account, ""); err != nil {
			return Group{}, err
		}
		return Group{}, groupMissing(name)
	}
	return g, err
}

func (s *Service) userContext(c Call) UserContext {
	return UserContext{IamIdentity: &Identity{Arn: c.Caller.ARN, PrincipalId: c.Caller.UserID}}
}

// CreateGroup creates a model package group in the caller's account.
func (s *Service) CreateGroup(ctx context.Context, c Call, name, description string, tags map[string]string) (Group, error) {
	if !groupNameRE.MatchString(name) {
		return Group{}, errs.E(errs.Invalid, "model package group name %q must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name).WithCode("ValidationException")
	}
	if len(tags) > MaxTags {
		return Group{}, tooManyTags(name, len(tags))
	}
	g := Group{
		Account: c.Caller.Account, Name: name, ARN: s.GroupARN(c.Caller.Account, name), Description: description,
		Status: "Completed", CreatedAt: s.now(), CreatedBy: s.userContext(c),
	}
	if err := s.authorize(ctx, withRequestTags(c, tags), "CreateModelPackageGroup", target{resource: g.ARN}, g.Account, ""); err != nil {
		return Group{}, err
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		if len(tags) > 0 {
			return tx.AddTags(ctx, g.ARN, tags)
		}
		return nil
	})
	if errs.Is(err, errs.Conflict) {
		return Group{}, errs.E(errs.Conflict, "Model Package Group already exists: %s", g.ARN).WithCode("ValidationException")
	}
	if err != nil {
		return Group{}, err
	}
	return g, nil
}

// DescribeGroup returns a group, by name or by ARN (possibly in another account).
func (s *Service) DescribeGroup(ctx context.Context, c Call, nameOrARN string) (Group, error) {
	account, name, err := s.groupRef(c, nameOrARN)
	if err != nil {
		return Group{}, err
	}
	g, err := s.loadGroup(ctx, c, "DescribeModelPackageGroup", account, name)
	if err != nil {
		return Group{}, err
	}
	if err := s.authorize(ctx, c, "DescribeModelPackageGroup", on(g.ARN), g.Account, g.Policy); err != nil {
		return Group{}, err
	}
	return g, nil
}

// ListGroups lists the caller's groups.
func (s *Service) ListGroups(ctx context.Context, c Call, q GroupQuery) ([]Group, error) {
	if err := s.authorize(ctx, c, "ListModelPackageGroups", target{resource: "*"}, c.Caller.Account, ""); err != nil {
		return nil, err
	}
	return s.store.ListGroups(ctx, c.Caller.Account, q)
}

// DeleteGroup deletes an empty group of the caller's account.
func (s *Service) DeleteGroup(ctx context.Context, c Call, name string) error {
	account, name, err := s.groupRef(c, name)
	if err != nil {
		return err
	}
	g, err := s.loadGroup(ctx, c, "DeleteModelPackageGroup", account, name)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "DeleteModelPackageGroup", on(g.ARN), g.Account, g.Policy); err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.DeleteGroup(ctx, account, name); err != nil {
			return err
		}
		return tx.DeleteTags(ctx, g.ARN, nil)
	})
	if errs.Is(err, errs.Conflict) {
		return errs.E(errs.Conflict, "Model Package Group %s still holds model packages; delete them first.", name).WithCode("ConflictException")
	}
	return err
}

// PutGroupPolicy sets a group's resource policy after checking it parses as one.
func (s *Service) PutGroupPolicy(ctx context.Context, c Call, name, policy string) error {
	g, err := s.ownGroup(ctx, c, "PutModelPackageGroupPolicy", name)
	if err != nil {
		return err
	}
	if err := identity.CheckPolicy("resource", policy); err != nil {
		// SageMaker's model has no MalformedPolicyDocument; it answers ValidationException.
		return errs.E(errs.Invalid, "the resource policy is not valid: %s", errs.Message(err)).WithCode("ValidationException")
	}
	return s.setGroupPolicy(ctx, g, policy)
}

// GroupPolicy returns a group's resource policy.
func (s *Service) GroupPolicy(ctx context.Context, c Call, name string) (string, error) {
	g, err := s.ownGroup(ctx, c, "GetModelPackageGroupPolicy", name)
	if err != nil {
		return "", err
	}
	if g.Policy == "" {
		return "", errs.E(errs.NotFound, "Cannot find resource policy for Model Package Group %s.", g.Name).WithCode("ValidationException")
	}
	return g.Policy, nil
}

// DeleteGroupPolicy removes a group's resource policy.
func (s *Service) DeleteGroupPolicy(ctx context.Context, c Call, name string) error {
	g, err := s.ownGroup(ctx, c, "DeleteModelPackageGroupPolicy", name)
	if err != nil {
		return err
	}
	if g.Policy == "" {
		return errs.E(errs.NotFound, "Cannot find resource policy for Model Package Group %s.", g.Name).WithCode("ValidationException")
	}
	return s.setGroupPolicy(ctx, g, "")
}

func (s *Service) setGroupPolicy(ctx context.Context, g Group, policy string) error {
	return s.store.Update(ctx, func(tx Tx) error { return tx.SetGroupPolicy(ctx, g.Account, g.Name, policy) })
}

func (s *Service) ownGroup(ctx context.Context, c Call, action, nameOrARN string) (Group, error) {
	account, name, err := s.groupRef(c, nameOrARN)
	if err != nil {
		return Group{}, err
	}
	g, err := s.loadGroup(ctx, c, action, account, name)
	if err != nil {
		return Group{}, err
	}
	if err := s.authorize(ctx, c, action, on(g.ARN), g.Account, g.Policy); err != nil {
		return Group{}, err
	}
	return g, nil
}

// CreateInput is what CreateModelPackage accepts.
type CreateInput struct {
	Group          string // name or ARN
	Description    string
	ApprovalStatus ApprovalStatus // "" means PendingManualApproval
	ClientToken    string
	Details        map[string]json.RawMessage
	Tags           map[string]string
}

// CreatePackage registers the next version of a model in a group.
func (s *Service) CreatePackage(ctx context.Context, c Call, in CreateInput) (Package, error) {
	if in.Group == "" {
		return Package{}, errs.E(errs.Invalid, "ModelPackageGroupName is required: unversioned model packages are not supported").WithCode("ValidationException")
	}
	status := in.ApprovalStatus
	if status == "" {
		status = Pending
	}
	if !status.Valid() {
		return Package{}, errs.E(errs.Invalid, "ModelApprovalStatus %q must be one of Approved, Rejected, PendingManualApproval", status).WithCode("ValidationException")
	}
	if len(in.Tags) > MaxTags {
		return Package{}, tooManyTags("the model package", len(in.Tags))
	}
	account, name, err := s.groupRef(c, in.Group)
	if err != nil {
		return Package{}, err
	}
	c = withApprovalStatus(c, status)
	g, err := s.loadGroup(ctx, c, "CreateModelPackage", account, name)
	if err != nil {
		return Package{}, err
	}
	ts := s.groupTargets("CreateModelPackage", g.Account, g.Name, true)
	if err := s.authorizeAny(ctx, withRequestTags(c, in.Tags), "CreateModelPackage", ts, g.Account, g.Policy); err != nil {
		return Package{}, err
	}
	now := s.now()
	var p Package
	err = s.store.Update(ctx, func(tx Tx) error {
		if in.ClientToken != "" {
			// A retry of a request that committed returns what it made, and writes nothing.
			prev, err := tx.PackageByClientToken(ctx, g.Account, g.Name, in.ClientToken)
			if err == nil {
				p = prev
				return nil
			}
			if !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		version, err := tx.NextVersion(ctx, g.Account, g.Name)
		if err != nil {
			return err
		}
		if s.hooks.inCreate != nil {
			s.hooks.inCreate(in.ClientToken, version)
		}
		p = Package{
			Account: g.Account, GroupName: g.Name, Version: version, ARN: s.PackageARN(g.Account, g.Name, version),
			Description: in.Description, Status: "Completed", ApprovalStatus: status, ClientToken: in.ClientToken,
			CreatedAt: now, CreatedBy: s.userContext(c), ModifiedAt: now, Details: in.Details,
			History: []ApprovalChange{{Status: status, By: c.Caller.ARN, At: now}},
		}
		if err := tx.InsertPackage(ctx, p); err != nil {
			return err
		}
		// The tags commit with the package: a retry that finds the package finds its tags.
		if len(in.Tags) > 0 {
			if err := tx.AddTags(ctx, p.ARN, in.Tags); err != nil {
				return err
			}
		}
		ev, err := s.event(p)
		if err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		return Package{}, err
	}
	return p, nil
}

// event builds the state-change event of a package, its detail shaped as SageMaker sends it.
func (s *Service) event(p Package) (events.Event, error) {
	detail := map[string]any{
		"ModelPackageGroupName": p.GroupName,
		"ModelPackageVersion":   p.Version,
		"ModelPackageArn":       p.ARN,
		"ModelPackageName":      p.GroupName,
		"ModelPackageStatus":    p.Status,
		"ModelApprovalStatus":   p.ApprovalStatus,
		"CreationTime":          p.CreatedAt.UnixMilli(),
		"LastModifiedTime":      p.ModifiedAt.UnixMilli(),
		"CreatedBy":             p.CreatedBy,
	}
	if p.Description != "" {
		detail["ModelPackageDescription"] = p.Description
	}
	if p.ApprovalDescription != "" {
		detail["ApprovalDescription"] = p.ApprovalDescription
	}
	if p.ModifiedBy != nil {
		detail["LastModifiedBy"] = p.ModifiedBy
	}
	for k, v := range p.Details {
		detail[k] = v
	}
	body, err := json.Marshal(detail)
	if err != nil {
		return events.Event{}, errs.E(errs.Internal, "cannot encode the event", err)
	}
	return events.Event{
		ID: randid.UUID(), Account: p.Account, Region: s.region, Source: EventSource, DetailType: EventDetailType,
		Time: p.ModifiedAt, Resources: []string{p.ARN}, Detail: body,
	}, nil
}

// loadPackage resolves and reads a package and its group for action.
func (s *Service) loadPackage(ctx context.Context, c Call, action, arn string) (Group, Package, error) {
	account, group, version, err := s.packageRef(arn)
	if err != nil {
		return Group{}, Package{}, err
	}
	g, err := s.store.GetGroup(ctx, account, group)
	if errs.Is(err, errs.NotFound) {
		if err := s.authorize(ctx, c, action, target{resource: s.PackageARN(account, group, version)}, account, ""); err != nil {
			return Group{}, Package{}, err
		}
		return Group{}, Package{}, packageMissing(arn)
	}
	if err != nil {
		return Group{}, Package{}, err
	}
	if err := s.authorize(ctx, c, action, on(s.PackageARN(account, group, version)), account, g.Policy); err != nil {
		return Group{}, Package{}, err
	}
	p, err := s.store.GetPackage(ctx, account, group, version)
	if errs.Is(err, errs.NotFound) {
		return Group{}, Package{}, packageMissing(arn)
	}
	return g, p, err
}

// DescribePackage returns a package by ARN, in the caller's or another account.
func (s *Service) DescribePackage(ctx context.Context, c Call, arn string) (Package, error) {
	_, p, err := s.loadPackage(ctx, c, "DescribeModelPackage", arn)
	return p, err
}

// ListPackages lists the packages of a group (name or ARN) or, without a group, of the caller's
// account.
func (s *Service) ListPackages(ctx context.Context, c Call, q PackageQuery) ([]Package, error) {
	account := c.Caller.Account
	if q.GroupName != "" {
		a, name, err := s.groupRef(c, q.GroupName)
		if err != nil {
			return nil, err
		}
		g, err := s.loadGroup(ctx, c, "ListModelPackages", a, name)
		if err != nil {
			return nil, err
		}
		// Sharing policies grant ListModelPackages on the group's packages
		// (model-package/GROUP/*), as AWS's examples do; a grant on the group ARN works too.
		// Both are decided at once, with the group's tags: a Deny on either stands.
		ts := s.groupTargets("ListModelPackages", g.Account, g.Name, true)
		if err := s.authorizeAny(ctx, c, "ListModelPackages", ts, g.Account, g.Policy); err != nil {
			return nil, err
		}
		account, q.GroupName = g.Account, g.Name
	} else if err := s.authorize(ctx, c, "ListModelPackages", target{resource: "*"}, account, ""); err != nil {
		return nil, err
	}
	if q.ApprovalStatus != "" && !q.ApprovalStatus.Valid() {
		return nil, errs.E(errs.Invalid, "ModelApprovalStatus %q must be one of Approved, Rejected, PendingManualApproval", q.ApprovalStatus).WithCode("ValidationException")
	}
	return s.store.ListPackages(ctx, account, q)
}

// UpdateInput is what UpdateModelPackage changes.
type UpdateInput struct {
	ARN                        string
	ApprovalStatus             ApprovalStatus // "" keeps it
	ApprovalDescription        *string
	CustomerMetadataProperties map[string]string
	RemoveCustomerMetadata     []string
}

// UpdatePackage changes a package's approval status or metadata, recording who did it.
func (s *Service) UpdatePackage(ctx context.Context, c Call, in UpdateInput) (Package, error) {
	if in.ApprovalStatus != "" && !in.ApprovalStatus.Valid() {
		return Package{}, errs.E(errs.Invalid, "ModelApprovalStatus %q must be one of Approved, Rejected, PendingManualApproval", in.ApprovalStatus).WithCode("ValidationException")
	}
	account, group, version, err := s.packageRef(in.ARN)
	if err != nil {
		return Package{}, err
	}
	if _, _, err := s.loadPackage(ctx, withApprovalStatus(c, in.ApprovalStatus), "UpdateModelPackage", in.ARN); err != nil {
		return Package{}, err
	}
	var out Package
	err = s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.LockPackage(ctx, account, group, version)
		if err != nil {
			return err
		}
		if err := s.change(c, &p, in); err != nil {
			return err
		}
		if err := tx.UpdatePackage(ctx, p); err != nil {
			return err
		}
		ev, err := s.event(p)
		if err != nil {
			return err
		}
		out = p
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		return Package{}, err
	}
	return out, nil
}

// change applies an update to a package.
func (s *Service) change(c Call, p *Package, in UpdateInput) error {
	if in.ApprovalStatus != "" && !p.ApprovalStatus.CanMoveTo(in.ApprovalStatus) {
		return errs.E(errs.Invalid, "model package %s is %s; it cannot go back to %s", p.ARN, p.ApprovalStatus, in.ApprovalStatus).WithCode("ValidationException")
	}
	if in.ApprovalStatus != "" {
		p.ApprovalStatus = in.ApprovalStatus
	}
	if in.ApprovalDescription != nil {
		p.ApprovalDescription = *in.ApprovalDescription
	}
	if len(in.CustomerMetadataProperties) > 0 || len(in.RemoveCustomerMetadata) > 0 {
		props := map[string]string{}
		if raw, ok := p.Details["CustomerMetadataProperties"]; ok {
			if err := json.Unmarshal(raw, &props); err != nil {
				return errs.E(errs.Internal, "stored CustomerMetadataProperties do not decode", err)
			}
		}
		for k, v := range in.CustomerMetadataProperties {
			props[k] = v
		}
		for _, k := range in.RemoveCustomerMetadata {
			delete(props, k)
		}
		if p.Details == nil {
			p.Details = map[string]json.RawMessage{}
		}
		if len(props) == 0 {
			delete(p.Details, "CustomerMetadataProperties")
		} else {
			raw, _ := json.Marshal(props)
			p.Details["CustomerMetadataProperties"] = raw
		}
	}
	p.ModifiedAt = s.now()
	uc := s.userContext(c)
	p.ModifiedBy = &uc
	if in.ApprovalStatus != "" || in.ApprovalDescription != nil {
		p.History = append(p.History, ApprovalChange{Status: p.ApprovalStatus, Description: p.ApprovalDescription, By: c.Caller.ARN, At: p.ModifiedAt})
		if n := len(p.History); n > MaxHistory {
			p.History = append([]ApprovalChange(nil), p.History[n-MaxHistory:]...)
		}
	}
	return nil
}

// DeletePackage deletes a package version. Its number is never reused.
func (s *Service) DeletePackage(ctx context.Context, c Call, arn string) error {
	_, p, err := s.loadPackage(ctx, c, "DeleteModelPackage", arn)
	if err != nil {
		return err
	}
	p.Status = "Deleting"
	p.ModifiedAt = s.now()
	uc := s.userContext(c)
	p.ModifiedBy = &uc
	ev, err := s.event(p)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		if err := tx.DeletePackage(ctx, p.Account, p.GroupName, p.Version); err != nil {
			return err
		}
		if err := tx.DeleteTags(ctx, p.ARN, nil); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
}

// MaxTags is the most tags a group or package may carry, as in SageMaker.
const MaxTags = 50

// taggable authorizes action on the group or package an ARN names and reports whether it exists.
// Tags are reachable only through the owning account's identity policies: the group policy is
// not consulted, so another account is always denied, whether or not the resource exists.
func (s *Service) taggable(ctx context.Context, c Call, action, resource string) error {
	r, ok := parseRef(resource)
	if !ok {
		return errs.E(errs.Invalid, "%q is not the ARN of a model package group or model package", resource).WithCode("ValidationException")
	}
	// An ARN of another region names nothing here: refuse it, naming both regions, rather than
	// answer as if a resource of this region were missing (and never leave tags behind).
	if err := s.inRegion(r.region, resource); err != nil {
		return err
	}
	var exists error
	switch {
	case r.version == 0:
		_, exists = s.store.GetGroup(ctx, r.account, r.group)
	default:
		_, exists = s.store.GetPackage(ctx, r.account, r.group, r.version)
	}
	if err := s.authorize(ctx, c, action, on(resource), r.account, ""); err != nil {
		return err
	}
	if errs.Is(exists, errs.NotFound) {
		return errs.E(errs.NotFound, "Resource %s does not exist.", resource).WithCode("ResourceNotFound")
	}
	return exists
}

// AddTags adds or replaces tags on a group or package. A resource carries at most MaxTags tags.
func (s *Service) AddTags(ctx context.Context, c Call, resource string, tags map[string]string) (map[string]string, error) {
	if err := s.taggable(ctx, withRequestTags(c, tags), "AddTags", resource); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		have, err := tx.LockTags(ctx, resource)
		if err != nil {
			return err
		}
		if err := checkTagCount(resource, have, tags); err != nil {
			return err
		}
		return tx.AddTags(ctx, resource, tags)
	})
	if err != nil {
		return nil, err
	}
	return s.store.ListTags(ctx, resource)
}

// checkTagCount refuses tags that would take a resource holding have over MaxTags. Its caller
// read have with LockTags, so concurrent AddTags cannot each pass it and together exceed it.
func checkTagCount(resource string, have, tags map[string]string) error {
	n := len(have)
	for k := range tags {
		if _, ok := have[k]; !ok {
			n++
		}
	}
	if n > MaxTags {
		return tooManyTags(resource, n)
	}
	return nil
}

func tooManyTags(resource string, n int) error {
	return errs.E(errs.Invalid, "1 validation error detected: %s would carry %d tags; a resource may carry at most %d", resource, n, MaxTags).WithCode("ValidationException")
}

// Tag is a key and value.
type Tag struct{ Key, Value string }

// ListTags lists a resource's tags sorted by key, a page of at most limit from offset (limit 0:
// all), and whether more follow.
func (s *Service) ListTags(ctx context.Context, c Call, resource string, offset, limit int) ([]Tag, bool, error) {
	if err := s.taggable(ctx, c, "ListTags", resource); err != nil {
		return nil, false, err
	}
	m, err := s.store.ListTags(ctx, resource)
	if err != nil {
		return nil, false, err
	}
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	out = out[min(offset, len(out)):]
	if limit > 0 && len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// DeleteTags removes tags by key.
func (s *Service) DeleteTags(ctx context.Context, c Call, resource string, keys []string) error {
	if err := s.taggable(ctx, c, "DeleteTags", resource); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return s.store.Update(ctx, func(tx Tx) error { return tx.DeleteTags(ctx, resource, keys) })
}

// ValidGroupName reports whether name is a model package group's name (not an ARN).
func ValidGroupName(name string) bool { return groupNameRE.MatchString(name) }
