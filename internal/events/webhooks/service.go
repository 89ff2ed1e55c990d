package webhooks

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/randid"
)

// Service is the connections and API destinations API.
type Service struct {
	store     Store
	authz     Authorizer
	seal      Sealer
	region    string
	partition string
	now       func() time.Time
	// authorizing, when set, is told of an OAuth connection that waits for its first token
	// (after the change is committed).
	authorizing func(account, name string)
}

// OnAuthorizing sets who fetches the first token of an OAuth connection created or updated
// (the Deliverer's Authorize).
func (s *Service) OnAuthorizing(fn func(account, name string)) { s.authorizing = fn }

func (s *Service) kick(c Connection) {
	if c.AuthType == OAuth && c.State == Authorizing && s.authorizing != nil {
		s.authorizing(c.Account, c.Name)
	}
}

// NewService returns a Service whose ARNs name region.
func NewService(st Store, authz Authorizer, seal Sealer, region string, now func() time.Time) *Service {
	return &Service{store: st, authz: authz, seal: seal, region: region, partition: "aws", now: now}
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationException")
}

var (
	nameRE       = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
	apiKeyNameRE = regexp.MustCompile(`^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$`)
	secretRE     = regexp.MustCompile(`^[^\x00-\x1F\x7F]+$`)
	usernameRE   = regexp.MustCompile(`^[^\x00-\x1F\x7F:]+$`)
)

// The HTTP methods an API destination may use.
var methods = map[string]bool{"POST": true, "GET": true, "HEAD": true, "OPTIONS": true, "PUT": true, "PATCH": true, "DELETE": true}

func checkName(what, name string) error {
	if !nameRE.MatchString(name) {
		return invalid("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: %s names are 1 to 64 characters of [.-_A-Za-z0-9]", name, what)
	}
	return nil
}

// ConnectionARN is the ARN of a connection.
func (s *Service) ConnectionARN(account, name, id string) string {
	return arn.EventConnection(s.partition, s.region, account, name, id)
}

// DestinationARN is the ARN of an API destination.
func (s *Service) DestinationARN(account, name, id string) string {
	return arn.APIDestination(s.partition, s.region, account, name, id)
}

// every is the resource of a list operation: every connection or destination of an account.
func (s *Service) every(account, resource string) string {
	return arn.ARN{Partition: s.partition, Service: "events", Region: s.region, Account: account, Resource: resource}.String()
}

func (s *Service) authorize(ctx context.Context, c Call, action, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "events:" + action, Resource: resource, ResourceAccount: c.Caller.Account, Context: c.Context,
	})
	return err
}

func connectionMissing(name string) error {
	return errs.E(errs.NotFound, "Failed to describe the connection(s). Connection '%s' does not exist.", name).WithCode("ResourceNotFoundException")
}

func destinationMissing(name string) error {
	return errs.E(errs.NotFound, "Failed to describe the api-destination(s). An api-destination '%s' does not exist.", name).WithCode("ResourceNotFoundException")
}

// connection authorizes action on an existing connection of the caller's account and reads
// it. A connection that does not exist is authorized on its name's every ARN first, so a
// caller denied everything learns nothing.
func (s *Service) connection(ctx context.Context, c Call, action, name string) (Connection, error) {
	if err := checkName("connection", name); err != nil {
		return Connection{}, err
	}
	conn, err := s.store.GetConnection(ctx, c.Caller.Account, name)
	resource := s.ConnectionARN(c.Caller.Account, name, "*")
	if err == nil {
		resource = conn.ARN
	} else if !errs.Is(err, errs.NotFound) {
		return Connection{}, err
	}
	if aerr := s.authorize(ctx, c, action, resource); aerr != nil {
		return Connection{}, aerr
	}
	if err != nil {
		return Connection{}, connectionMissing(name)
	}
	return conn, nil
}

// AuthInput is a connection's authorization as a call gives it. Update keeps what it omits.
type AuthInput struct {
	Type           AuthType
	APIKeyName     string
	APIKeyValue    string
	Username       string
	Password       string
	HasAPIKey      bool        // ApiKeyAuthParameters given
	HasBasic       bool        // BasicAuthParameters given
	OAuth          *OAuthInput // OAuthParameters given
	HTTPParameters bool        // InvocationHttpParameters given (refused)
}

// ConnectionInput is what CreateConnection and UpdateConnection set.
type ConnectionInput struct {
	Name        string
	Description *string
	Auth        AuthInput
}

func checkAuthCommon(a AuthInput) error {
	if a.HTTPParameters {
		return invalid("AuthParameters.InvocationHttpParameters is not supported by this server; give headers and query parameters in the target's HttpParameters")
	}
	if n := btoi(a.HasAPIKey) + btoi(a.HasBasic) + btoi(a.OAuth != nil); n > 1 {
		return invalid("AuthParameters must hold the parameters of one authorization type")
	}
	return nil
}

func checkDescription(d *string) error {
	if d != nil && len(*d) > 512 {
		return invalid("Description is longer than 512 characters")
	}
	return nil
}

// applyAuth validates a and writes it into conn (sealing the secret).
func (s *Service) applyAuth(conn *Connection, a AuthInput) error {
	switch conn.AuthType {
	case APIKey:
		if !a.HasAPIKey {
			return invalid("AuthParameters.ApiKeyAuthParameters is required for AuthorizationType API_KEY")
		}
		if len(a.APIKeyName) > 512 || !apiKeyNameRE.MatchString(a.APIKeyName) {
			return invalid("ApiKeyAuthParameters.ApiKeyName must be 1 to 512 characters of a valid header name")
		}
		if len(a.APIKeyValue) > 512 || !secretRE.MatchString(a.APIKeyValue) {
			return invalid("ApiKeyAuthParameters.ApiKeyValue must be 1 to 512 printable characters")
		}
		conn.APIKeyName, conn.Username = strings.TrimSpace(a.APIKeyName), ""
		conn.Sealed = s.seal.Seal(a.APIKeyValue, conn.ARN)
	case Basic:
		if !a.HasBasic {
			return invalid("AuthParameters.BasicAuthParameters is required for AuthorizationType BASIC")
		}
		if len(a.Username) > 512 || !usernameRE.MatchString(a.Username) {
			return invalid("BasicAuthParameters.Username must be 1 to 512 printable characters without ':'")
		}
		if len(a.Password) > 512 || !secretRE.MatchString(a.Password) {
			return invalid("BasicAuthParameters.Password must be 1 to 512 printable characters")
		}
		conn.Username, conn.APIKeyName = a.Username, ""
		conn.Sealed = s.seal.Seal(a.Password, conn.ARN)
	case OAuth:
		if a.OAuth == nil {
			return invalid("AuthParameters.OAuthParameters is required for AuthorizationType OAUTH_CLIENT_CREDENTIALS")
		}
		cfg, secret, err := s.oauthConfig(conn, *a.OAuth)
		if err != nil {
			return err
		}
		conn.APIKeyName, conn.Username, conn.OAuth = "", "", &cfg
		conn.Sealed = s.seal.Seal(secret, conn.ARN)
		// The token is fetched after the change commits (Deliverer.Authorize).
		conn.State, conn.StateReason, conn.AuthorizedAt = Authorizing, "", time.Time{}
		return nil
	default:
		return invalid("1 validation error detected: Value '%s' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [API_KEY, BASIC, OAUTH_CLIENT_CREDENTIALS]", conn.AuthType)
	}
	conn.OAuth, conn.StateReason = nil, ""
	conn.State = Authorized
	conn.AuthorizedAt = s.now()
	return nil
}

// CreateConnection creates a connection.
func (s *Service) CreateConnection(ctx context.Context, c Call, in ConnectionInput) (Connection, error) {
	if err := checkName("connection", in.Name); err != nil {
		return Connection{}, err
	}
	if err := checkAuthCommon(in.Auth); err != nil {
		return Connection{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return Connection{}, err
	}
	now := s.now()
	id := randid.UUID()
	conn := Connection{Account: c.Caller.Account, Name: in.Name, ID: id, ARN: s.ConnectionARN(c.Caller.Account, in.Name, id),
		AuthType: in.Auth.Type, CreatedAt: now, ModifiedAt: now}
	if in.Description != nil {
		conn.Description = *in.Description
	}
	if err := s.applyAuth(&conn, in.Auth); err != nil {
		return Connection{}, err
	}
	if err := s.authorize(ctx, c, "CreateConnection", conn.ARN); err != nil {
		return Connection{}, err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.CreateConnection(ctx, conn) })
	if errs.Is(err, errs.Conflict) {
		return Connection{}, errs.E(errs.Conflict, "Connection %s already exists.", in.Name).WithCode("ResourceAlreadyExistsException")
	}
	if err == nil {
		s.kick(conn)
	}
	return conn, err
}

// DescribeConnection returns a connection (its secret stays sealed; adapters never show it).
func (s *Service) DescribeConnection(ctx context.Context, c Call, name string) (Connection, error) {
	return s.connection(ctx, c, "DescribeConnection", name)
}

// ListConnections lists the caller's connections by name.
func (s *Service) ListConnections(ctx context.Context, c Call, prefix string, state ConnectionState, after string, limit int) ([]Connection, error) {
	if len(prefix) > 64 {
		return nil, invalid("NamePrefix is longer than 64 characters")
	}
	switch state {
	case "", Authorized, Deauthorized:
	case "CREATING", "UPDATING", "DELETING", "AUTHORIZING", "DEAUTHORIZING", "ACTIVE", "FAILED_CONNECTIVITY":
	default:
		return nil, invalid("1 validation error detected: Value '%s' at 'connectionState' failed to satisfy constraint: Member must satisfy enum value set", state)
	}
	if err := s.authorize(ctx, c, "ListConnections", s.every(c.Caller.Account, "connection/*")); err != nil {
		return nil, err
	}
	var out []Connection
	for len(out) < limit {
		page, err := s.store.ListConnections(ctx, c.Caller.Account, prefix, after, limit)
		if err != nil || len(page) == 0 {
			return out, err
		}
		for _, x := range page {
			if state == "" || x.State == state {
				out = append(out, x)
			}
		}
		after = page[len(page)-1].Name
	}
	return out[:min(len(out), limit)], nil
}

// UpdateConnection changes a connection's description and authorization (secrets given
// replace the sealed ones; a deauthorized connection given its secret again is authorized).
func (s *Service) UpdateConnection(ctx context.Context, c Call, in ConnectionInput) (Connection, error) {
	if err := checkAuthCommon(in.Auth); err != nil {
		return Connection{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return Connection{}, err
	}
	conn, err := s.connection(ctx, c, "UpdateConnection", in.Name)
	if err != nil {
		return Connection{}, err
	}
	if in.Auth.Type != "" && in.Auth.Type != conn.AuthType {
		conn.AuthType = in.Auth.Type
		if err := s.applyAuth(&conn, in.Auth); err != nil {
			return Connection{}, err
		}
	} else if in.Auth.OAuth != nil && conn.AuthType == OAuth {
		o, err := s.mergeOAuth(conn, *in.Auth.OAuth)
		if err != nil {
			return Connection{}, err
		}
		a := in.Auth
		a.OAuth = &o
		if err := s.applyAuth(&conn, a); err != nil {
			return Connection{}, err
		}
	} else if in.Auth.HasAPIKey || in.Auth.HasBasic {
		a := in.Auth
		// Members omitted keep their values: the name or user from the row, the secret sealed.
		if conn.AuthType == APIKey && a.APIKeyName == "" {
			a.APIKeyName = conn.APIKeyName
		}
		if conn.AuthType == Basic && a.Username == "" {
			a.Username = conn.Username
		}
		if (conn.AuthType == APIKey && a.APIKeyValue == "") || (conn.AuthType == Basic && a.Password == "") {
			if conn.Sealed == "" {
				return Connection{}, invalid("connection %s is deauthorized: give its secret to authorize it again", conn.Name)
			}
			old, err := s.seal.Open(conn.Sealed, conn.ARN)
			if err != nil {
				return Connection{}, err
			}
			a.APIKeyValue, a.Password = old, old
		}
		if err := s.applyAuth(&conn, a); err != nil {
			return Connection{}, err
		}
	}
	if in.Description != nil {
		conn.Description = *in.Description
	}
	conn.ModifiedAt = s.now()
	if err := s.store.Update(ctx, func(tx Tx) error { return tx.PutConnection(ctx, conn) }); err != nil {
		return Connection{}, err
	}
	s.kick(conn)
	return conn, nil
}

// DeauthorizeConnection forgets a connection's secret: its destinations' calls fail until it
// is updated with a secret again.
func (s *Service) DeauthorizeConnection(ctx context.Context, c Call, name string) (Connection, error) {
	conn, err := s.connection(ctx, c, "DeauthorizeConnection", name)
	if err != nil {
		return Connection{}, err
	}
	conn.Sealed, conn.State, conn.StateReason, conn.ModifiedAt = "", Deauthorized, "Deauthorized by DeauthorizeConnection", s.now()
	return conn, s.store.Update(ctx, func(tx Tx) error { return tx.PutConnection(ctx, conn) })
}

// DeleteConnection deletes a connection no destination uses.
func (s *Service) DeleteConnection(ctx context.Context, c Call, name string) (Connection, error) {
	conn, err := s.connection(ctx, c, "DeleteConnection", name)
	if err != nil {
		return Connection{}, err
	}
	return conn, s.store.Update(ctx, func(tx Tx) error {
		n, err := tx.DestinationsUsing(ctx, conn.Account, conn.ARN)
		if err != nil {
			return err
		}
		if n > 0 {
			return invalid("Connection %s is used by %d API destination(s); delete them first", name, n)
		}
		return tx.DeleteConnection(ctx, conn.Account, conn.Name)
	})
}

// DestinationInput is what CreateApiDestination and UpdateApiDestination set (nil: kept).
type DestinationInput struct {
	Name          string
	Description   *string
	ConnectionARN *string
	Endpoint      *string
	Method        *string
	RateLimit     *int
}

// CheckEndpoint validates an InvocationEndpoint: an http(s) URL with a host, no user
// information, at most 2048 characters. Whether the server may call it is decided at
// delivery by the egress allow-list.
func CheckEndpoint(raw string) error {
	if len(raw) == 0 || len(raw) > 2048 {
		return invalid("InvocationEndpoint must be 1 to 2048 characters")
	}
	if !strings.HasPrefix(raw, "https://") && !strings.HasPrefix(raw, "http://") {
		return invalid("InvocationEndpoint %q must be an http:// or https:// URL", raw)
	}
	if _, err := endpointURL(raw, nil); err != nil {
		return invalid("InvocationEndpoint %q is not valid: %s", raw, errs.Message(err))
	}
	return nil
}

func (s *Service) destination(ctx context.Context, c Call, action, name string) (Destination, error) {
	if err := checkName("api-destination", name); err != nil {
		return Destination{}, err
	}
	d, err := s.store.GetDestination(ctx, c.Caller.Account, name)
	resource := s.DestinationARN(c.Caller.Account, name, "*")
	if err == nil {
		resource = d.ARN
	} else if !errs.Is(err, errs.NotFound) {
		return Destination{}, err
	}
	if aerr := s.authorize(ctx, c, action, resource); aerr != nil {
		return Destination{}, aerr
	}
	if err != nil {
		return Destination{}, destinationMissing(name)
	}
	return d, nil
}

// applyDestination validates in's members and writes them into d.
func (s *Service) applyDestination(ctx context.Context, c Call, d *Destination, in DestinationInput) error {
	if err := checkDescription(in.Description); err != nil {
		return err
	}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if in.Endpoint != nil {
		if err := CheckEndpoint(*in.Endpoint); err != nil {
			return err
		}
		d.Endpoint = *in.Endpoint
	}
	if in.Method != nil {
		if !methods[*in.Method] {
			return invalid("1 validation error detected: Value '%s' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]", *in.Method)
		}
		d.Method = *in.Method
	}
	if in.RateLimit != nil {
		if *in.RateLimit < 1 || *in.RateLimit > 300 {
			return invalid("InvocationRateLimitPerSecond must be between 1 and 300")
		}
		d.RateLimit = *in.RateLimit
	}
	if in.ConnectionARN != nil {
		a, name, _, ok := arn.EventConnectionOf(*in.ConnectionARN)
		if !ok {
			return invalid("ConnectionArn %s is not a connection ARN", *in.ConnectionARN)
		}
		if a.Account != c.Caller.Account || a.Region != s.region {
			return invalid("ConnectionArn %s names another account or region: an API destination uses a connection of its own account", *in.ConnectionARN)
		}
		conn, err := s.store.GetConnection(ctx, a.Account, name)
		if errs.Is(err, errs.NotFound) || (err == nil && conn.ARN != *in.ConnectionARN) {
			return errs.E(errs.NotFound, "Connection %s does not exist.", *in.ConnectionARN).WithCode("ResourceNotFoundException")
		}
		if err != nil {
			return err
		}
		d.ConnectionARN = conn.ARN
	}
	return nil
}

// CreateDestination creates an API destination.
func (s *Service) CreateDestination(ctx context.Context, c Call, in DestinationInput) (Destination, error) {
	if err := checkName("api-destination", in.Name); err != nil {
		return Destination{}, err
	}
	if in.ConnectionARN == nil || in.Endpoint == nil || in.Method == nil {
		return Destination{}, invalid("ConnectionArn, InvocationEndpoint and HttpMethod are required")
	}
	now := s.now()
	id := randid.UUID()
	d := Destination{Account: c.Caller.Account, Name: in.Name, ID: id, ARN: s.DestinationARN(c.Caller.Account, in.Name, id),
		RateLimit: DefaultRateLimit, State: Active, CreatedAt: now, ModifiedAt: now}
	if err := s.authorize(ctx, c, "CreateApiDestination", d.ARN); err != nil {
		return Destination{}, err
	}
	if err := s.applyDestination(ctx, c, &d, in); err != nil {
		return Destination{}, err
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.CreateDestination(ctx, d) })
	if errs.Is(err, errs.Conflict) {
		return Destination{}, errs.E(errs.Conflict, "An api-destination %s already exists.", in.Name).WithCode("ResourceAlreadyExistsException")
	}
	return d, err
}

// DescribeDestination returns an API destination.
func (s *Service) DescribeDestination(ctx context.Context, c Call, name string) (Destination, error) {
	return s.destination(ctx, c, "DescribeApiDestination", name)
}

// ListDestinations lists the caller's API destinations by name, those using connectionARN
// only when it is given.
func (s *Service) ListDestinations(ctx context.Context, c Call, prefix, connectionARN, after string, limit int) ([]Destination, error) {
	if len(prefix) > 64 {
		return nil, invalid("NamePrefix is longer than 64 characters")
	}
	if connectionARN != "" {
		if _, _, _, ok := arn.EventConnectionOf(connectionARN); !ok {
			return nil, invalid("ConnectionArn %s is not a connection ARN", connectionARN)
		}
	}
	if err := s.authorize(ctx, c, "ListApiDestinations", s.every(c.Caller.Account, "api-destination/*")); err != nil {
		return nil, err
	}
	var out []Destination
	for len(out) < limit {
		page, err := s.store.ListDestinations(ctx, c.Caller.Account, prefix, after, limit)
		if err != nil || len(page) == 0 {
			return out, err
		}
		for _, x := range page {
			if connectionARN == "" || x.ConnectionARN == connectionARN {
				out = append(out, x)
			}
		}
		after = page[len(page)-1].Name
	}
	return out[:min(len(out), limit)], nil
}

// UpdateDestination changes an API destination.
func (s *Service) UpdateDestination(ctx context.Context, c Call, in DestinationInput) (Destination, error) {
	d, err := s.destination(ctx, c, "UpdateApiDestination", in.Name)
	if err != nil {
		return Destination{}, err
	}
	if err := s.applyDestination(ctx, c, &d, in); err != nil {
		return Destination{}, err
	}
	d.ModifiedAt = s.now()
	return d, s.store.Update(ctx, func(tx Tx) error { return tx.PutDestination(ctx, d) })
}

// DeleteDestination deletes an API destination (rules still naming it dead-letter their
// deliveries as not found).
func (s *Service) DeleteDestination(ctx context.Context, c Call, name string) error {
	d, err := s.destination(ctx, c, "DeleteApiDestination", name)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx Tx) error { return tx.DeleteDestination(ctx, d.Account, d.Name) })
}
