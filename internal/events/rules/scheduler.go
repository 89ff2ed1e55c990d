package rules

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/events/schedule"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// ScheduleKind is the reconcile work kind of scheduled rules: one durable work item per rule
// with a ScheduleExpression, keyed by the rule's ARN, due at its next firing.
const ScheduleKind = "event-schedule"

// The envelope of the events scheduled rules emit.
const (
	ScheduledSource     = "aws.events"
	ScheduledDetailType = "Scheduled Event"
)

// catchUp bounds how far back a scheduler looks for a cron firing it has not yet made (a
// server down longer loses the older firings; the latest one within it is made).
const catchUp = 25 * time.Hour

// Scheduler fires scheduled rules: it is the Reconciler of ScheduleKind. Each firing appends
// one "Scheduled Event" (source aws.events, the rule's ARN its one resource, the firing time
// its time) to the outbox, with the firing recorded in the same transaction, so a firing is
// emitted once whatever restarts; delivery hands it to that rule's targets only. Of the
// firings missed while no server ran, only the latest is made.
type Scheduler struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
}

var _ reconcile.Reconciler = (*Scheduler)(nil)

// NewScheduler returns the scheduler of st's rules on the clock now.
func NewScheduler(st Store, now func() time.Time, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{store: st, now: now, log: log.With("component", "event-schedules")}
}

// lastFiring returns the latest firing of s at or before now and after anchor (zero: none).
func lastFiring(s schedule.Schedule, anchor, now time.Time) time.Time {
	if r, ok := s.(schedule.Rate); ok {
		k := now.Sub(anchor) / r.Every
		if k < 1 {
			return time.Time{}
		}
		return anchor.Add(k * r.Every)
	}
	from := anchor
	if lim := now.Add(-catchUp); from.Before(lim) {
		from = lim
	}
	var last time.Time
	for t := s.Next(from); !t.IsZero() && !t.After(now); t = s.Next(t) {
		last = t
	}
	return last
}

// nextFiring returns the first firing of s after now (zero: none).
func nextFiring(s schedule.Schedule, anchor, now time.Time) time.Time {
	if r, ok := s.(schedule.Rate); ok {
		k := now.Sub(anchor)/r.Every + 1
		return anchor.Add(k * r.Every)
	}
	return s.Next(now)
}

// Reconcile makes the rule's latest due firing (once) and asks to be called at the next.
func (s *Scheduler) Reconcile(ctx context.Context, key string) (reconcile.Result, error) {
	a, bus, name, ok := arn.EventRuleOf(key)
	if !ok {
		return reconcile.Result{Forget: true}, nil
	}
	r, err := s.store.GetRule(ctx, a.Account, bus, name)
	if errs.Is(err, errs.NotFound) {
		return reconcile.Result{Forget: true}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if r.Schedule == "" || r.State != Enabled {
		return reconcile.Result{Forget: true}, nil // EnableRule and PutRule enqueue it again
	}
	sched, err := schedule.Parse(r.Schedule)
	if err != nil {
		s.log.Warn("a stored rule's schedule no longer parses; not run", "rule", key, "err", err)
		return reconcile.Result{Forget: true}, nil
	}
	now := s.now().UTC()
	anchor := r.ModifiedAt.UTC().Truncate(time.Second)
	if last := lastFiring(sched, anchor, now); !last.IsZero() {
		once := "schedule|" + key + "|" + last.Format(time.RFC3339)
		sum := sha256.Sum256([]byte(once))
		ev := events.Event{ID: fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
			Account: r.Account, Region: a.Region, Source: ScheduledSource, DetailType: ScheduledDetailType, Time: last,
			Resources: []string{key}, Detail: json.RawMessage(`{}`), Bus: arn.EventBus(a.Partition, a.Region, r.Account, r.Bus)}
		if _, err := s.store.Once(ctx, once, func(tx Tx) error { return tx.AppendEvent(ctx, ev) }); err != nil {
			return reconcile.Result{}, err
		}
	}
	next := nextFiring(sched, anchor, now)
	if next.IsZero() {
		return reconcile.Result{Forget: true}, nil
	}
	return reconcile.Result{RequeueAfter: next.Sub(now)}, nil
}
