package stacks

import (
	"context"
	"reflect"
	"regexp"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/stacks/template"
)

// Change set statuses.
const (
	ChangeSetCreateComplete = "CREATE_COMPLETE"
	ChangeSetFailed         = "FAILED"
	ExecAvailable           = "AVAILABLE"
	ExecUnavailable         = "UNAVAILABLE"
)

// NoChanges is the reason a change set that changes nothing fails with; the aws CLI's deploy
// recognizes it ("No changes to deploy").
const NoChanges = "The submitted information didn't contain changes. Submit different information to create a change set."

var changeSetNameRE = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

// CreateChangeSetInput is a CreateChangeSet request.
type CreateChangeSetInput struct {
	StackName           string
	Name                string
	Type                string // CREATE | UPDATE (default)
	TemplateBody        string
	TemplateURL         string
	UsePreviousTemplate bool
	Parameters          []ParameterInput
	Capabilities        []string
	RoleARN             string
	Tags                map[string]string
	Description         string
	ClientToken         string
}

// CreateChangeSet records a proposed change: for CREATE, a new stack REVIEW_IN_PROGRESS
// holds it. The change set is computed at once (CREATE_COMPLETE), or FAILED with NoChanges.
func (s *Service) CreateChangeSet(ctx context.Context, c identity.Call, in CreateChangeSetInput) (ChangeSet, error) {
	if len(in.Name) == 0 || len(in.Name) > 128 || !changeSetNameRE.MatchString(in.Name) {
		return ChangeSet{}, invalid("ChangeSetName %q must be 1 to 128 letters, digits and hyphens, starting with a letter", in.Name)
	}
	if err := checkStackName(in.StackName); err != nil {
		return ChangeSet{}, err
	}
	if in.TemplateURL != "" && in.UsePreviousTemplate {
		return ChangeSet{}, invalid("Specify exactly one of TemplateBody, TemplateURL and UsePreviousTemplate.")
	}
	resolved, err := s.TemplateBody(ctx, c, in.TemplateBody, in.TemplateURL)
	if err != nil {
		return ChangeSet{}, err
	}
	in.TemplateBody, in.TemplateURL = resolved, ""
	if err := checkTags(in.Tags); err != nil {
		return ChangeSet{}, err
	}
	typ := in.Type
	if typ == "" {
		typ = "UPDATE"
	}
	if typ != "CREATE" && typ != "UPDATE" {
		return ChangeSet{}, invalid("ChangeSetType %s is not supported (CREATE or UPDATE)", typ)
	}
	cur, err := s.store.GetStack(ctx, c.Caller.Account, in.StackName)
	exists := err == nil
	if err != nil && !errs.Is(err, errs.NotFound) {
		return ChangeSet{}, err
	}
	stackID := cur.ID
	if !exists {
		stackID = s.StackARN(c.Caller.Account, in.StackName, randid.UUID())
	}
	if err := s.authorize(ctx, c, "CreateChangeSet", stackID); err != nil {
		return ChangeSet{}, err
	}
	switch {
	case typ == "CREATE" && exists && cur.Status != ReviewInProgress:
		return ChangeSet{}, errs.E(errs.Conflict, "Stack [%s] already exists and cannot be created again with the changeSet [%s].", in.StackName, in.Name).WithCode("AlreadyExistsException")
	case typ == "UPDATE" && !exists:
		return ChangeSet{}, notExist(in.StackName)
	case typ == "UPDATE" && !cur.Status.Updatable():
		return ChangeSet{}, invalid("Stack:%s is in %s state and can not be updated.", cur.ID, cur.Status)
	}
	if err := s.passRole(ctx, c, in.RoleARN); err != nil {
		return ChangeSet{}, err
	}
	body := in.TemplateBody
	if in.UsePreviousTemplate {
		if !exists || typ == "CREATE" {
			return ChangeSet{}, invalid("UsePreviousTemplate needs a stack to update")
		}
		body = cur.Template
	}
	var previous []Parameter
	if exists {
		previous = cur.Parameters
	}
	p, err := s.prepare(body, in.Parameters, previous, in.Capabilities, in.StackName, c.Caller.Account)
	if err != nil {
		return ChangeSet{}, err
	}
	now := s.now()
	cs := ChangeSet{Account: c.Caller.Account, ID: arn.CloudFormationChangeSet(s.region, c.Caller.Account, in.Name, randid.UUID()),
		Name: in.Name, StackID: stackID, StackName: in.StackName, Type: typ, Status: ChangeSetCreateComplete, Execution: ExecAvailable,
		Description: in.Description, Template: body, Parameters: p.params, Given: in.Parameters, RoleARN: in.RoleARN,
		Actor: actor(c.Caller), Tags: in.Tags, Capabilities: in.Capabilities, CreatedAt: now}
	if typ == "UPDATE" {
		cs.Changes = changes(cur, p)
		if body == cur.Template && reflect.DeepEqual(p.params, cur.Parameters) && (in.Tags == nil || reflect.DeepEqual(in.Tags, cur.Tags)) {
			cs.Status, cs.Reason, cs.Execution = ChangeSetFailed, NoChanges, ExecUnavailable
		}
	} else {
		cs.Changes = changes(Stack{}, p)
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if !exists {
			st := Stack{Account: c.Caller.Account, Region: s.region, Name: in.StackName, ID: stackID, Status: ReviewInProgress,
				Reason: "User Initiated", Description: p.tpl.Description, Resources: map[string]*Resource{}, Actor: actor(c.Caller),
				ChangeSets: []ChangeSet{cs}, CreatedAt: now, UpdatedAt: now}
			if err := tx.InsertStack(ctx, st); err != nil {
				if errs.Is(err, errs.Conflict) {
					return errs.E(errs.Conflict, "Stack [%s] already exists", in.StackName).WithCode("AlreadyExistsException")
				}
				return err
			}
			return tx.AppendStackEvent(ctx, s.stackEvent(st, "User Initiated"))
		}
		st, err := tx.LockStack(ctx, stackID)
		if err != nil {
			return err
		}
		for _, x := range st.ChangeSets {
			if x.Name == in.Name {
				return errs.E(errs.Conflict, "ChangeSet [%s] already exists", in.Name).WithCode("AlreadyExistsException")
			}
		}
		if len(st.ChangeSets) >= 100 {
			return errs.E(errs.LimitExceeded, "a stack has at most 100 change sets").WithCode("LimitExceededException")
		}
		st.ChangeSets = append(st.ChangeSets, cs)
		return tx.UpdateStack(ctx, st)
	})
	if err != nil {
		return ChangeSet{}, err
	}
	return cs, nil
}

// changes lists what applying p to st would do, by comparing declarations (the values of
// resources' attributes are known only once the change runs).
func changes(st Stack, p prepared) []Change {
	var old *template.Template
	if st.Template != "" {
		old, _ = template.Parse([]byte(st.Template))
	}
	var out []Change
	for _, name := range sortedKeys(p.tpl.Resources) {
		r := p.tpl.Resources[name]
		cur, had := st.Resources[name]
		switch {
		case !had || gone(cur):
			out = append(out, Change{Action: "Add", LogicalID: name, ResourceType: r.Type})
		case old == nil || old.Resources[name] == nil || !reflect.DeepEqual(old.Resources[name].Properties, r.Properties) ||
			!reflect.DeepEqual(st.Parameters, p.params):
			repl := "Conditional"
			if cur.Type != r.Type {
				repl = "True"
			}
			out = append(out, Change{Action: "Modify", LogicalID: name, PhysicalID: cur.PhysicalID, ResourceType: r.Type, Replacement: repl})
		}
	}
	for _, name := range sortedKeys(st.Resources) {
		if _, kept := p.tpl.Resources[name]; !kept && !gone(st.Resources[name]) {
			r := st.Resources[name]
			out = append(out, Change{Action: "Remove", LogicalID: name, PhysicalID: r.PhysicalID, ResourceType: r.Type})
		}
	}
	return out
}

// findChangeSet finds a change set by ARN, or by name within a stack, and authorizes op on
// its stack.
func (s *Service) findChangeSet(ctx context.Context, c identity.Call, op, nameOrID, stackName string) (Stack, int, error) {
	if nameOrID == "" {
		return Stack{}, 0, invalid("ChangeSetName is required")
	}
	missing := func() error {
		return errs.E(errs.NotFound, "ChangeSet [%s] does not exist", nameOrID).WithCode("ChangeSetNotFound")
	}
	var st Stack
	var err error
	if stackName != "" {
		st, err = s.find(ctx, c, op, stackName)
		if err != nil {
			return Stack{}, 0, err
		}
	} else {
		if _, perr := arn.Parse(nameOrID); perr != nil {
			return Stack{}, 0, invalid("StackName is required when ChangeSetName is not an ARN")
		}
		all, err := s.store.ListStacks(ctx, c.Caller.Account)
		if err != nil {
			return Stack{}, 0, err
		}
		found := false
		for _, x := range all {
			for _, cs := range x.ChangeSets {
				if cs.ID == nameOrID {
					st, found = x, true
				}
			}
		}
		if !found {
			if err := s.authorize(ctx, c, op, s.StackARN(c.Caller.Account, "*", "*")); err != nil {
				return Stack{}, 0, err
			}
			return Stack{}, 0, missing()
		}
		if err := s.authorize(ctx, c, op, st.ID); err != nil {
			return Stack{}, 0, err
		}
	}
	for i, cs := range st.ChangeSets {
		if cs.ID == nameOrID || cs.Name == nameOrID {
			return st, i, nil
		}
	}
	return Stack{}, 0, missing()
}

// DescribeChangeSet returns a change set.
func (s *Service) DescribeChangeSet(ctx context.Context, c identity.Call, nameOrID, stackName string) (ChangeSet, error) {
	st, i, err := s.findChangeSet(ctx, c, "DescribeChangeSet", nameOrID, stackName)
	if err != nil {
		return ChangeSet{}, err
	}
	return st.ChangeSets[i], nil
}

// ListChangeSets lists a stack's change sets.
func (s *Service) ListChangeSets(ctx context.Context, c identity.Call, stackName string) ([]ChangeSet, error) {
	st, err := s.find(ctx, c, "ListChangeSets", stackName)
	if err != nil {
		return nil, err
	}
	return st.ChangeSets, nil
}

// DeleteChangeSet deletes a change set.
func (s *Service) DeleteChangeSet(ctx context.Context, c identity.Call, nameOrID, stackName string) error {
	st, i, err := s.findChangeSet(ctx, c, "DeleteChangeSet", nameOrID, stackName)
	if err != nil {
		return err
	}
	id := st.ChangeSets[i].ID
	return s.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.LockStack(ctx, st.ID)
		if err != nil {
			return err
		}
		kept := cur.ChangeSets[:0]
		for _, cs := range cur.ChangeSets {
			if cs.ID != id {
				kept = append(kept, cs)
			}
		}
		cur.ChangeSets = kept
		return tx.UpdateStack(ctx, cur)
	})
}

// ExecuteChangeSet applies a change set: a CREATE one starts the stack's creation, an UPDATE
// one its update; the stack's change sets are gone afterwards.
func (s *Service) ExecuteChangeSet(ctx context.Context, c identity.Call, nameOrID, stackName, token string, disableRollback bool) error {
	st, i, err := s.findChangeSet(ctx, c, "ExecuteChangeSet", nameOrID, stackName)
	if err != nil {
		return err
	}
	id := st.ChangeSets[i].ID
	return s.store.Update(ctx, func(tx Tx) error {
		cur, err := tx.LockStack(ctx, st.ID)
		if err != nil {
			return err
		}
		var cs *ChangeSet
		for j := range cur.ChangeSets {
			if cur.ChangeSets[j].ID == id {
				cs = &cur.ChangeSets[j]
			}
		}
		if cs == nil {
			return errs.E(errs.NotFound, "ChangeSet [%s] does not exist", nameOrID).WithCode("ChangeSetNotFound")
		}
		if cs.Execution != ExecAvailable {
			return errs.E(errs.Conflict, "ChangeSet [%s] cannot be executed in its current execution status of [%s]", cs.Name, cs.Execution).WithCode("InvalidChangeSetStatus")
		}
		now := s.now()
		switch cs.Type {
		case "CREATE":
			if cur.Status != ReviewInProgress {
				return errs.E(errs.Conflict, "Stack %s is in %s state and the change set cannot create it", cur.Name, cur.Status).WithCode("InvalidChangeSetStatus")
			}
			cur.Status, cur.Reason = CreateInProgress, "User Initiated"
			cur.Template, cur.Parameters, cur.RoleARN, cur.Capabilities, cur.Tags = cs.Template, cs.Parameters, cs.RoleARN, cs.Capabilities, cs.Tags
			cur.Description = descriptionOf(cs.Template)
			cur.Actor = actor(c.Caller)
			cur.DisableRollback = disableRollback
			cur.Op = 1
			cur.ClientToken = token
		default:
			if err := startUpdate(&cur, cs.Template, cs.Parameters, cs.RoleARN, c.Caller, cs.Capabilities, cs.Tags, token); err != nil {
				return err
			}
			cur.DisableRollback = disableRollback
		}
		cur.ChangeSets = nil
		cur.UpdatedAt = now
		if err := tx.UpdateStack(ctx, cur); err != nil {
			return err
		}
		if err := tx.AppendStackEvent(ctx, s.stackEvent(cur, "User Initiated")); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, cur.ID, now)
	})
}

func descriptionOf(body string) string {
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		return ""
	}
	return tpl.Description
}

// GetTemplateSummary summarizes a template given, or a stack's.
func (s *Service) GetTemplateSummary(ctx context.Context, c identity.Call, body, url, stackName string) (TemplateSummary, error) {
	if stackName != "" {
		st, err := s.find(ctx, c, "GetTemplateSummary", stackName)
		if err != nil {
			return TemplateSummary{}, err
		}
		body = st.Template
	} else if err := s.authorize(ctx, c, "GetTemplateSummary", "*"); err != nil {
		return TemplateSummary{}, err
	}
	if stackName == "" {
		var err error
		if body, err = s.TemplateBody(ctx, c, body, url); err != nil {
			return TemplateSummary{}, err
		}
	} else if url != "" {
		return TemplateSummary{}, invalid("Specify exactly one of StackName, TemplateBody and TemplateURL.")
	}
	if body == "" {
		return TemplateSummary{}, invalid("Either Template URL or Template Body must be specified.")
	}
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		return TemplateSummary{}, err
	}
	return summarize(tpl), nil
}
