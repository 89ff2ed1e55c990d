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
}
