package app_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

func apiKeyAuth(value string) *ebtypes.CreateConnectionAuthRequestParameters {
	return &ebtypes.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{
		ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String(value)}}
}

// connection makes an API-key connection.
func (e *authzEnv) connection() map[string]string {
	name := e.name("conn")
	out, err := eventsOf(e.admin.sm).CreateConnection(context.Background(), &eventbridge.CreateConnectionInput{Name: aws.String(name),
		AuthorizationType: ebtypes.ConnectionAuthorizationTypeApiKey, AuthParameters: apiKeyAuth("secret")})
	e.must(err)
	return map[string]string{"Name": name, "ConnectionArn": *out.ConnectionArn}
}

// destination makes an API destination on a new connection.
func (e *authzEnv) destination() map[string]string {
	c := e.connection()
	name := e.name("dest")
	_, err := eventsOf(e.admin.sm).CreateApiDestination(context.Background(), &eventbridge.CreateApiDestinationInput{Name: aws.String(name),
		ConnectionArn: aws.String(c["ConnectionArn"]), InvocationEndpoint: aws.String("https://hooks.example.com/x"), HttpMethod: ebtypes.ApiDestinationHttpMethodPost})
	e.must(err)
	return map[string]string{"Name": name, "ConnectionArn": c["ConnectionArn"]}
}

// withWebhookCases adds the connections' and API destinations' cases to EventBridge's.
func withWebhookCases(m map[string]opCase) map[string]opCase {
	n := func(v map[string]string) *string { return aws.String(v["Name"]) }
	none := func(*authzEnv) map[string]string { return map[string]string{} }
	for op, c := range map[string]opCase{
		"CreateConnection": {func(e *authzEnv) map[string]string { return map[string]string{"Name": e.name("newconn")} },
			func(ctx context.Context, e *authzEnv, v map[string]string) error {
				_, err := eventsOf(e.actor.sm).CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: n(v),
					AuthorizationType: ebtypes.ConnectionAuthorizationTypeApiKey, AuthParameters: apiKeyAuth("s")})
				return err
			}},
		"DescribeConnection": {(*authzEnv).connection, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: n(v)})
			return err
		}},
		"ListConnections": {none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).ListConnections(ctx, &eventbridge.ListConnectionsInput{})
			return err
		}},
		"UpdateConnection": {(*authzEnv).connection, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: n(v), Description: aws.String("d")})
			return err
		}},
		"DeleteConnection": {(*authzEnv).connection, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DeleteConnection(ctx, &eventbridge.DeleteConnectionInput{Name: n(v)})
			return err
		}},
		"DeauthorizeConnection": {(*authzEnv).connection, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DeauthorizeConnection(ctx, &eventbridge.DeauthorizeConnectionInput{Name: n(v)})
			return err
		}},
		"CreateApiDestination": {func(e *authzEnv) map[string]string {
			v := e.connection()
			v["Name"] = e.name("newdest")
			return v
		}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: n(v), ConnectionArn: aws.String(v["ConnectionArn"]),
				InvocationEndpoint: aws.String("https://hooks.example.com/x"), HttpMethod: ebtypes.ApiDestinationHttpMethodPost})
			return err
		}},
		"DescribeApiDestination": {(*authzEnv).destination, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: n(v)})
			return err
		}},
		"ListApiDestinations": {none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).ListApiDestinations(ctx, &eventbridge.ListApiDestinationsInput{})
			return err
		}},
		"UpdateApiDestination": {(*authzEnv).destination, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).UpdateApiDestination(ctx, &eventbridge.UpdateApiDestinationInput{Name: n(v), InvocationRateLimitPerSecond: aws.Int32(10)})
			return err
		}},
		"DeleteApiDestination": {(*authzEnv).destination, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := eventsOf(e.actor.sm).DeleteApiDestination(ctx, &eventbridge.DeleteApiDestinationInput{Name: n(v)})
			return err
		}},
	} {
		m[op] = c
	}
	return m
}

// TestConnectionsRefuseBadInput: bad connections and destinations get ValidationException
// (or the right not-found and conflict codes) and change nothing; another account's
// connection cannot back a destination.
func TestConnectionsRefuseBadInput(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	eb := eventbridge.NewFromConfig(s.cfg("data-science"))
	stg := eventbridge.NewFromConfig(s.cfg("staging"))
	good, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("good"), AuthorizationType: ebtypes.ConnectionAuthorizationTypeApiKey, AuthParameters: apiKeyAuth("v")})
	must(t, err)
	stgConn, err := stg.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("theirs"), AuthorizationType: ebtypes.ConnectionAuthorizationTypeApiKey, AuthParameters: apiKeyAuth("v")})
	must(t, err)
	conn := func(name string, typ ebtypes.ConnectionAuthorizationType, p *ebtypes.CreateConnectionAuthRequestParameters) error {
		_, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String(name), AuthorizationType: typ, AuthParameters: p})
		return err
	}
	oauth := func(endpoint string, method ebtypes.ConnectionOAuthHttpMethod, client *ebtypes.CreateConnectionOAuthClientRequestParameters, hp *ebtypes.ConnectionHttpParameters) *ebtypes.CreateConnectionAuthRequestParameters {
		return &ebtypes.CreateConnectionAuthRequestParameters{OAuthParameters: &ebtypes.CreateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String(endpoint), HttpMethod: method, ClientParameters: client, OAuthHttpParameters: hp}}
	}
	client := &ebtypes.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("c"), ClientSecret: aws.String("s")}
	header := func(k, v string) *ebtypes.ConnectionHttpParameters {
		return &ebtypes.ConnectionHttpParameters{HeaderParameters: []ebtypes.ConnectionHeaderParameter{{Key: aws.String(k), Value: aws.String(v)}}}
	}
	for name, err := range map[string]error{
		"bad name":          conn("bad name!", ebtypes.ConnectionAuthorizationTypeApiKey, apiKeyAuth("v")),
		"oauth method":      conn("o1", ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, oauth("https://auth.example.com/t", "DELETE", client, nil)),
		"oauth ftp":         conn("o2", ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, oauth("ftp://auth.example.com/t", "POST", client, nil)),
		"oauth user info":   conn("o3", ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, oauth("https://u:p@auth.example.com/t", "POST", client, nil)),
		"oauth client id :": conn("o5", ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, oauth("https://auth.example.com/t", "POST", &ebtypes.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("a:b"), ClientSecret: aws.String("s")}, nil)),
		"oauth auth header": conn("o6", ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, oauth("https://auth.example.com/t", "POST", client, header("Authorization", "x"))),
		"oauth CRLF header": conn("o7", ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, oauth("https://auth.example.com/t", "POST", client, header("X-A", "a\r\nB: c"))),
		"oauth for api key": conn("o8", ebtypes.ConnectionAuthorizationTypeApiKey, oauth("https://auth.example.com/t", "POST", client, nil)),
		"oauth missing":     conn("o9", ebtypes.ConnectionAuthorizationTypeOauthClientCredentials, &ebtypes.CreateConnectionAuthRequestParameters{}),
		"api key missing":   conn("k", ebtypes.ConnectionAuthorizationTypeApiKey, &ebtypes.CreateConnectionAuthRequestParameters{}),
		"basic for api key": conn("b", ebtypes.ConnectionAuthorizationTypeBasic, apiKeyAuth("v")),
		"key with newline":  conn("n", ebtypes.ConnectionAuthorizationTypeApiKey, apiKeyAuth("a\nb")),
		"header params": conn("h", ebtypes.ConnectionAuthorizationTypeApiKey, &ebtypes.CreateConnectionAuthRequestParameters{
			ApiKeyAuthParameters: apiKeyAuth("v").ApiKeyAuthParameters, InvocationHttpParameters: &ebtypes.ConnectionHttpParameters{}}),
	} {
		if code(err) != "ValidationException" {
			t.Errorf("CreateConnection %s: %v, want ValidationException", name, err)
		}
	}
	if err := conn("good", ebtypes.ConnectionAuthorizationTypeApiKey, apiKeyAuth("v")); code(err) != "ResourceAlreadyExistsException" {
		t.Errorf("a second connection good: %v", err)
	}
	dest := func(name, connARN, endpoint, method string, rate *int32) error {
		_, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String(name), ConnectionArn: aws.String(connARN),
			InvocationEndpoint: aws.String(endpoint), HttpMethod: ebtypes.ApiDestinationHttpMethod(method), InvocationRateLimitPerSecond: rate})
		return err
	}
	for name, err := range map[string]error{
		"ftp endpoint":         dest("d1", *good.ConnectionArn, "ftp://example.com/x", "POST", nil),
		"user info":            dest("d2", *good.ConnectionArn, "https://u:p@example.com/x", "POST", nil),
		"bad method":           dest("d3", *good.ConnectionArn, "https://example.com/x", "TRACE", nil),
		"rate 0":               dest("d4", *good.ConnectionArn, "https://example.com/x", "POST", aws.Int32(0)),
		"another account":      dest("d5", *stgConn.ConnectionArn, "https://example.com/x", "POST", nil),
		"not a connection ARN": dest("d6", "arn:aws:events:us-east-1:"+s.account["data-science"]+":rule/x", "https://example.com/x", "POST", nil),
	} {
		if code(err) != "ValidationException" {
			t.Errorf("CreateApiDestination %s: %v, want ValidationException", name, err)
		}
	}
	ld, err := eb.ListApiDestinations(ctx, &eventbridge.ListApiDestinationsInput{})
	must(t, err)
	if len(ld.ApiDestinations) != 0 {
		t.Errorf("refused destinations were kept: %+v", ld.ApiDestinations)
	}
	must(t, dest("used", *good.ConnectionArn, "https://example.com/*", "POST", nil))
	if _, err := eb.DeleteConnection(ctx, &eventbridge.DeleteConnectionInput{Name: aws.String("good")}); code(err) != "ValidationException" {
		t.Errorf("deleting a connection in use: %v", err)
	}
	if _, err := stg.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("used")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("another account describes a destination: %v", err)
	}
	// An API destination target without a role, or with headers it may not set, is refused.
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)})
	must(t, err)
	d, err := eb.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("used")})
	must(t, err)
	role := aws.String("arn:aws:iam::" + s.account["data-science"] + ":role/r")
	for name, tg := range map[string]ebtypes.Target{
		"no role":          {Arn: d.ApiDestinationArn},
		"authorization":    {Arn: d.ApiDestinationArn, RoleArn: role, HttpParameters: &ebtypes.HttpParameters{HeaderParameters: map[string]string{"Authorization": "x"}}},
		"bad path":         {Arn: d.ApiDestinationArn, RoleArn: role, HttpParameters: &ebtypes.HttpParameters{PathParameterValues: []string{"$.a..b"}}},
		"http on a log":    {Arn: aws.String("arn:aws:logs:us-east-1:" + s.account["data-science"] + ":log-group:g"), HttpParameters: &ebtypes.HttpParameters{}},
		"header with CRLF": {Arn: d.ApiDestinationArn, RoleArn: role, HttpParameters: &ebtypes.HttpParameters{HeaderParameters: map[string]string{"X-A": "a\r\nB: c"}}},
	} {
		tg.Id = aws.String("t")
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{tg}}); code(err) != "ValidationException" {
			t.Errorf("PutTargets %s: %v, want ValidationException", name, err)
		}
	}
}
