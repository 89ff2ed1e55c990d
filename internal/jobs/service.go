package jobs

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// WorkKind is the reconcile kind of the jobs engine; its keys are job ARNs.
const WorkKind = "jobs"

// ServicePrincipal is the service a job's role is passed to, and the engine's name when it acts
// as the role (the role's trust policy must allow it to sts:AssumeRole).
const ServicePrincipal = "sagemaker.amazonaws.com"

// EventSource is the source of the jobs' events.
const EventSource = "aws.sagemaker"

// Store persists jobs. Reads stand alone; every change goes through Update, so a job's row,
// its event, its work item and the call's audit record commit together.
type Store interface {
	GetJob(ctx context.Context, account string, kind Kind, name string) (Job, error)
	ListJobs(ctx context.Context, account string, kind Kind, q Query) ([]Job, error)
	// Update runs fn in one transaction; when the transaction loses a race it runs again, so fn
	// must have no effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the jobs' view of a store transaction.
type Tx interface {
	// InsertJob inserts a new job; errs.Conflict when the account has one of that kind and name.
	InsertJob(ctx context.Context, j Job) error
	// LockJob reads a job for a change: no other transaction changes it until this one ends.
	LockJob(ctx context.Context, account string, kind Kind, name string) (Job, error)
	UpdateJob(ctx context.Context, j Job) error
	AppendEvent(ctx context.Context, ev events.Event) error
	// AppendAudit commits p's record with the transaction too (CreateBatch: one record per
	// Create call whose job the transaction stores).
	AppendAudit(p *audit.Pending)
	reconcile.Enqueuer
	// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
	CheckFence(ctx context.Context, f reconcile.Fence) error
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// RolePasser decides whether a caller may pass a role to a service (iam:PassRole).
type RolePasser interface {
	PassRole(ctx context.Context, c identity.Call, roleARN, service string) (identity.Principal, error)
}

// Service is the jobs' API: create, describe, list and stop.
type Service struct {
	store  Store
	authz  Authorizer
	roles  RolePasser
	region string
	now    func() time.Time
}

// NewService returns a Service whose ARNs name region.
func NewService(st Store, authz Authorizer, roles RolePasser, region string, now func() time.Time) *Service {
	return &Service{store: st, authz: authz, roles: roles, region: region, now: now}
}

// ARN returns the ARN of a job.
func (s *Service) ARN(account string, kind Kind, name string) string {
	return arn.SageMaker(s.region, account, kind.resource(), name)
}

// ParseKey reads a job ARN (a work item's key) back into its account, kind and name.
func ParseKey(key string) (account string, kind Kind, name string, ok bool) {
	a, err := arn.Parse(key)
	if err != nil || a.Service != "sagemaker" {
		return "", "", "", false
	}
	for _, k := range []Kind{TrainingJob, ProcessingJob, TransformJob} {
		if n, found := cutPrefix(a.Resource, k.resource()+"/"); found {
			return a.Account, k, n, validName(n)
		}
	}
	return "", "", "", false
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func (s *Service) authorize(ctx context.Context, c identity.Call, op, resource, account string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "sagemaker:" + op, Resource: resource, ResourceAccount: account, Context: c.Context,
	})
	return err
}

// withRequestTags adds aws:RequestTag/* and aws:TagKeys for a request that sets tags.
func withRequestTags(c identity.Call, tags map[string]string) identity.Call {
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

func notFound(k Kind, name string) error {
	return errs.E(errs.NotFound, "Requested resource not found: %s %s does not exist.", k.title(), name).WithCode("ResourceNotFound")
}

// Create validates a job, authorizes it (the create action on the job, and iam:PassRole of its
// role to SageMaker) and stores it with its first event and the work item that starts it.
// Request is the create request as received; its Tags member is not echoed by Describe.
func (s *Service) Create(ctx context.Context, c identity.Call, j Job) (Job, error) {
	if err := Validate(&j); err != nil {
		return Job{}, err
	}
	now := s.now()
	j.Account = c.Caller.Account
	j.ARN = s.ARN(j.Account, j.Kind, j.Name)
	j.Status, j.Secondary = InProgress, Starting
	j.Transitions = []Transition{{Status: Starting, StartTime: now, StatusMessage: "Preparing the instances for " + map[Kind]string{TrainingJob: "training", ProcessingJob: "processing", TransformJob: "transform"}[j.Kind]}}
	j.CreatedAt, j.ModifiedAt = now, now
	j.StartedAt, j.EndedAt = time.Time{}, time.Time{}
	j.FailureReason, j.Metrics, j.ModelArtifacts, j.StopRequested, j.Run = "", nil, "", false, Run{}
	j.Waiter = waiterFrom(ctx)
	if j.Kind == TrainingJob {
		out, _ := ParseS3URI("", j.Spec.OutputPath)
		j.ModelArtifacts = out.Join(j.Name, "output", "model.tar.gz").String()
	}
	if len(j.Request) == 0 || !json.Valid(j.Request) {
		j.Request = json.RawMessage("{}")
	}
	if err := s.authorize(ctx, withRequestTags(c, j.Tags), "Create"+j.Kind.Noun(), j.ARN, j.Account); err != nil {
		return Job{}, err
	}
	if j.RoleARN != "" {
		if _, err := s.roles.PassRole(ctx, c, j.RoleARN, ServicePrincipal); err != nil {
			return Job{}, err
		}
	}
	ev, err := s.event(j)
	if err != nil {
		return Job{}, err
	}
	if b := batchFrom(ctx); b != nil {
		b.add(batchItem{j: j, ev: ev, audit: audit.PendingFrom(ctx)})
		return j, nil
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertJob(ctx, j); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, ev); err != nil {
			return err
		}
		return tx.Enqueue(ctx, WorkKind, j.ARN, now)
	})
	if errs.Is(err, errs.Conflict) {
		return Job{}, inUse(j)
	}
	if err != nil {
		return Job{}, err
	}
	return j, nil
}

// event is the state change event of j as it is now.
func (s *Service) event(j Job) (events.Event, error) {
	body, err := json.Marshal(j.Description())
	if err != nil {
		return events.Event{}, errs.E(errs.Internal, "cannot encode the event", err)
	}
	return events.Event{
		ID: randid.UUID(), Account: j.Account, Region: s.region, Source: EventSource, DetailType: j.Kind.EventDetailType(),
		Time: j.ModifiedAt, Resources: []string{j.ARN}, Detail: body,
	}, nil
}

// Describe returns a job of the caller's account.
func (s *Service) Describe(ctx context.Context, c identity.Call, kind Kind, name string) (Job, error) {
	if err := ValidName(kind, name); err != nil {
		return Job{}, err
	}
	resource := s.ARN(c.Caller.Account, kind, name)
	if err := s.authorize(ctx, c, "Describe"+kind.Noun(), resource, c.Caller.Account); err != nil {
		return Job{}, err
	}
	j, err := s.store.GetJob(ctx, c.Caller.Account, kind, name)
	if errs.Is(err, errs.NotFound) {
		return Job{}, notFound(kind, name)
	}
	return j, err
}

// List lists the caller's jobs of a kind.
func (s *Service) List(ctx context.Context, c identity.Call, kind Kind, q Query) ([]Job, error) {
	if q.Status != "" && !q.Status.Valid() {
		return nil, invalid("StatusEquals %q is not a job status (InProgress, Completed, Failed, Stopping, Stopped)", q.Status)
	}
	switch q.SortBy {
	case "", "Name", "CreationTime", "Status":
	default:
		return nil, invalid("SortBy %q must be Name, CreationTime or Status", q.SortBy)
	}
	if err := s.authorize(ctx, c, "List"+kind.Noun()+"s", "*", c.Caller.Account); err != nil {
		return nil, err
	}
	return s.store.ListJobs(ctx, c.Caller.Account, kind, q)
}

// Stop asks a running job of the caller's account to stop: it moves to Stopping at once, and
// the engine stops its workers and moves it to Stopped. Stopping a stopping job changes
// nothing; a finished job cannot be stopped.
func (s *Service) Stop(ctx context.Context, c identity.Call, kind Kind, name string) error {
	if err := ValidName(kind, name); err != nil {
		return err
	}
	resource := s.ARN(c.Caller.Account, kind, name)
	if err := s.authorize(ctx, c, "Stop"+kind.Noun(), resource, c.Caller.Account); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error {
		j, err := tx.LockJob(ctx, c.Caller.Account, kind, name)
		if errs.Is(err, errs.NotFound) {
			return notFound(kind, name)
		}
		if err != nil {
			return err
		}
		if j.Status == Stopping {
			return nil
		}
		if j.Status.Terminal() {
			return invalid("The %s %s is %s; only a job in progress can be stopped.", lower(kind.title()), name, j.Status)
		}
		j.StopRequested = true
		if err := s.move(&j, SecStopping, "Stopping the "+lower(kind.title())); err != nil {
			return err
		}
		return s.save(ctx, tx, j)
	})
}

func lower(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// move changes j's phase (and with it its status), closing the current transition. A move to
// the phase j is in changes nothing.
func (s *Service) move(j *Job, to Secondary, message string) error {
	if j.Secondary == to {
		return nil
	}
	if !j.Secondary.CanMoveTo(to) {
		return errs.E(errs.Conflict, "%s %s cannot go from %s to %s", j.Kind.title(), j.Name, j.Secondary, to)
	}
	now := s.now()
	if n := len(j.Transitions); n > 0 && j.Transitions[n-1].EndTime.IsZero() {
		j.Transitions[n-1].EndTime = now
	}
	t := Transition{Status: to, StartTime: now, StatusMessage: message}
	if to.Terminal() {
		t.EndTime = now
		j.EndedAt = now
	}
	j.Transitions = append(j.Transitions, t)
	j.Secondary, j.Status = to, to.Status()
	j.ModifiedAt = now
	return nil
}

// save writes j with its state change event, and wakes the engine on it.
func (s *Service) save(ctx context.Context, tx Tx, j Job) error {
	j.ModifiedAt = s.now()
	ev, err := s.event(j)
	if err != nil {
		return err
	}
	if err := tx.UpdateJob(ctx, j); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, ev); err != nil {
		return err
	}
	return tx.Enqueue(ctx, WorkKind, j.ARN, s.now())
}
