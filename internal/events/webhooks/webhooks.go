// Package webhooks is EventBridge's connections and API destinations: HTTP endpoints that rule
// targets call with an event, authorized by a connection's API key, basic credentials or an
// OAuth client-credentials token.
//
// Invariants:
//   - Every call is authorized here on the connection or destination it touches
//     (events:Action); an explicit Deny wins. Resources belong to the caller's account.
//   - A connection's secrets (the API key's value, the basic password, the OAuth client
//     secret and the OAuth parameters marked secret) are sealed with the server's master key,
//     bound to the connection's ARN, before they reach the store; no operation returns them,
//     and no error or log line carries them. OAuth tokens live in memory only.
//   - An OAuth token is fetched from the connection's AuthorizationEndpoint only where the
//     egress allow-list lets it, as API destinations are called; it is cached until it
//     expires and fetched again, once, when a destination answers 401.
//   - Bad input gets a ValidationException and changes nothing; a destination names a
//     connection of its own account; a connection in use by a destination is not deleted.
//   - Delivery (Deliverer) calls an endpoint only as the target's role, allowed
//     events:InvokeApiDestination on the destination, only in the rule's account, only where
//     the operator's egress allow-list lets it (package egress), at most at the destination's
//     rate.
package webhooks

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/identity"
)

// AuthType is how a connection authorizes its calls.
type AuthType string

// The authorization types served.
const (
	APIKey AuthType = "API_KEY"
	Basic  AuthType = "BASIC"
	OAuth  AuthType = "OAUTH_CLIENT_CREDENTIALS"
)

// ConnectionState is a connection's state.
type ConnectionState string

// The states of a connection. Creating and updating complete at once here, so CREATING and
// UPDATING are never seen; an OAuth connection is AUTHORIZING until its first token is
// fetched (AUTHORIZED) or refused (DEAUTHORIZED).
const (
	Authorizing  ConnectionState = "AUTHORIZING"
	Authorized   ConnectionState = "AUTHORIZED"
	Deauthorized ConnectionState = "DEAUTHORIZED"
)

// OAuthConfig is how an OAUTH_CLIENT_CREDENTIALS connection asks for its token.
type OAuthConfig struct {
	Endpoint string // AuthorizationEndpoint
	Method   string // GET | POST | PUT
	ClientID string
	// The OAuthHttpParameters added to the token request.
	Headers, Query, Body []Param `json:",omitempty"`
}

// Param is an OAuth HTTP parameter; a secret one's value is sealed.
type Param struct {
	Key    string
	Value  string `json:",omitempty"` // "" when Secret
	Secret bool   `json:",omitempty"`
	Sealed string `json:",omitempty"`
}

// Connection is an EventBridge connection.
type Connection struct {
	Account     string
	Name        string
	ID          string // the ARN's last part
	ARN         string
	Description string
	AuthType    AuthType
	State       ConnectionState
	// The non-secret parts of the authorization, shown by DescribeConnection.
	APIKeyName string       `json:",omitempty"`
	Username   string       `json:",omitempty"`
	OAuth      *OAuthConfig `json:",omitempty"`
	// Sealed is the secret (API key value, password or OAuth client secret), sealed with the
	// master key and bound to ARN; "" once deauthorized.
	Sealed       string `json:",omitempty"`
	StateReason  string `json:",omitempty"`
	CreatedAt    time.Time
	ModifiedAt   time.Time
	AuthorizedAt time.Time
}

// DestinationState is an API destination's state.
type DestinationState string

// The states of an API destination.
const (
	Active   DestinationState = "ACTIVE"
	Inactive DestinationState = "INACTIVE"
)

// Destination is an API destination.
type Destination struct {
	Account       string
	Name          string
	ID            string
	ARN           string
	Description   string
	ConnectionARN string
	Endpoint      string // InvocationEndpoint: an http(s) URL whose path may hold "*" wildcards
	Method        string
	RateLimit     int // InvocationRateLimitPerSecond
	State         DestinationState
	CreatedAt     time.Time
	ModifiedAt    time.Time
}

// DefaultRateLimit is EventBridge's default InvocationRateLimitPerSecond.
const DefaultRateLimit = 300

// Store persists connections and destinations. Reads stand alone; changes go through
// Update (the call's audit record commits with them).
type Store interface {
	GetConnection(ctx context.Context, account, name string) (Connection, error)
	// ListConnections lists an account's connections by name after after (exclusive).
	ListConnections(ctx context.Context, account, prefix, after string, limit int) ([]Connection, error)
	GetDestination(ctx context.Context, account, name string) (Destination, error)
	// ListDestinations lists an account's destinations by name after after (exclusive).
	ListDestinations(ctx context.Context, account, prefix, after string, limit int) ([]Destination, error)
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is one store transaction.
type Tx interface {
	// CreateConnection inserts; errs.Conflict when the name is taken.
	CreateConnection(ctx context.Context, c Connection) error
	PutConnection(ctx context.Context, c Connection) error
	// DeleteConnection deletes; errs.NotFound when missing.
	DeleteConnection(ctx context.Context, account, name string) error
	// CreateDestination inserts; errs.Conflict when the name is taken.
	CreateDestination(ctx context.Context, d Destination) error
	PutDestination(ctx context.Context, d Destination) error
	DeleteDestination(ctx context.Context, account, name string) error
	// DestinationsUsing counts an account's destinations that name a connection.
	DestinationsUsing(ctx context.Context, account, connectionARN string) (int, error)
}

// Sealer seals secrets with the master key (package identity implements it).
type Sealer interface {
	Seal(plaintext, context string) string
	Open(sealed, context string) (string, error)
}

// Authorizer decides whether a caller may act (package identity implements it).
type Authorizer interface {
	Authorize(ctx context.Context, caller identity.Caller, a identity.Action) (string, error)
}

// Call is who asks (the rules service's call: the same API).
type Call = rules.Call
