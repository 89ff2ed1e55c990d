package iamapi

import (
	"context"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/identity"
)

// STSService is the STS service: its model, AssumeRole and GetCallerIdentity, and STS's error
// codes.
func (a *API) STSService() (*awsapi.Service, error) {
	return awsapi.NewService("sts", a.stsHandlers(), stsErrorCodes())
}

// stsHandlers returns the STS operations.
func (a *API) stsHandlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"AssumeRole":        apicall.Handle(a.assumeRole),
		"GetCallerIdentity": apicall.Handle(a.getCallerIdentity),
	}
}

type assumeIn struct {
	RoleArn         string
	RoleSessionName string
	DurationSeconds int
	ExternalId      string
	Policy          string
	PolicyArns      []struct{ Arn string }
}

type credentialsWire struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

func (a *API) assumeRole(ctx context.Context, req *awsapi.Request, in *assumeIn) (any, error) {
	opt := identity.AssumeOptions{Duration: time.Duration(in.DurationSeconds) * time.Second, ExternalID: in.ExternalId, Policy: in.Policy}
	for _, p := range in.PolicyArns {
		opt.PolicyARNs = append(opt.PolicyARNs, p.Arn)
	}
	s, err := a.Identity.AssumeRole(ctx, apicall.Call(req), in.RoleArn, in.RoleSessionName, opt)
	if err != nil {
		return nil, err
	}
	return struct {
		Credentials     credentialsWire
		AssumedRoleUser struct{ AssumedRoleId, Arn string }
	}{
		Credentials:     credentialsWire{s.ID, s.Secret, s.SessionToken, s.ExpiresAt},
		AssumedRoleUser: struct{ AssumedRoleId, Arn string }{s.AssumedRoleID, s.AssumedRoleARN},
	}, nil
}

// getCallerIdentity needs no permission, as in AWS.
func (a *API) getCallerIdentity(ctx context.Context, req *awsapi.Request, in *struct{}) (any, error) {
	return map[string]string{"UserId": req.Caller.UserID, "Account": req.Caller.Account, "Arn": req.Caller.ARN}, nil
}
