package identity

import (
	"context"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// LinkedRoleUsage lists what in an account uses a service-linked role (as AWS's
// RoleUsageList: the resources, by ARN); a role in use is not deleted.
type LinkedRoleUsage interface {
	LinkedRoleUsage(ctx context.Context, account string) ([]string, error)
}

type knownLinkedRole struct {
	role  ServiceLinkedRole
	usage LinkedRoleUsage
}

// KnowServiceLinkedRole lets IAM's CreateServiceLinkedRole make r for its service, and
// DeleteServiceLinkedRole delete it while usage reports nothing using it. Call it before
// serving (the composition root does, for each Slipway service that has such a role).
func (s *Service) KnowServiceLinkedRole(r ServiceLinkedRole, usage LinkedRoleUsage) {
	s.linked = append(s.linked, knownLinkedRole{role: r, usage: usage})
}

func (s *Service) linkedByService(service string) (knownLinkedRole, bool) {
	for _, k := range s.linked {
		if k.role.Service == service {
			return k, true
		}
	}
	return knownLinkedRole{}, false
}

func (s *Service) linkedByName(name string) (knownLinkedRole, bool) {
	for _, k := range s.linked {
		if k.role.Name == name {
			return k, true
		}
	}
	return knownLinkedRole{}, false
}

func invalidInput(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("InvalidInput")
}

// CreateServiceLinkedRole makes, in the caller's account, the service-linked role of a service
// Slipway knows (iam:CreateServiceLinkedRole on the role's ARN, with the condition key
// iam:AWSServiceName), as the service itself would on first use. A service without one, a
// custom suffix (none of Slipway's services takes one) and a role already there are refused
// with InvalidInput.
func (s *Service) CreateServiceLinkedRole(ctx context.Context, c Call, service, description, suffix string) (Principal, error) {
	if service == "" {
		return Principal{}, invalidInput("AWSServiceName is required")
	}
	if len(description) > 1000 {
		return Principal{}, invalidInput("Description is at most 1000 characters")
	}
	k, ok := s.linkedByService(service)
	if !ok {
		return Principal{}, invalidInput("Service %s has no service-linked role here; the services that have one: %s", service, s.linkedServices())
	}
	if suffix != "" {
		return Principal{}, invalidInput("Custom suffix is not allowed for %s", service)
	}
	r := k.role
	if err := s.authorizeIAM(ctx, c, "CreateServiceLinkedRole", r.ARN(c.Caller.Account), map[string][]string{"iam:AWSServiceName": {service}}); err != nil {
		return Principal{}, err
	}
	if _, err := s.store.GetPrincipal(ctx, c.Caller.Account, KindRole, r.Name); err == nil {
		return Principal{}, invalidInput("Service role name %s has been taken in this account, please try a different suffix.", r.Name)
	} else if !errs.Is(err, errs.NotFound) {
		return Principal{}, err
	}
	if description != "" {
		r.Description = description
	}
	return s.EnsureServiceLinkedRole(ctx, c.Caller.Account, r)
}

func (s *Service) linkedServices() string {
	var names []string
	for _, k := range s.linked {
		names = append(names, k.role.Service)
	}
	return strings.Join(names, ", ")
}

// deletionTaskPrefix begins a deletion task id: task/aws-service-role/SERVICE/ROLE/ROLE-ID.
const deletionTaskPrefix = "task" + ServiceRolePathPrefix

// DeleteServiceLinkedRole deletes a service-linked role of the caller's account that nothing
// uses (iam:DeleteServiceLinkedRole on the role's ARN), with its policy, and returns the
// deletion task's id. A role in use stays, and the task's status says FAILED with what uses
// it; a role that is not service-linked is refused (InvalidInput: DeleteRole is for it).
// Deletion is done when this returns; the task id names the role's unique id, so that its
// status tells this role's deletion from a later role of the same name.
func (s *Service) DeleteServiceLinkedRole(ctx context.Context, c Call, name string) (string, error) {
	if err := checkName("role name", name, 64); err != nil {
		return "", err
	}
	p, err := s.target(ctx, c, "DeleteServiceLinkedRole", KindRole, name, nil)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(p.Path, ServiceRolePathPrefix) {
		return "", invalidInput("Role %s is not a service-linked role; delete it with DeleteRole", name)
	}
	task := "task" + p.Path + p.Name + "/" + p.ID
	used, err := s.linkedUsage(ctx, c.Caller.Account, p.Name)
	if err != nil || len(used) > 0 {
		return task, err
	}
	policies, err := s.store.ListInlinePolicies(ctx, c.Caller.Account, KindRole, p.Name)
	if err != nil {
		return "", err
	}
	for _, ip := range policies {
		if err := s.store.DeleteInlinePolicy(ctx, c.Caller.Account, KindRole, p.Name, ip.Name); err != nil && !errs.Is(err, errs.NotFound) {
			return "", err
		}
	}
	if err := s.store.DeletePrincipal(ctx, c.Caller.Account, KindRole, p.Name); err != nil && !errs.Is(err, errs.NotFound) {
		return "", err
	}
	return task, nil
}

func (s *Service) linkedUsage(ctx context.Context, account, name string) ([]string, error) {
	k, ok := s.linkedByName(name)
	if !ok || k.usage == nil {
		return nil, nil
	}
	return k.usage.LinkedRoleUsage(ctx, account)
}

// parseDeletionTask splits a deletion task id, task/aws-service-role/SERVICE/ROLE/ID, into
// its service principal, role name and role id.
func parseDeletionTask(task string) (service, name, id string, ok bool) {
	rest, ok := strings.CutPrefix(task, deletionTaskPrefix)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || !engineRE.MatchString(parts[0]) || len(parts[1]) > 64 || !nameRE.MatchString(parts[1]) || len(parts[2]) > 128 || !nameRE.MatchString(parts[2]) {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// DeletionStatus is a service-linked role deletion task's status.
type DeletionStatus struct {
	Status string   // SUCCEEDED | FAILED
	Reason string   // why it failed
	Usage  []string // what uses the role (FAILED)
}

// ServiceLinkedRoleDeletionStatus tells how a deletion task of the caller's account went
// (iam:GetServiceLinkedRoleDeletionStatus on the role's ARN): SUCCEEDED once the role it names
// is gone, FAILED, with what uses it, while that role is still there. A task id of another
// form, or of another account, is NoSuchEntity.
func (s *Service) ServiceLinkedRoleDeletionStatus(ctx context.Context, c Call, task string) (DeletionStatus, error) {
	service, name, id, ok := parseDeletionTask(task)
	if !ok {
		return DeletionStatus{}, invalidInput("DeletionTaskId %q is not a deletion task's id (task/aws-service-role/SERVICE/ROLE/ID)", task)
	}
	r := ServiceLinkedRole{Service: service, Name: name}
	if err := s.authorizeIAM(ctx, c, "GetServiceLinkedRoleDeletionStatus", r.ARN(c.Caller.Account), nil); err != nil {
		return DeletionStatus{}, err
	}
	if k, known := s.linkedByName(name); !known || k.role.Service != service {
		return DeletionStatus{}, errs.E(errs.NotFound, "Deletion task %s does not exist.", task).WithCode("NoSuchEntity")
	}
	p, err := s.store.GetPrincipal(ctx, c.Caller.Account, KindRole, name)
	if errs.Is(err, errs.NotFound) || (err == nil && p.ID != id) {
		return DeletionStatus{Status: "SUCCEEDED"}, nil
	}
	if err != nil {
		return DeletionStatus{}, err
	}
	used, err := s.linkedUsage(ctx, c.Caller.Account, name)
	if err != nil {
		return DeletionStatus{}, err
	}
	if len(used) > 0 {
		return DeletionStatus{Status: "FAILED", Reason: "The role is in use by the service: delete what uses it first.", Usage: used}, nil
	}
	return DeletionStatus{Status: "FAILED", Reason: "The role was not deleted; delete it again."}, nil
}
