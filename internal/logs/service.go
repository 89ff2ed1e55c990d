package logs

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// CloudWatch Logs' limits.
const (
	MaxBatchEvents  = 10000   // events in one PutLogEvents call
	MaxBatchBytes   = 1048576 // UTF-8 bytes of the messages plus EventOverhead per event
	EventOverhead   = 26      // bytes counted per event on top of its message
	MaxEventBytes   = MaxBatchBytes - EventOverhead
	MaxPageEvents   = 10000 // events in one GetLogEvents or FilterLogEvents page
	MaxPageBytes    = 1048576
	maxPast         = 14 * 24 * time.Hour // events older than this are rejected
	maxFuture       = 2 * time.Hour       // and so are events further ahead than this
	maxSpan         = 24 * time.Hour      // the span of a batch's accepted events
	defaultDescribe = 50
	scanBudget      = 10000 // events one FilterLogEvents call examines before answering a partial page
)

// Service is the CloudWatch Logs subset's business logic.
type Service struct {
	store     Store
	authz     Authorizer
	region    string
	partition string
	now       func() time.Time

	mu      sync.Mutex
	changed map[string]chan struct{} // per account/group: closed at its next append here
}

// NewService returns a Service whose ARNs name region.
func NewService(st Store, authz Authorizer, region string, now func() time.Time) *Service {
	return &Service{store: st, authz: authz, region: region, partition: "aws", now: now, changed: map[string]chan struct{}{}}
}

var groupNameRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

// CheckGroupName reports whether name is a log group name CloudWatch Logs accepts.
func CheckGroupName(name string) error {
	if !groupNameRE.MatchString(name) {
		return invalid("log group name %q must be 1 to 512 characters of a-z, A-Z, 0-9, '_', '-', '/', '.' and '#'", name)
	}
	if strings.HasPrefix(name, "aws/") {
		return invalid("log group names cannot start with \"aws/\"")
	}
	return nil
}

// CheckStreamName reports whether name is a log stream name CloudWatch Logs accepts.
func CheckStreamName(name string) error {
	if name == "" || len(name) > 512 || !utf8.ValidString(name) || strings.ContainsAny(name, ":*") {
		return invalid("log stream name %q must be 1 to 512 characters, without ':' or '*'", name)
	}
	return nil
}

// GroupARN returns a log group's ARN.
func (s *Service) GroupARN(account, group string) string {
	return arn.LogGroup(s.partition, s.region, account, group)
}

// StreamARN returns a log stream's ARN.
func (s *Service) StreamARN(account, group, stream string) string {
	return arn.LogStream(s.partition, s.region, account, group, stream)
}

// GroupStreamsARN returns the ARN of a group's streams (its ARN followed by ":*"), as
// DescribeLogGroups reports it.
func (s *Service) GroupStreamsARN(account, group string) string {
	return arn.LogGroupStreams(s.partition, s.region, account, group)
}

// authorize decides once over every resource an operation touches, any of which may grant it:
// an explicit Deny on any of them denies whatever the others allow; otherwise one Allow
// suffices. A group's own ARN and the pattern of its streams (…:log-group:NAME:*) are both
// resources of the group's operations, as policies name either.
func (s *Service) authorize(ctx context.Context, c Call, action, account string, resources ...string) error {
	var firstDenial error
	allowed := false
	for _, r := range resources {
		_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
			Name: "logs:" + action, Resource: r, ResourceAccount: account, Context: c.Context,
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

func (s *Service) authorizeGroup(ctx context.Context, c Call, action, account, group string) error {
	return s.authorize(ctx, c, action, account, s.GroupARN(account, group), s.GroupStreamsARN(account, group))
}

func (s *Service) authorizeStream(ctx context.Context, c Call, action, account, group, stream string) error {
	return s.authorize(ctx, c, action, account, s.StreamARN(account, group, stream))
}

// groupRef resolves the group a call names: by logGroupName (in the caller's account) or by
// logGroupIdentifier (a name, or an ARN in any account), exactly one of them.
func (s *Service) groupRef(c Call, name, identifier string) (account, group string, err error) {
	switch {
	case name != "" && identifier != "":
		return "", "", invalid("give either logGroupName or logGroupIdentifier, not both")
	case name == "" && identifier == "":
		return "", "", invalid("give logGroupName or logGroupIdentifier")
	case identifier != "" && strings.HasPrefix(identifier, "arn:"):
		a, g, ok := arn.LogGroupOf(identifier)
		if !ok {
			return "", "", invalid("logGroupIdentifier %q is not a log group ARN", identifier)
		}
		if a.Region != s.region {
			return "", "", invalid("logGroupIdentifier %q names region %s; this endpoint serves %s", identifier, a.Region, s.region)
		}
		return a.Account, g, CheckGroupName(g)
	case identifier != "":
		name = identifier
	}
	return c.Caller.Account, name, CheckGroupName(name)
}

func groupMissing() error {
	return errs.E(errs.NotFound, "The specified log group does not exist.")
}

func streamMissing() error {
	return errs.E(errs.NotFound, "The specified log stream does not exist.")
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// CreateGroup creates a log group in the caller's account.
func (s *Service) CreateGroup(ctx context.Context, c Call, name string) (Group, error) {
	if err := CheckGroupName(name); err != nil {
		return Group{}, err
	}
	account := c.Caller.Account
	if err := s.authorizeGroup(ctx, c, "CreateLogGroup", account, name); err != nil {
		return Group{}, err
	}
	g := Group{Account: account, Name: name, CreatedAt: s.now()}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.CreateGroup(ctx, g) })
	if errs.Is(err, errs.Conflict) {
		return Group{}, errs.E(errs.Conflict, "The specified log group already exists")
	}
	return g, err
}

// DeleteGroup deletes a log group of the caller's account with its streams and events.
func (s *Service) DeleteGroup(ctx context.Context, c Call, name string) error {
	if err := CheckGroupName(name); err != nil {
		return err
	}
	account := c.Caller.Account
	if err := s.authorizeGroup(ctx, c, "DeleteLogGroup", account, name); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteGroup(ctx, account, name) })
	if errs.Is(err, errs.NotFound) {
		return groupMissing()
	}
	return err
}

// DescribeGroups lists the caller's log groups by name.
func (s *Service) DescribeGroups(ctx context.Context, c Call, q GroupQuery) ([]Group, error) {
	if q.Prefix != "" && q.Contains != "" {
		return nil, invalid("logGroupNamePrefix and logGroupNamePattern cannot be given together")
	}
	account := c.Caller.Account
	if err := s.authorize(ctx, c, "DescribeLogGroups", account, arn.LogGroup(s.partition, s.region, account, "*")); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = defaultDescribe
	}
	return s.store.ListGroups(ctx, account, q)
}

// CreateStream creates a log stream in a group of the caller's account.
func (s *Service) CreateStream(ctx context.Context, c Call, group, stream string) error {
	if err := CheckGroupName(group); err != nil {
		return err
	}
	if err := CheckStreamName(stream); err != nil {
		return err
	}
	account := c.Caller.Account
	if err := s.authorizeStream(ctx, c, "CreateLogStream", account, group, stream); err != nil {
		return err
	}
	st := Stream{Account: account, Group: group, Name: stream, CreatedAt: s.now()}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.CreateStream(ctx, st) })
	switch {
	case errs.Is(err, errs.Conflict):
		return errs.E(errs.Conflict, "The specified log stream already exists")
	case errs.Is(err, errs.NotFound):
		return groupMissing()
	}
	return err
}

// StreamsInput is what DescribeLogStreams asks.
type StreamsInput struct {
	GroupName, GroupIdentifier string
	Query                      StreamQuery
}

// DescribeStreams lists the streams of a group, by name or by last event time.
func (s *Service) DescribeStreams(ctx context.Context, c Call, in StreamsInput) ([]Stream, error) {
	account, group, err := s.groupRef(c, in.GroupName, in.GroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.Query.ByLastEvent && in.Query.Prefix != "" {
		return nil, invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	if err := s.authorizeGroup(ctx, c, "DescribeLogStreams", account, group); err != nil {
		return nil, err
	}
	if _, err := s.store.GetGroup(ctx, account, group); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, groupMissing()
		}
		return nil, err
	}
	q := in.Query
	if q.Limit <= 0 {
		q.Limit = defaultDescribe
	}
	return s.store.ListStreams(ctx, account, group, q)
}

// InputEvent is one event of a PutLogEvents batch.
type InputEvent struct {
	Timestamp int64 // ms since the epoch
	Message   string
}

// Rejected says which events of a batch were not accepted, as CloudWatch's
// rejectedLogEventsInfo does: [0, TooOldEnd) too old, [TooNewStart, n) too far ahead.
type Rejected struct {
	TooOldEnd   *int
	TooNewStart *int
}

// PutEvents appends a batch of events to a stream of the caller's account. Events more than 14
// days old or more than 2 hours ahead are rejected (and reported) while the rest are stored.
func (s *Service) PutEvents(ctx context.Context, c Call, group, stream string, evs []InputEvent) (Rejected, error) {
	var rej Rejected
	if err := CheckGroupName(group); err != nil {
		return rej, err
	}
	if err := CheckStreamName(stream); err != nil {
		return rej, err
	}
	if len(evs) == 0 || len(evs) > MaxBatchEvents {
		return rej, invalid("a batch holds 1 to %d log events; this one holds %d", MaxBatchEvents, len(evs))
	}
	size := 0
	for i, e := range evs {
		if e.Message == "" {
			return rej, invalid("log event %d has an empty message", i)
		}
		if i > 0 && e.Timestamp < evs[i-1].Timestamp {
			return rej, invalid("Log events in a single PutLogEvents request must be in chronological order.")
		}
		size += len(e.Message) + EventOverhead
	}
	if size > MaxBatchBytes {
		return rej, invalid("Upload too large: %d bytes exceeds limit of %d", size, MaxBatchBytes)
	}
	now := s.now()
	oldest, newest := ms(now.Add(-maxPast)), ms(now.Add(maxFuture))
	lo, hi := 0, len(evs)
	for lo < hi && evs[lo].Timestamp < oldest {
		lo++
	}
	for hi > lo && evs[hi-1].Timestamp > newest {
		hi--
	}
	if lo > 0 {
		rej.TooOldEnd = &lo
	}
	if hi < len(evs) {
		rej.TooNewStart = &hi
	}
	if hi > lo && evs[hi-1].Timestamp-evs[lo].Timestamp > maxSpan.Milliseconds() {
		return Rejected{}, invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	account := c.Caller.Account
	if err := s.authorizeStream(ctx, c, "PutLogEvents", account, group, stream); err != nil {
		return Rejected{}, err
	}
	rows := make([]StoredEvent, 0, hi-lo)
	for _, e := range evs[lo:hi] {
		rows = append(rows, StoredEvent{Timestamp: e.Timestamp, Ingested: ms(now), Message: e.Message})
	}
	if len(rows) == 0 {
		// Nothing to store, but the stream must exist as for any batch.
		if _, err := s.stream(ctx, account, group, stream); err != nil {
			return Rejected{}, err
		}
		return rej, nil
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.AppendEvents(ctx, account, group, stream, rows) })
	if errs.Is(err, errs.NotFound) {
		return Rejected{}, s.whichMissing(ctx, account, group)
	}
	if err != nil {
		return Rejected{}, err
	}
	s.notify(account, group)
	return rej, nil
}

// whichMissing says whether the group or only the stream is missing.
func (s *Service) whichMissing(ctx context.Context, account, group string) error {
	if _, err := s.store.GetGroup(ctx, account, group); errs.Is(err, errs.NotFound) {
		return groupMissing()
	}
	return streamMissing()
}

func (s *Service) stream(ctx context.Context, account, group, name string) (Stream, error) {
	st, err := s.store.GetStream(ctx, account, group, name)
	if errs.Is(err, errs.NotFound) {
		return st, s.whichMissing(ctx, account, group)
	}
	return st, err
}

// Append is the platform's ingestion (the jobs engine's job output): it creates the group and
// the stream when missing and appends the events, in the order given, without authorization
// (the platform writes its own groups) and without an audit record per call. A zero timestamp
// means now; a message longer than an event may be is cut to fit.
func (s *Service) Append(ctx context.Context, account, group, stream string, events []Event) error {
	return s.ingest(ctx, account, group, stream, events, func(tx Tx, rows []StoredEvent) error {
		return tx.AppendEvents(ctx, account, group, stream, rows)
	})
}

// AppendLines is Append for a copier of a process's output, numbering its lines from 0:
// events are lines first, first+1, … of source (the copier's name for that output, unique
// within the stream). The lines the stream already holds are skipped, in the transaction that
// appends the others and records how far source has come, so a copier that starts again
// from an older position (its own progress recorded late, or lost with a killed server)
// appends every line exactly once, in order.
func (s *Service) AppendLines(ctx context.Context, account, group, stream, source string, first int64, events []Event) error {
	if source == "" || first < 0 {
		return errs.E(errs.Internal, "cannot append to the log: no source or a negative line number")
	}
	return s.ingest(ctx, account, group, stream, events, func(tx Tx, rows []StoredEvent) error {
		_, err := tx.AppendLines(ctx, account, group, stream, source, first, rows)
		return err
	})
}

// ingest checks names, turns events into rows and runs add in a transaction that first
// creates the group and the stream when missing.
func (s *Service) ingest(ctx context.Context, account, group, stream string, events []Event, add func(Tx, []StoredEvent) error) error {
	if err := CheckGroupName(group); err != nil {
		return errs.E(errs.Internal, "cannot append to the log", err)
	}
	if err := CheckStreamName(stream); err != nil {
		return errs.E(errs.Internal, "cannot append to the log", err)
	}
	if len(events) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]StoredEvent, 0, len(events))
	for _, e := range events {
		t := e.Timestamp
		if t.IsZero() {
			t = now
		}
		msg := e.Message
		if len(msg) > MaxEventBytes {
			msg = strings.ToValidUTF8(msg[:MaxEventBytes], "")
		}
		rows = append(rows, StoredEvent{Timestamp: ms(t), Ingested: ms(now), Message: msg})
	}
	err := s.store.Ingest(ctx, func(tx Tx) error {
		if err := tx.EnsureGroup(ctx, Group{Account: account, Name: group, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.EnsureStream(ctx, Stream{Account: account, Group: group, Name: stream, CreatedAt: now}); err != nil {
			return err
		}
		return add(tx, rows)
	})
	if err != nil {
		return err
	}
	s.notify(account, group)
	return nil
}

// Changed returns a channel closed at the next append to the group by this process. A
// follower takes it before it reads, and waits on it (Wait) when the read found nothing new, so
// an append between the read and the wait is not missed. Appends by other servers sharing the
// store close nothing here: followers poll as well.
func (s *Service) Changed(account, group string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := account + "\x00" + group
	ch, ok := s.changed[k]
	if !ok {
		ch = make(chan struct{})
		s.changed[k] = ch
	}
	return ch
}

// Wait blocks until changed is closed (an append by this process), poll has passed (for
// appends by other servers), or ctx ends.
func Wait(ctx context.Context, changed <-chan struct{}, poll time.Duration) error {
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-changed:
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) notify(account, group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := account + "\x00" + group
	if ch, ok := s.changed[k]; ok {
		close(ch)
		delete(s.changed, k)
	}
}

func isNotFound(err error) bool { return errs.Is(err, errs.NotFound) }
