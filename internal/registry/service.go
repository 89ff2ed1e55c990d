package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
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
	groupARNRE  = regexp.MustCompile(`^arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]+):(\d{12}):model-package-group/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})$`)
	pkgARNRE    = regexp.MustCompile(`^arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]+):(\d{12}):model-package/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/(\d+)$`)
)

// GroupARN returns the ARN of a group.
func (s *Service) GroupARN(account, name string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:model-package-group/%s", s.region, account, name)
}

// PackageARN returns the ARN of a package version.
func (s *Service) PackageARN(account, group string, version int) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:model-package/%s/%d", s.region, account, group, version)
}

// groupRef resolves a group name (in the caller's account) or ARN (in any account).
func (s *Service) groupRef(c Call, nameOrARN string) (account, name string, err error) {
	if m := groupARNRE.FindStringSubmatch(nameOrARN); m != nil {
		return m[2], m[3], nil
	}
	if groupNameRE.MatchString(nameOrARN) {
		return c.Caller.Account, nameOrARN, nil
	}
	return "", "", errs.E(errs.Invalid, "%q is neither a model package group name nor a model package group ARN", nameOrARN).WithCode("ValidationException")
}

// packageRef resolves a package ARN.
func (s *Service) packageRef(nameOrARN string) (account, group string, version int, err error) {
	m := pkgARNRE.FindStringSubmatch(nameOrARN)
	if m == nil {
		if groupNameRE.MatchString(nameOrARN) {
			return "", "", 0, errs.E(errs.Invalid, "unversioned model packages are not supported; name a versioned model package by its ARN (arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION)").WithCode("ValidationException")
		}
		return "", "", 0, errs.E(errs.Invalid, "%q is not a model package ARN", nameOrARN).WithCode("ValidationException")
	}
	v, err := strconv.Atoi(m[4])
	if err != nil || v < 1 {
		return "", "", 0, errs.E(errs.Invalid, "%q has no valid version", nameOrARN).WithCode("ValidationException")
	}
	return m[2], m[3], v, nil
}

// authorize checks action on resource in account; for another account's resource the group's
// policy must allow it too. The resource's tags are the aws:ResourceTag/* condition keys.
func (s *Service) authorize(ctx context.Context, c Call, action, resource, account, groupPolicy string) error {
	rc := c.Context
	if !strings.ContainsAny(resource, "*?") {
		tags, err := s.store.ListTags(ctx, resource)
		if err != nil {
			return err
		}
		if len(tags) > 0 {
			keys := make(map[string][]string, len(rc.Keys)+len(tags))
			for k, v := range rc.Keys {
				keys[k] = v
			}
			for k, v := range tags {
				keys["aws:ResourceTag/"+k] = []string{v}
			}
			rc.Keys = keys
		}
	}
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "sagemaker:" + action, Resource: resource, ResourceAccount: account,
		ResourcePolicy: groupPolicy, Context: rc,
	})
	return err
}

// withRequestTags returns c with the aws:RequestTag/* and aws:TagKeys condition keys of a
// request that sets tags.
func withRequestTags(c Call, tags map[string]string) Call {
	if len(tags) == 0 {
		return c
	}
	keys := make(map[string][]string, len(c.Context.Keys)+len(tags)+1)
	for k, v := range c.Context.Keys {
		keys[k] = v
	}
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
		if err := s.authorize(ctx, c, action, s.GroupARN(account, name), account, ""); err != nil {
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
	g := Group{
		Account: c.Caller.Account, Name: name, ARN: s.GroupARN(c.Caller.Account, name), Description: description,
		Status: "Completed", CreatedAt: s.now(), CreatedBy: s.userContext(c),
	}
	if err := s.authorize(ctx, withRequestTags(c, tags), "CreateModelPackageGroup", g.ARN, g.Account, ""); err != nil {
		return Group{}, err
	}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		if errs.Is(err, errs.Conflict) {
			return Group{}, errs.E(errs.Conflict, "Model Package Group already exists: %s", g.ARN).WithCode("ValidationException")
		}
		return Group{}, err
	}
	if len(tags) > 0 {
		if err := s.store.AddTags(ctx, g.ARN, tags); err != nil {
			return Group{}, err
		}
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
	if err := s.authorize(ctx, c, "DescribeModelPackageGroup", g.ARN, g.Account, g.Policy); err != nil {
		return Group{}, err
	}
	return g, nil
}

// ListGroups lists the caller's groups.
func (s *Service) ListGroups(ctx context.Context, c Call, q GroupQuery) ([]Group, error) {
	if err := s.authorize(ctx, c, "ListModelPackageGroups", "*", c.Caller.Account, ""); err != nil {
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
	if err := s.authorize(ctx, c, "DeleteModelPackageGroup", g.ARN, g.Account, g.Policy); err != nil {
		return err
	}
	err = s.store.DeleteGroup(ctx, account, name)
	if errs.Is(err, errs.Conflict) {
		return errs.E(errs.Conflict, "Model Package Group %s still holds model packages; delete them first.", name).WithCode("ConflictException")
	}
	if err == nil {
		err = s.store.DeleteTags(ctx, g.ARN, nil)
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
	return s.store.SetGroupPolicy(ctx, g.Account, g.Name, policy)
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
	return s.store.SetGroupPolicy(ctx, g.Account, g.Name, "")
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
	if err := s.authorize(ctx, c, action, g.ARN, g.Account, g.Policy); err != nil {
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
	account, name, err := s.groupRef(c, in.Group)
	if err != nil {
		return Package{}, err
	}
	g, err := s.loadGroup(ctx, c, "CreateModelPackage", account, name)
	if err != nil {
		return Package{}, err
	}
	// AWS authorizes CreateModelPackage on the package ARN pattern of the group.
	resource := fmt.Sprintf("arn:aws:sagemaker:%s:%s:model-package/%s/*", s.region, g.Account, g.Name)
	if err := s.authorize(ctx, withRequestTags(c, in.Tags), "CreateModelPackage", resource, g.Account, g.Policy); err != nil {
		return Package{}, err
	}
	now := s.now()
	var arn string
	p, err := s.store.CreatePackage(ctx, g.Account, g.Name, in.ClientToken, func(version int) (Package, events.Event, error) {
		p := Package{
			Account: g.Account, GroupName: g.Name, Version: version, ARN: s.PackageARN(g.Account, g.Name, version),
			Description: in.Description, Status: "Completed", ApprovalStatus: status, ClientToken: in.ClientToken,
			CreatedAt: now, CreatedBy: s.userContext(c), ModifiedAt: now, Details: in.Details,
		}
		arn = p.ARN
		ev, err := s.event(p)
		return p, ev, err
	})
	if err != nil {
		return Package{}, err
	}
	if len(in.Tags) > 0 && p.ARN == arn {
		if err := s.store.AddTags(ctx, p.ARN, in.Tags); err != nil {
			return Package{}, err
		}
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
		ID: events.NewID(), Account: p.Account, Region: s.region, Source: EventSource, DetailType: EventDetailType,
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
		if err := s.authorize(ctx, c, action, s.PackageARN(account, group, version), account, ""); err != nil {
			return Group{}, Package{}, err
		}
		return Group{}, Package{}, packageMissing(arn)
	}
	if err != nil {
		return Group{}, Package{}, err
	}
	if err := s.authorize(ctx, c, action, s.PackageARN(account, group, version), account, g.Policy); err != nil {
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
		pkgs := fmt.Sprintf("arn:aws:sagemaker:%s:%s:model-package/%s/*", s.region, g.Account, g.Name)
		if err := s.authorize(ctx, c, "ListModelPackages", pkgs, g.Account, g.Policy); err != nil {
			if !errs.Is(err, errs.AccessDenied) {
				return nil, err
			}
			if err := s.authorize(ctx, c, "ListModelPackages", g.ARN, g.Account, g.Policy); err != nil {
				return nil, err
			}
		}
		account, q.GroupName = g.Account, g.Name
	} else if err := s.authorize(ctx, c, "ListModelPackages", "*", account, ""); err != nil {
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
	if _, _, err := s.loadPackage(ctx, c, "UpdateModelPackage", in.ARN); err != nil {
		return Package{}, err
	}
	return s.store.UpdatePackage(ctx, account, group, version, func(p *Package) (events.Event, error) {
		if in.ApprovalStatus != "" && !p.ApprovalStatus.CanMoveTo(in.ApprovalStatus) {
			return events.Event{}, errs.E(errs.Invalid, "model package %s is %s; it cannot go back to %s", p.ARN, p.ApprovalStatus, in.ApprovalStatus).WithCode("ValidationException")
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
					return events.Event{}, errs.E(errs.Internal, "stored CustomerMetadataProperties do not decode", err)
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
		return s.event(*p)
	})
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
	if err := s.store.DeletePackage(ctx, p.Account, p.GroupName, p.Version, ev); err != nil {
		return err
	}
	return s.store.DeleteTags(ctx, p.ARN, nil)
}

// taggable resolves the ARN of a group or package the caller owns.
func (s *Service) taggable(ctx context.Context, c Call, action, arn string) error {
	var account string
	var exists error
	if m := groupARNRE.FindStringSubmatch(arn); m != nil {
		account = m[2]
		_, exists = s.store.GetGroup(ctx, m[2], m[3])
	} else if m := pkgARNRE.FindStringSubmatch(arn); m != nil {
		account = m[2]
		v, _ := strconv.Atoi(m[4])
		_, exists = s.store.GetPackage(ctx, m[2], m[3], v)
	} else {
		return errs.E(errs.Invalid, "%q is not the ARN of a model package group or model package", arn).WithCode("ValidationException")
	}
	if err := s.authorize(ctx, c, action, arn, account, ""); err != nil {
		return err
	}
	if errs.Is(exists, errs.NotFound) {
		return errs.E(errs.NotFound, "Resource %s does not exist.", arn).WithCode("ResourceNotFound")
	}
	return exists
}

// AddTags adds or replaces tags on a group or package.
func (s *Service) AddTags(ctx context.Context, c Call, arn string, tags map[string]string) (map[string]string, error) {
	if err := s.taggable(ctx, withRequestTags(c, tags), "AddTags", arn); err != nil {
		return nil, err
	}
	if err := s.store.AddTags(ctx, arn, tags); err != nil {
		return nil, err
	}
	return s.store.ListTags(ctx, arn)
}

// Tag is a key and value.
type Tag struct{ Key, Value string }

// ListTags lists a resource's tags by key.
func (s *Service) ListTags(ctx context.Context, c Call, arn string) ([]Tag, error) {
	if err := s.taggable(ctx, c, "ListTags", arn); err != nil {
		return nil, err
	}
	m, err := s.store.ListTags(ctx, arn)
	if err != nil {
		return nil, err
	}
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// DeleteTags removes tags by key.
func (s *Service) DeleteTags(ctx context.Context, c Call, arn string, keys []string) error {
	if err := s.taggable(ctx, c, "DeleteTags", arn); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return s.store.DeleteTags(ctx, arn, keys)
}
