package eventsapi

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/events/webhooks"
)

// Connections and API destinations: wire shapes in, package webhooks' calls, wire shapes out.
// No output carries a connection's secret: the domain keeps it sealed and these shapes have no
// member for it.

func (a *API) webhookHandlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"CreateConnection":       apicall.Handle(a.createConnection),
		"DescribeConnection":     apicall.Handle(a.describeConnection),
		"ListConnections":        apicall.Handle(a.listConnections),
		"UpdateConnection":       apicall.Handle(a.updateConnection),
		"DeleteConnection":       apicall.Handle(a.deleteConnection),
		"DeauthorizeConnection":  apicall.Handle(a.deauthorizeConnection),
		"CreateApiDestination":   apicall.Handle(a.createDestination),
		"DescribeApiDestination": apicall.Handle(a.describeDestination),
		"ListApiDestinations":    apicall.Handle(a.listDestinations),
		"UpdateApiDestination":   apicall.Handle(a.updateDestination),
		"DeleteApiDestination":   apicall.Handle(a.deleteDestination),
	}
}

type authParamsIn struct {
	ApiKeyAuthParameters *struct {
		ApiKeyName  string
		ApiKeyValue string
	}
	BasicAuthParameters *struct {
		Username string
		Password string
	}
	OAuthParameters          *oauthIn
	InvocationHttpParameters any
	ConnectivityParameters   any
}

type paramWire struct {
	Key           string
	Value         string `json:",omitempty"`
	IsValueSecret bool
}

type httpParamsWire struct {
	HeaderParameters      []paramWire `json:",omitempty"`
	QueryStringParameters []paramWire `json:",omitempty"`
	BodyParameters        []paramWire `json:",omitempty"`
}

type oauthIn struct {
	AuthorizationEndpoint string
	HttpMethod            string
	ClientParameters      *struct {
		ClientID     string
		ClientSecret string
	}
	OAuthHttpParameters *httpParamsWire
	// ConnectivityParameters: a private OAuth endpoint (refused).
	ConnectivityParameters any
}

func paramsIn(ps []paramWire) []webhooks.ParamInput {
	var out []webhooks.ParamInput
	for _, p := range ps {
		out = append(out, webhooks.ParamInput{Key: p.Key, Value: p.Value, Secret: p.IsValueSecret})
	}
	return out
}

func paramsOut(ps []webhooks.Param) []paramWire {
	var out []paramWire
	for _, p := range ps {
		out = append(out, paramWire{Key: p.Key, Value: p.Value, IsValueSecret: p.Secret}) // a secret's value is sealed: not shown
	}
	return out
}

type connectionIn struct {
	Name                             string
	Description                      *string
	AuthorizationType                string
	AuthParameters                   *authParamsIn
	InvocationConnectivityParameters any
	KmsKeyIdentifier                 string
}

func (in *connectionIn) domain() (webhooks.ConnectionInput, error) {
	if in.InvocationConnectivityParameters != nil {
		return webhooks.ConnectionInput{}, unsupported("InvocationConnectivityParameters (private APIs)")
	}
	if in.KmsKeyIdentifier != "" {
		return webhooks.ConnectionInput{}, unsupported("KmsKeyIdentifier (secrets are sealed with the server's master key)")
	}
	out := webhooks.ConnectionInput{Name: in.Name, Description: in.Description, Auth: webhooks.AuthInput{Type: webhooks.AuthType(in.AuthorizationType)}}
	if p := in.AuthParameters; p != nil {
		if p.ConnectivityParameters != nil {
			return webhooks.ConnectionInput{}, unsupported("AuthParameters.ConnectivityParameters (private APIs)")
		}
		if k := p.ApiKeyAuthParameters; k != nil {
			out.Auth.HasAPIKey, out.Auth.APIKeyName, out.Auth.APIKeyValue = true, k.ApiKeyName, k.ApiKeyValue
		}
		if b := p.BasicAuthParameters; b != nil {
			out.Auth.HasBasic, out.Auth.Username, out.Auth.Password = true, b.Username, b.Password
		}
		if o := p.OAuthParameters; o != nil {
			if o.ConnectivityParameters != nil {
				return webhooks.ConnectionInput{}, unsupported("OAuthParameters.ConnectivityParameters (private APIs)")
			}
			x := &webhooks.OAuthInput{Endpoint: o.AuthorizationEndpoint, Method: o.HttpMethod}
			if c := o.ClientParameters; c != nil {
				x.HasClient, x.ClientID, x.ClientSecret = true, c.ClientID, c.ClientSecret
			}
			if h := o.OAuthHttpParameters; h != nil {
				x.Params = &webhooks.OAuthParams{Headers: paramsIn(h.HeaderParameters), Query: paramsIn(h.QueryStringParameters), Body: paramsIn(h.BodyParameters)}
			}
			out.Auth.OAuth = x
		}
		out.Auth.HTTPParameters = p.InvocationHttpParameters != nil
	}
	return out, nil
}

// connectionState is the short answer of the connection operations.
type connectionState struct {
	ConnectionArn      string
	ConnectionState    string
	CreationTime       time.Time
	LastModifiedTime   time.Time
	LastAuthorizedTime *time.Time `json:",omitempty"`
}

func stateOf(c webhooks.Connection, state string) connectionState {
	out := connectionState{ConnectionArn: c.ARN, ConnectionState: state, CreationTime: c.CreatedAt, LastModifiedTime: c.ModifiedAt}
	if !c.AuthorizedAt.IsZero() {
		t := c.AuthorizedAt
		out.LastAuthorizedTime = &t
	}
	return out
}

func (a *API) createConnection(ctx context.Context, req *awsapi.Request, in *connectionIn) (any, error) {
	x, err := in.domain()
	if err != nil {
		return nil, err
	}
	c, err := a.Webhooks.CreateConnection(ctx, call(req), x)
	if err != nil {
		return nil, err
	}
	return stateOf(c, string(c.State)), nil
}

func (a *API) updateConnection(ctx context.Context, req *awsapi.Request, in *connectionIn) (any, error) {
	x, err := in.domain()
	if err != nil {
		return nil, err
	}
	c, err := a.Webhooks.UpdateConnection(ctx, call(req), x)
	if err != nil {
		return nil, err
	}
	return stateOf(c, string(c.State)), nil
}

type nameIn struct{ Name string }

type authParamsOut struct {
	ApiKeyAuthParameters *struct{ ApiKeyName string } `json:",omitempty"`
	BasicAuthParameters  *struct{ Username string }   `json:",omitempty"`
	OAuthParameters      *oauthOut                    `json:",omitempty"`
}

// oauthOut is a connection's OAuth parameters without the client secret or any secret value.
type oauthOut struct {
	ClientParameters      struct{ ClientID string }
	AuthorizationEndpoint string
	HttpMethod            string
	OAuthHttpParameters   *httpParamsWire `json:",omitempty"`
}

func (a *API) describeConnection(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	c, err := a.Webhooks.DescribeConnection(ctx, call(req), in.Name)
	if err != nil {
		return nil, err
	}
	var p authParamsOut
	switch c.AuthType {
	case webhooks.APIKey:
		p.ApiKeyAuthParameters = &struct{ ApiKeyName string }{c.APIKeyName}
	case webhooks.Basic:
		p.BasicAuthParameters = &struct{ Username string }{c.Username}
	case webhooks.OAuth:
		if o := c.OAuth; o != nil {
			w := &oauthOut{AuthorizationEndpoint: o.Endpoint, HttpMethod: o.Method}
			w.ClientParameters.ClientID = o.ClientID
			if len(o.Headers)+len(o.Query)+len(o.Body) > 0 {
				w.OAuthHttpParameters = &httpParamsWire{HeaderParameters: paramsOut(o.Headers), QueryStringParameters: paramsOut(o.Query), BodyParameters: paramsOut(o.Body)}
			}
			p.OAuthParameters = w
		}
	}
	s := stateOf(c, string(c.State))
	return struct {
		ConnectionArn      string
		Name               string
		Description        string `json:",omitempty"`
		ConnectionState    string
		StateReason        string `json:",omitempty"`
		AuthorizationType  string
		AuthParameters     authParamsOut
		CreationTime       time.Time
		LastModifiedTime   time.Time
		LastAuthorizedTime *time.Time `json:",omitempty"`
	}{c.ARN, c.Name, c.Description, string(c.State), c.StateReason, string(c.AuthType), p, s.CreationTime, s.LastModifiedTime, s.LastAuthorizedTime}, nil
}

type listConnectionsIn struct {
	NamePrefix      string
	ConnectionState string
	NextToken       string
	Limit           int
}

type connectionItem struct {
	ConnectionArn      string
	Name               string
	ConnectionState    string
	AuthorizationType  string
	CreationTime       time.Time
	LastModifiedTime   time.Time
	LastAuthorizedTime *time.Time `json:",omitempty"`
}

func pageLimit(n int) int {
	if n <= 0 || n > 100 {
		return 100
	}
	return n
}

func (a *API) listConnections(ctx context.Context, req *awsapi.Request, in *listConnectionsIn) (any, error) {
	scope := fmt.Sprintf("events/ListConnections/%s/%s/%s", req.Caller.Account, in.NamePrefix, in.ConnectionState)
	var after string
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &after); err != nil {
			return nil, badToken()
		}
	}
	limit := pageLimit(in.Limit)
	cs, err := a.Webhooks.ListConnections(ctx, call(req), in.NamePrefix, webhooks.ConnectionState(in.ConnectionState), after, limit+1)
	if err != nil {
		return nil, err
	}
	var next string
	if len(cs) > limit {
		cs = cs[:limit]
		if next, err = a.Tokens.Encode(scope, cs[limit-1].Name); err != nil {
			return nil, err
		}
	}
	out := make([]connectionItem, 0, len(cs))
	for _, c := range cs {
		s := stateOf(c, string(c.State))
		out = append(out, connectionItem{c.ARN, c.Name, string(c.State), string(c.AuthType), s.CreationTime, s.LastModifiedTime, s.LastAuthorizedTime})
	}
	return struct {
		Connections []connectionItem
		NextToken   string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) deleteConnection(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	c, err := a.Webhooks.DeleteConnection(ctx, call(req), in.Name)
	if err != nil {
		return nil, err
	}
	return stateOf(c, "DELETING"), nil
}

func (a *API) deauthorizeConnection(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	c, err := a.Webhooks.DeauthorizeConnection(ctx, call(req), in.Name)
	if err != nil {
		return nil, err
	}
	return stateOf(c, string(c.State)), nil
}

type destinationIn struct {
	Name                         string
	Description                  *string
	ConnectionArn                *string
	InvocationEndpoint           *string
	HttpMethod                   *string
	InvocationRateLimitPerSecond *int
}

func (in *destinationIn) domain() webhooks.DestinationInput {
	return webhooks.DestinationInput{Name: in.Name, Description: in.Description, ConnectionARN: in.ConnectionArn,
		Endpoint: in.InvocationEndpoint, Method: in.HttpMethod, RateLimit: in.InvocationRateLimitPerSecond}
}

type destinationState struct {
	ApiDestinationArn   string
	ApiDestinationState string
	CreationTime        time.Time
	LastModifiedTime    time.Time
}

func (a *API) createDestination(ctx context.Context, req *awsapi.Request, in *destinationIn) (any, error) {
	d, err := a.Webhooks.CreateDestination(ctx, call(req), in.domain())
	if err != nil {
		return nil, err
	}
	return destinationState{d.ARN, string(d.State), d.CreatedAt, d.ModifiedAt}, nil
}

func (a *API) updateDestination(ctx context.Context, req *awsapi.Request, in *destinationIn) (any, error) {
	d, err := a.Webhooks.UpdateDestination(ctx, call(req), in.domain())
	if err != nil {
		return nil, err
	}
	return destinationState{d.ARN, string(d.State), d.CreatedAt, d.ModifiedAt}, nil
}

type destinationOut struct {
	ApiDestinationArn            string
	Name                         string
	Description                  string `json:",omitempty"`
	ApiDestinationState          string
	ConnectionArn                string
	InvocationEndpoint           string
	HttpMethod                   string
	InvocationRateLimitPerSecond int
	CreationTime                 time.Time
	LastModifiedTime             time.Time
}

func destinationOf(d webhooks.Destination, withDescription bool) destinationOut {
	out := destinationOut{d.ARN, d.Name, "", string(d.State), d.ConnectionARN, d.Endpoint, d.Method, d.RateLimit, d.CreatedAt, d.ModifiedAt}
	if withDescription {
		out.Description = d.Description
	}
	return out
}

func (a *API) describeDestination(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	d, err := a.Webhooks.DescribeDestination(ctx, call(req), in.Name)
	if err != nil {
		return nil, err
	}
	return destinationOf(d, true), nil
}

type listDestinationsIn struct {
	NamePrefix    string
	ConnectionArn string
	NextToken     string
	Limit         int
}

func (a *API) listDestinations(ctx context.Context, req *awsapi.Request, in *listDestinationsIn) (any, error) {
	scope := fmt.Sprintf("events/ListApiDestinations/%s/%s/%s", req.Caller.Account, in.NamePrefix, in.ConnectionArn)
	var after string
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &after); err != nil {
			return nil, badToken()
		}
	}
	limit := pageLimit(in.Limit)
	ds, err := a.Webhooks.ListDestinations(ctx, call(req), in.NamePrefix, in.ConnectionArn, after, limit+1)
	if err != nil {
		return nil, err
	}
	var next string
	if len(ds) > limit {
		ds = ds[:limit]
		if next, err = a.Tokens.Encode(scope, ds[limit-1].Name); err != nil {
			return nil, err
		}
	}
	out := make([]destinationOut, 0, len(ds))
	for _, d := range ds {
		out = append(out, destinationOf(d, false))
	}
	return struct {
		ApiDestinations []destinationOut
		NextToken       string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) deleteDestination(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	return nil, a.Webhooks.DeleteDestination(ctx, call(req), in.Name)
}
