package stacks

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Nested stacks: an AWS::CloudFormation::Stack resource is a stack of its own, made, updated
// and deleted by its parent's engine through this provider, as the parent's session (its role,
// or the caller who asked). The nested stack is an ordinary stack row (its own work item,
// events and resources), so it survives a restart as top-level stacks do; it remembers its
// parent and root (ParentID, RootID) and its depth, which is bounded so a template that nests
// itself fails instead of recursing.

// NestedType is the resource type of a nested stack.
const NestedType = "AWS::CloudFormation::Stack"

// MaxNestingDepth is how many levels of nested stacks may stand below a top-level stack.
const MaxNestingDepth = 5

// nestedProvider makes AWS::CloudFormation::Stack resources.
type nestedProvider struct{ s *Service }

var (
	_ Provider = nestedProvider{}
	_ Schema   = nestedProvider{}
)

func (nestedProvider) Properties() ([]string, []string) {
	return []string{"TemplateURL", "Parameters", "TimeoutInMinutes", "Tags", "NotificationARNs"}, []string{"TemplateURL"}
}

// NestedSpec is an AWS::CloudFormation::Stack's properties, read.
type NestedSpec struct {
	TemplateURL string
	Parameters  []ParameterInput // sorted by key
	Timeout     time.Duration
	Tags        map[string]string
}

func nestedErr(logical, key, want string) error {
	return invalid("Properties validation failed for resource %s with message: #/%s: expected %s", logical, key, want)
}

// scalar reads a template value that CloudFormation turns into a string (a Ref to a Number
// parameter arrives as a string, a literal number as a number).
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// ParseNested reads an AWS::CloudFormation::Stack's evaluated properties.
func ParseNested(logical string, props map[string]any) (NestedSpec, error) {
	var n NestedSpec
	for k := range props {
		switch k {
		case "TemplateURL", "Parameters", "TimeoutInMinutes", "Tags":
		case "NotificationARNs":
			if l, ok := props[k].([]any); !ok || len(l) > 0 {
				return n, invalid("NotificationARNs of %s is not supported by this server (no SNS)", logical)
			}
		default:
			return n, invalid("Encountered unsupported property %s in %s", k, logical)
		}
	}
	u, ok := props["TemplateURL"].(string)
	if !ok || u == "" {
		return n, nestedErr(logical, "TemplateURL", "type: String")
	}
	n.TemplateURL = u
	if v, ok := props["Parameters"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return n, nestedErr(logical, "Parameters", "type: Object")
		}
		for k, e := range m {
			if l, ok := e.([]any); ok { // a CommaDelimitedList given as a list
				parts := make([]string, len(l))
				for i, x := range l {
					if parts[i], ok = scalar(x); !ok {
						return n, nestedErr(logical, "Parameters/"+k, "type: String")
					}
				}
				n.Parameters = append(n.Parameters, ParameterInput{Key: k, Value: strings.Join(parts, ",")})
				continue
			}
			s, ok := scalar(e)
			if !ok {
				return n, nestedErr(logical, "Parameters/"+k, "type: String")
			}
			n.Parameters = append(n.Parameters, ParameterInput{Key: k, Value: s})
		}
		sort.Slice(n.Parameters, func(i, j int) bool { return n.Parameters[i].Key < n.Parameters[j].Key })
	}
	if v, ok := props["TimeoutInMinutes"]; ok && v != nil {
		s, ok := scalar(v)
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if !ok || err != nil || f != math.Trunc(f) || f < 1 || f > 43200 {
			return n, nestedErr(logical, "TimeoutInMinutes", "an integer from 1 to 43200")
		}
		n.Timeout = time.Duration(f) * time.Minute
	}
	if v, ok := props["Tags"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			return n, nestedErr(logical, "Tags", "type: Array")
		}
		n.Tags = map[string]string{}
		for i, e := range l {
			t, ok := e.(map[string]any)
			k, ok1 := t["Key"].(string)
			val, ok2 := t["Value"].(string)
			if !ok || !ok1 || !ok2 {
				return n, nestedErr(logical, fmt.Sprintf("Tags/%d", i), "an object with string Key and Value")
			}
			n.Tags[k] = val
		}
		if err := checkTags(n.Tags); err != nil {
			return n, err
		}
	}
	return n, nil
}

// parent loads the stack a provider request comes from.
func (p nestedProvider) parent(ctx context.Context, r Request) (Stack, error) {
	account := r.Call.Caller.Account
	if a, ok := ParseStackKey(r.StackID); ok {
		account = a
	}
	return p.s.store.GetStack(ctx, account, r.StackID)
}

// Create reads the nested template as the parent's session and stores the nested stack
// CREATE_IN_PROGRESS; Check follows it.
func (p nestedProvider) Create(ctx context.Context, r Request) (Result, error) {
	spec, err := ParseNested(r.LogicalID, r.Properties)
	if err != nil {
		return Result{}, err
	}
	parent, err := p.parent(ctx, r)
	if err != nil {
		return Result{}, err
	}
	if parent.Depth+1 > MaxNestingDepth {
		return Result{}, invalid("Nested stack %s would stand %d levels below its root stack; at most %d are allowed (does a template nest itself?)",
			r.LogicalID, parent.Depth+1, MaxNestingDepth)
	}
	if r.Retry { // the first call may have stored the stack: adopt it
		if st, err := p.s.store.GetStack(ctx, parent.Account, r.Name); err == nil && st.ParentID == parent.ID {
			return Result{PhysicalID: st.ID}, nil
		}
	}
	body, err := p.s.TemplateBody(ctx, r.Call, "", spec.TemplateURL)
	if err != nil {
		return Result{}, err
	}
	st, err := p.s.createNested(ctx, r.Call, parent, r.Name, body, spec)
	if err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: st.ID}, nil
}

// Check reports the nested stack's progress: done at CREATE_COMPLETE or UPDATE_COMPLETE,
// with its outputs as the attributes Outputs.NAME; a failure when it rolled back.
func (p nestedProvider) Check(ctx context.Context, r Request) (Result, error) {
	account, _ := ParseStackKey(r.PhysicalID)
	st, err := p.s.store.GetStack(ctx, account, r.PhysicalID)
	if errs.Is(err, errs.NotFound) {
		return Result{}, invalid("Nested stack %s does not exist", r.PhysicalID)
	}
	if err != nil {
		return Result{}, err
	}
	switch st.Status {
	case CreateComplete, UpdateComplete, UpdateRollbackComplete:
		// Terminal: is the nested stack at the revision the parent asks for? (A rollback of the
		// parent asks for the old one; an update the parent could not start yet is started.)
		at, err := p.atRevision(ctx, r, st)
		if err != nil {
			return Result{}, err
		}
		switch {
		case at:
			attrs := map[string]any{}
			for _, o := range st.Outputs {
				attrs["Outputs."+o.Key] = o.Value
			}
			return Result{PhysicalID: st.ID, Attributes: attrs, Done: true}, nil
		case st.Status == UpdateRollbackComplete:
			return Result{}, invalid("Embedded stack %s was not successfully updated. Currently in %s with reason: %s", st.ID, st.Status, st.Reason)
		}
		_, err = p.Update(ctx, r)
		return Result{PhysicalID: st.ID}, err
	case CreateFailed, RollbackComplete, RollbackFailed, DeleteComplete, DeleteFailed, DeleteInProgress:
		return Result{}, invalid("Embedded stack %s was not successfully created: %s", st.ID, st.Reason)
	case UpdateRollbackFailed:
		return Result{}, invalid("Embedded stack %s was not successfully updated. Currently in %s with reason: %s", st.ID, st.Status, st.Reason)
	}
	return Result{PhysicalID: st.ID}, nil
}

// atRevision reports whether a nested stack has the template and parameters the request's
// properties give.
func (p nestedProvider) atRevision(ctx context.Context, r Request, st Stack) (bool, error) {
	spec, err := ParseNested(r.LogicalID, r.Properties)
	if err != nil {
		return false, err
	}
	body, err := p.s.TemplateBody(ctx, r.Call, "", spec.TemplateURL)
	if err != nil {
		return false, err
	}
	if body != st.Template {
		return false, nil
	}
	pr, err := p.s.prepare(body, spec.Parameters, st.Parameters, st.Capabilities, st.Name, st.Account)
	if err != nil {
		return false, err
	}
	return equalParams(pr.params, st.Parameters) && (spec.Tags == nil || equalTags(spec.Tags, st.Tags)), nil
}

// Replaces: a nested stack is updated in place, whatever changes.
func (nestedProvider) Replaces(old, new map[string]any) bool { return false }

// Update starts an update of the nested stack to its new template and parameters (the engine
// calls it only when the properties changed; a rollback calls it with the old ones).
func (p nestedProvider) Update(ctx context.Context, r Request) (Result, error) {
	spec, err := ParseNested(r.LogicalID, r.Properties)
	if err != nil {
		return Result{}, err
	}
	body, err := p.s.TemplateBody(ctx, r.Call, "", spec.TemplateURL)
	if err != nil {
		return Result{}, err
	}
	if err := p.s.updateNested(ctx, r.Call, r.PhysicalID, body, spec); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: r.PhysicalID}, nil
}

// Delete starts deleting the nested stack and reports done once it is deleted. A nested stack
// whose deletion failed during this operation of the parent fails the parent's.
func (p nestedProvider) Delete(ctx context.Context, r Request) (bool, error) {
	if r.PhysicalID == "" {
		return true, nil
	}
	account, _ := ParseStackKey(r.PhysicalID)
	st, err := p.s.store.GetStack(ctx, account, r.PhysicalID)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	switch {
	case st.Status == DeleteComplete:
		return true, nil
	case st.Status == DeleteInProgress:
		return false, nil
	case st.Status == DeleteFailed:
		parent, err := p.parent(ctx, r)
		if err == nil && !st.UpdatedAt.Before(parent.UpdatedAt) {
			return false, invalid("Nested stack %s failed to delete: %s", st.ID, st.Reason)
		}
	case !st.Status.CanMoveTo(DeleteInProgress):
		return false, nil // an operation of its own is running: wait for it to end
	}
	return false, p.s.deleteNested(ctx, r.Call, st.ID)
}

// createNested stores a nested stack of parent CREATE_IN_PROGRESS, authorized as
// cloudformation:CreateStack for the call (the parent's session). It inherits the parent's
// role, actor, capabilities and rollback setting.
func (s *Service) createNested(ctx context.Context, c identity.Call, parent Stack, name, body string, spec NestedSpec) (Stack, error) {
	if err := checkStackName(name); err != nil {
		return Stack{}, err
	}
	id := s.StackARN(parent.Account, name, randid.UUID())
	if err := s.authorize(ctx, c, "CreateStack", id); err != nil {
		return Stack{}, err
	}
	p, err := s.prepare(body, spec.Parameters, nil, parent.Capabilities, name, parent.Account)
	if err != nil {
		return Stack{}, err
	}
	root := parent.RootID
	if root == "" {
		root = parent.ID
	}
	tags := spec.Tags
	if tags == nil {
		tags = parent.Tags
	}
	now := s.now()
	st := Stack{Account: parent.Account, Region: s.region, Name: name, ID: id, Status: CreateInProgress,
		Reason: "User Initiated", Description: p.tpl.Description, Template: body, Parameters: p.params,
		RoleARN: parent.RoleARN, Actor: parent.Actor, Capabilities: parent.Capabilities, DisableRollback: parent.DisableRollback,
		Tags: tags, Resources: map[string]*Resource{}, Op: 1, CreatedAt: now, UpdatedAt: now,
		ParentID: parent.ID, RootID: root, Depth: parent.Depth + 1, Timeout: spec.Timeout}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertStack(ctx, st); err != nil {
			if errs.Is(err, errs.Conflict) {
				return errs.E(errs.Conflict, "Stack [%s] already exists", name).WithCode("AlreadyExistsException")
			}
			return err
		}
		if err := tx.AppendStackEvent(ctx, s.stackEvent(st, "User Initiated")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, st.ID, now)
	})
	return st, err
}

// updateNested starts an update of a nested stack, authorized as cloudformation:UpdateStack
// for the call. A nested stack busy with an operation of its own is waited for (Unavailable:
// the engine retries).
func (s *Service) updateNested(ctx context.Context, c identity.Call, id, body string, spec NestedSpec) error {
	account, _ := ParseStackKey(id)
	cur, err := s.store.GetStack(ctx, account, id)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, c, "UpdateStack", cur.ID); err != nil {
		return err
	}
	p, err := s.prepare(body, spec.Parameters, cur.Parameters, cur.Capabilities, cur.Name, cur.Account)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		st, err := tx.LockStack(ctx, id)
		if err != nil {
			return err
		}
		if !st.Status.Terminal() {
			return errs.E(errs.Unavailable, "nested stack %s is %s; waiting for it", st.ID, st.Status)
		}
		if body == st.Template && equalParams(p.params, st.Parameters) && (spec.Tags == nil || equalTags(spec.Tags, st.Tags)) {
			return nil // nothing changes (the URL moved, the template did not)
		}
		actor, caps := st.Actor, st.Capabilities
		if err := startUpdate(&st, body, p.params, "", actor, caps, spec.Tags, ""); err != nil {
			return err
		}
		st.Actor, st.Timeout = actor, spec.Timeout
		st.UpdatedAt = s.now()
		if err := tx.UpdateStack(ctx, st); err != nil {
			return err
		}
		if err := tx.AppendStackEvent(ctx, s.stackEvent(st, "User Initiated")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, st.ID, st.UpdatedAt)
	})
}

// deleteNested starts deleting a nested stack, authorized as cloudformation:DeleteStack for
// the call.
func (s *Service) deleteNested(ctx context.Context, c identity.Call, id string) error {
	if err := s.authorize(ctx, c, "DeleteStack", id); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		st, err := tx.LockStack(ctx, id)
		if err != nil {
			return err
		}
		if st.Status == DeleteInProgress || st.Status == DeleteComplete || !st.Status.CanMoveTo(DeleteInProgress) {
			return nil
		}
		st.Status, st.Reason = DeleteInProgress, "Parent stack deletes it"
		st.Op++
		st.ClientToken = ""
		st.ChangeSets = nil
		st.UpdatedAt = s.now()
		if err := tx.UpdateStack(ctx, st); err != nil {
			return err
		}
		if err := tx.AppendStackEvent(ctx, s.stackEvent(st, "User Initiated")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, st.ID, st.UpdatedAt)
	})
}

func equalParams(a, b []Parameter) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
