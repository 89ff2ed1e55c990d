package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// AuditQuery is the audit page's search: every field given must match.
type AuditQuery struct {
	Principal string // a substring of the principal's ARN
	Account   string // the account id
	Action    string // service:operation, or a substring of it
	Resource  string // a substring of the resource
	From, To  time.Time
	Verify    bool // verify the chain too
}

// The bounds of one search: records scanned (newest first) and records shown.
const (
	auditScan  = 20000
	auditShown = 200
)

// ParseAuditQuery reads the audit page's query string. Times are RFC 3339, or a date and a
// time as a browser's datetime-local input sends them (UTC).
func ParseAuditQuery(q url.Values) (AuditQuery, error) {
	out := AuditQuery{
		Principal: strings.TrimSpace(q.Get("principal")), Account: strings.TrimSpace(q.Get("account")),
		Action: strings.TrimSpace(q.Get("action")), Resource: strings.TrimSpace(q.Get("resource")),
		Verify: q.Get("verify") != "",
	}
	for _, f := range []string{out.Principal, out.Account, out.Action, out.Resource} {
		if len(f) > 2048 {
			return AuditQuery{}, errs.E(errs.Invalid, "a search field is at most 2048 characters").WithCode("ValidationException")
		}
	}
	var err error
	if out.From, err = parseTime(q.Get("from")); err != nil {
		return AuditQuery{}, err
	}
	if out.To, err = parseTime(q.Get("to")); err != nil {
		return AuditQuery{}, err
	}
	if !out.From.IsZero() && !out.To.IsZero() && out.To.Before(out.From) {
		return AuditQuery{}, errs.E(errs.Invalid, "the search ends (to) before it starts (from)").WithCode("ValidationException")
	}
	return out, nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return time.Time{}, errs.E(errs.Invalid, "%q is not a time (use 2006-01-02T15:04:05Z)", s).WithCode("ValidationException")
}

// Match reports whether r matches the query. An aggregate record (invocations counted over a
// window) matches a time range its calls overlap.
func (q AuditQuery) Match(r audit.Record) bool {
	action := r.Service + ":" + r.Operation
	last := r.Time
	if r.Aggregate != nil && r.Aggregate.Last.After(last) {
		last = r.Aggregate.Last
	}
	return (q.Principal == "" || strings.Contains(r.PrincipalARN, q.Principal)) &&
		(q.Account == "" || r.Account == q.Account) &&
		(q.Action == "" || strings.Contains(strings.ToLower(action), strings.ToLower(q.Action))) &&
		(q.Resource == "" || strings.Contains(r.Resource, q.Resource)) &&
		(q.From.IsZero() || !last.Before(q.From)) &&
		(q.To.IsZero() || r.Time.Before(q.To))
}

type auditEntry struct {
	Seq int64
	audit.Record
}

type auditData struct {
	Query    AuditQuery
	Raw      url.Values
	Records  []auditEntry
	Calls    int64 // the calls the records shown stand for (an aggregate stands for many)
	Scanned  int
	Scope    string // whose records the principal may search
	Verified string // the chain's verification outcome, when asked
	Broken   bool
}

// auditPage searches the audit trail. It is authorized as cloudtrail:LookupEvents; a
// principal of the management account searches every account's records, any other principal
// its own account's.
func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Audit", "audit")
	d := auditData{Raw: r.URL.Query()}
	q, err := ParseAuditQuery(r.URL.Query())
	if err == nil {
		err = c.call(r.Context(), r, s, "cloudtrail", "LookupEvents", func(ctx context.Context, call identity.Call) error {
			_, err := c.cfg.Identity.Authorize(ctx, call.Caller, identity.Action{
				Name: "cloudtrail:LookupEvents", Resource: "*", ResourceAccount: call.Caller.Account, Context: call.Context,
			})
			return err
		})
	}
	if err != nil {
		v.Error = c.problem(err)
		v.Data = d
		c.render(w, r, statusOf(err), "audit", v)
		return
	}
	d.Query = q
	all := false
	if o, err := c.cfg.Org.Organization(r.Context()); err == nil && o.ManagementAccount == s.caller.Account {
		all = true
	}
	d.Scope = "account " + s.caller.Account
	if all {
		d.Scope = "every account (management account)"
	}
	ctx := r.Context()
	head, _, err := c.cfg.Trail.AuditHead(ctx)
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, http.StatusInternalServerError, "audit", v)
		return
	}
	const window = 500
	for end := head; end > 0 && d.Scanned < auditScan && len(d.Records) < auditShown; end -= window {
		after := max(end-window, 0)
		recs, err := c.window(ctx, after, end)
		if err != nil {
			v.Error = c.problem(err)
			c.render(w, r, http.StatusInternalServerError, "audit", v)
			return
		}
		for i := len(recs) - 1; i >= 0 && len(d.Records) < auditShown; i-- {
			d.Scanned++
			var rec audit.Record
			if json.Unmarshal(recs[i].Body, &rec) != nil {
				continue
			}
			if (all || rec.Account == s.caller.Account) && q.Match(rec) {
				d.Records = append(d.Records, auditEntry{Seq: recs[i].Seq, Record: rec})
				d.Calls += rec.Calls()
			}
		}
	}
	if q.Verify {
		n, problem, err := audit.Verify(ctx, c.cfg.Trail)
		switch {
		case err != nil:
			d.Verified = c.problem(err)
		case problem != nil:
			d.Verified, d.Broken = "the chain is broken at "+problem.String()+" ("+strconv.FormatInt(n, 10)+" records before it are intact)", true
		default:
			d.Verified = "the chain is intact: " + strconv.FormatInt(n, 10) + " records verified"
		}
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "audit", v)
}

// window reads the records after seq after up to seq end, in order (the store answers in
// whole batches, which may reach past end).
func (c *Console) window(ctx context.Context, after, end int64) ([]audit.Stored, error) {
	var out []audit.Stored
	for cursor := after; cursor < end; {
		recs, err := c.cfg.Trail.AuditRecords(ctx, cursor, int(end-cursor))
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.Seq > cursor && r.Seq <= end {
				out = append(out, r)
			}
		}
		cursor = recs[len(recs)-1].Seq
	}
	return out, nil
}
