package logs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// A GetLogEvents token names a position in a stream and a direction, as CloudWatch's do:
// "f/<position>/s" reads the events after the position, "b/<position>/s" those before it. The
// position is the (timestamp, sequence) key of an event, or a boundary between keys, written as
// 40 digits. A read that finds nothing more answers the same token it was given, which is how
// paginators and log tailers (the SageMaker SDK's among them) know they reached the end.
type token struct {
	backward bool
	at       Key
}

func (t token) String() string {
	d := "f"
	if t.backward {
		d = "b"
	}
	return fmt.Sprintf("%s/%020d%020d/s", d, t.at.Timestamp, t.at.Seq)
}

func parseToken(s string) (token, error) {
	bad := invalid("The specified nextToken is invalid.")
	var t token
	switch {
	case strings.HasPrefix(s, "f/"):
	case strings.HasPrefix(s, "b/"):
		t.backward = true
	default:
		return t, bad
	}
	digits := strings.TrimSuffix(s[2:], "/s")
	if len(digits) != 40 || strings.Trim(digits, "0123456789") != "" {
		return t, bad
	}
	ts, err1 := strconv.ParseInt(digits[:20], 10, 64)
	seq, err2 := strconv.ParseInt(digits[20:], 10, 64)
	if err1 != nil || err2 != nil || ts < 0 || seq < 0 {
		return t, bad
	}
	t.at = Key{ts, seq}
	return t, nil
}

// GetInput is what GetLogEvents asks.
type GetInput struct {
	GroupName, GroupIdentifier string
	Stream                     string
	Start, End                 *int64 // ms; Start inclusive, End exclusive
	Token                      string
	Limit                      int
	FromHead                   bool
}

// GetOutput is a page of a stream's events, ascending, with the tokens to move on.
type GetOutput struct {
	Events                []StoredEvent
	NextForward, NextBack string
}

// GetEvents reads a page of a stream's events: from the head or the tail of the time range,
// or onward from a token in the token's direction.
func (s *Service) GetEvents(ctx context.Context, c Call, in GetInput) (GetOutput, error) {
	account, group, err := s.groupRef(c, in.GroupName, in.GroupIdentifier)
	if err != nil {
		return GetOutput{}, err
	}
	if err := CheckStreamName(in.Stream); err != nil {
		return GetOutput{}, err
	}
	var tok *token
	if in.Token != "" {
		t, err := parseToken(in.Token)
		if err != nil {
			return GetOutput{}, err
		}
		tok = &t
	}
	limit := in.Limit
	if limit <= 0 || limit > MaxPageEvents {
		limit = MaxPageEvents
	}
	if err := s.authorizeStream(ctx, c, "GetLogEvents", account, group, in.Stream); err != nil {
		return GetOutput{}, err
	}
	st, err := s.stream(ctx, account, group, in.Stream)
	if err != nil {
		return GetOutput{}, err
	}
	r := EventRange{Limit: limit}
	if in.Start != nil {
		r.Start = *in.Start
	}
	if in.End != nil {
		r.End = *in.End
	}
	switch {
	case tok != nil:
		r.From, r.Backward = tok.at, tok.backward
	case in.FromHead:
		r.From = Key{Timestamp: max(r.Start, 0)} // before every event of the range: sequences start at 1
	default:
		r.Backward = true
		r.From = Key{Timestamp: 1<<63 - 1}
		if r.End > 0 {
			r.From = Key{Timestamp: r.End}
		}
	}
	evs, err := s.store.ReadEvents(ctx, st.ID, r)
	if err != nil {
		return GetOutput{}, err
	}
	evs = fitPage(evs, r.Backward)
	if r.Backward {
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
	out := GetOutput{Events: evs}
	if len(evs) > 0 {
		first, last := evs[0], evs[len(evs)-1]
		out.NextForward = token{at: Key{last.Timestamp, last.Seq}}.String()
		out.NextBack = token{backward: true, at: Key{first.Timestamp, first.Seq}}.String()
		return out, nil
	}
	// Nothing here: the token given comes back in its direction; the other direction starts
	// at the same place.
	at := r.From
	if tok == nil && !in.FromHead {
		at = Key{Timestamp: max(r.Start, 0)}
	}
	if r.Backward && tok != nil {
		out.NextBack = in.Token
		out.NextForward = token{at: Key{at.Timestamp, max(at.Seq-1, 0)}}.String()
	} else {
		out.NextForward = token{at: at}.String()
		if tok != nil {
			out.NextForward = in.Token
		}
		out.NextBack = token{backward: true, at: Key{at.Timestamp, at.Seq + 1}}.String()
	}
	return out, nil
}

// fitPage keeps what fits in one page's bytes: the first events read (the nearest to where
// the read started, in its direction).
func fitPage(evs []StoredEvent, _ bool) []StoredEvent {
	size := 0
	for i, e := range evs {
		size += len(e.Message) + EventOverhead
		if size > MaxPageBytes {
			return evs[:max(i, 1)]
		}
	}
	return evs
}

// FilterInput is what FilterLogEvents asks.
type FilterInput struct {
	GroupName, GroupIdentifier string
	Streams                    []string
	Prefix                     string
	Start, End                 *int64 // ms, both inclusive
	Pattern                    string
	After                      *ScanKey
	Limit                      int
}

// FilterOutput is a page of matching events, ordered by time, and where to go on from (nil at
// the end).
type FilterOutput struct {
	Events []StoredEvent
	Next   *ScanKey
}

// FilterEvents searches a group's events, across its streams, for those matching a filter
// pattern. A page may hold fewer events than asked, even none, with a cursor to go on from:
// one call examines a bounded number of events.
func (s *Service) FilterEvents(ctx context.Context, c Call, in FilterInput) (FilterOutput, error) {
	account, group, err := s.groupRef(c, in.GroupName, in.GroupIdentifier)
	if err != nil {
		return FilterOutput{}, err
	}
	if len(in.Streams) > 0 && in.Prefix != "" {
		return FilterOutput{}, invalid("logStreamNames and logStreamNamePrefix cannot be given together")
	}
	for _, n := range in.Streams {
		if err := CheckStreamName(n); err != nil {
			return FilterOutput{}, err
		}
	}
	p, err := ParsePattern(in.Pattern)
	if err != nil {
		return FilterOutput{}, err
	}
	limit := in.Limit
	if limit <= 0 || limit > MaxPageEvents {
		limit = MaxPageEvents
	}
	if err := s.authorizeGroup(ctx, c, "FilterLogEvents", account, group); err != nil {
		return FilterOutput{}, err
	}
	if _, err := s.store.GetGroup(ctx, account, group); err != nil {
		if isNotFound(err) {
			return FilterOutput{}, groupMissing()
		}
		return FilterOutput{}, err
	}
	q := ScanQuery{Streams: in.Streams, Prefix: in.Prefix, After: in.After}
	if in.Start != nil {
		q.Start = *in.Start
	}
	if in.End != nil {
		q.End = *in.End
	}
	var out FilterOutput
	size, scanned := 0, 0
	for {
		q.Limit = min(1000, scanBudget-scanned)
		batch, err := s.store.ScanEvents(ctx, account, group, q)
		if err != nil {
			return FilterOutput{}, err
		}
		for _, e := range batch {
			k := ScanKey{e.Timestamp, e.StreamID, e.Seq}
			scanned++
			if p.Match(e.Message) {
				if size+len(e.Message)+EventOverhead > MaxPageBytes && len(out.Events) > 0 {
					out.Next = q.After
					return out, nil
				}
				out.Events = append(out.Events, e)
				size += len(e.Message) + EventOverhead
			}
			q.After = &k
			if len(out.Events) == limit {
				out.Next = q.After
				return out, nil
			}
		}
		if len(batch) < q.Limit {
			return out, nil // the end
		}
		if scanned >= scanBudget {
			out.Next = q.After // a partial page: more may follow
			return out, nil
		}
	}
}
