package awsapi

import (
	"context"
	"time"
)

// Auditor receives one record for every API call, including calls that failed authentication or
// validation (their Account and PrincipalARN are empty).
type Auditor interface {
	RecordCall(ctx context.Context, rec AuditRecord) error
}

// AuditRecord is what the audit trail keeps about one call.
type AuditRecord struct {
	Time         time.Time
	RequestID    string
	Account      string
	PrincipalARN string
	AccessKeyID  string
	Service      string
	Operation    string
	Resource     string // from the handler's AuditNote
	Decision     string // "allow", "deny" or empty
	Reason       string
	ErrorCode    string // empty on success
	HTTPStatus   int
	SourceIP     string
	UserAgent    string
	Variant      string // from the handler's AuditNote: the production variant an invocation reached

	// DataPlane marks a call of an operation its service declares data plane (Service.DataPlane):
	// the auditor may count an allowed one into an aggregate instead of recording it alone.
	DataPlane bool
	Latency   time.Duration // the server's time on the call, up to its response
	BytesIn   int64         // the request body's length
	BytesOut  int64         // the response body's length
}

// TxAuditor is an Auditor that lets a call's changes commit its record in their own
// transactions. Begin returns the context the handler runs in (carrying the record, which
// record builds as it stands when a change commits) and a function reporting whether a change
// committed it; when one did and the call succeeded, RecordCall is not called.
type TxAuditor interface {
	Auditor
	Begin(ctx context.Context, record func() AuditRecord) (context.Context, func() bool)
}

// auditRecord is what the audit trail keeps about c, as far as the call has gone.
func (s *Server) auditRecord(c *call) AuditRecord {
	svcName, name := "unknown", c.opName
	if c.svc != nil {
		svcName = c.svc.Name
	}
	if c.op != nil {
		name = c.op.Name
	}
	return AuditRecord{
		Time: c.start, RequestID: c.id, Account: c.caller.Account, PrincipalARN: c.caller.ARN,
		AccessKeyID: c.keyID, Service: svcName, Operation: bound(name, maxOperation),
		Resource: c.note.Resource, Decision: c.note.Decision, Reason: c.note.Reason,
		ErrorCode: c.errCode, HTTPStatus: c.status, SourceIP: sourceIP(c.r), UserAgent: bound(c.r.UserAgent(), maxUserAgent),
		Variant: bound(c.note.Variant, maxOperation), DataPlane: c.dataPlane(), BytesIn: c.bytesIn, BytesOut: c.bytesOut,
	}
}

// dataPlane reports whether c is a call of an operation its service declares data plane.
func (c *call) dataPlane() bool {
	return c.svc != nil && c.op != nil && c.svc.DataPlane[c.op.Name]
}
