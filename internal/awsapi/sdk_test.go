package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/errs"
)

func sdkConfig(akid, secret, token string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
		RetryMaxAttempts: 1,
	}
}

// canon re-marshals a JSON document so that two documents compare independent of key order.
func canon(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

var created = time.Date(2026, 3, 4, 5, 6, 7, 250e6, time.UTC)

func sagemakerHandlers() map[string]func(*Request) (any, error) {
	return map[string]func(*Request) (any, error){
		"sagemaker/CreateModelPackageGroup": func(r *Request) (any, error) {
			var in struct{ ModelPackageGroupName string }
			if err := json.Unmarshal(r.Input, &in); err != nil {
				return nil, err
			}
			if in.ModelPackageGroupName == "exists" {
				return nil, errs.E(errs.LimitExceeded, "too many groups")
			}
			r.Audit.Resource = "arn:aws:sagemaker:us-east-1:" + r.Caller.Account + ":model-package-group/" + in.ModelPackageGroupName
			return map[string]string{"ModelPackageGroupArn": r.Audit.Resource}, nil
		},
		"sagemaker/DescribeModelPackageGroup": func(r *Request) (any, error) {
			var in struct{ ModelPackageGroupName string }
			_ = json.Unmarshal(r.Input, &in)
			if in.ModelPackageGroupName == "missing" {
				return nil, errs.E(errs.NotFound, "ModelPackageGroup missing does not exist.")
			}
			if in.ModelPackageGroupName == "boom" {
				return nil, errs.E(errs.Internal, "database exploded", errors.New("disk on fire"))
			}
			type user struct{ UserProfileName, Domain string }
			return struct {
				ModelPackageGroupName   string
				ModelPackageGroupArn    string
				CreationTime            time.Time
				CreatedBy               user
				ModelPackageGroupStatus string
				Unknown                 string
			}{in.ModelPackageGroupName, "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/" + in.ModelPackageGroupName,
				created, user{"bob", "d-1"}, "Completed", "dropped"}, nil
		},
		"sagemaker/ListModelPackageGroups": func(r *Request) (any, error) {
			type sum struct {
				ModelPackageGroupName, ModelPackageGroupArn, ModelPackageGroupStatus string
				CreationTime                                                         time.Time
			}
			return map[string]any{
				"ModelPackageGroupSummaryList": []sum{
					{"a", "arn:a", "Completed", created}, {"b", "arn:b", "Pending", created.Add(time.Hour)},
				},
				"NextToken": "tok",
			}, nil
		},
		"sagemaker/CreateModelPackage": func(r *Request) (any, error) {
			return map[string]string{"ModelPackageArn": "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/1"}, nil
		},
		"sagemaker/AddTags": func(r *Request) (any, error) {
			var in struct{ Tags json.RawMessage }
			_ = json.Unmarshal(r.Input, &in)
			return map[string]json.RawMessage{"Tags": in.Tags}, nil
		},
		"sagemaker/DeleteModelPackageGroup": func(r *Request) (any, error) {
			return nil, errs.E(errs.Conflict, "group has versions")
		},
	}
}

func TestSageMakerSDK(t *testing.T) {
	env := newTestEnv(t, nil, sagemakerHandlers())
	ctx := context.Background()
	client := sagemaker.NewFromConfig(sdkConfig(testAKID, testSecret, ""), func(o *sagemaker.Options) {
		o.BaseEndpoint = aws.String(env.http.URL)
	})

	t.Run("create echoes canonical input", func(t *testing.T) {
		out, err := client.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{
			ModelPackageGroupName:        aws.String("churn"),
			ModelPackageGroupDescription: aws.String("the churn models"),
			Tags:                         []smtypes.Tag{{Key: aws.String("team"), Value: aws.String("ds")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := aws.ToString(out.ModelPackageGroupArn), "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/churn"; got != want {
			t.Errorf("arn = %q, want %q", got, want)
		}
		in, req := env.echo.got("sagemaker/CreateModelPackageGroup")
		want := `{"ModelPackageGroupName":"churn","ModelPackageGroupDescription":"the churn models","Tags":[{"Key":"team","Value":"ds"}]}`
		if diff := cmp.Diff(canon(t, []byte(want)), canon(t, in)); diff != "" {
			t.Errorf("canonical input (-want +got):\n%s", diff)
		}
		if req.Caller.ARN != "arn:aws:iam::111122223333:user/alice" || req.Caller.AccessKeyID != testAKID || req.Region != "us-east-1" {
			t.Errorf("caller = %+v region %q", req.Caller, req.Region)
		}
		rec := env.audit.last()
		if rec.Operation != "CreateModelPackageGroup" || rec.Account != "111122223333" || rec.HTTPStatus != 200 ||
			rec.Resource != aws.ToString(out.ModelPackageGroupArn) || rec.RequestID == "" {
			t.Errorf("audit record = %+v", rec)
		}
	})

	t.Run("describe decodes timestamps and nested structs", func(t *testing.T) {
		out, err := client.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
		if err != nil {
			t.Fatal(err)
		}
		if !out.CreationTime.Equal(created) {
			t.Errorf("CreationTime = %v, want %v", out.CreationTime, created)
		}
		if got := aws.ToString(out.CreatedBy.UserProfileName); got != "bob" {
			t.Errorf("CreatedBy.UserProfileName = %q", got)
		}
		if out.ModelPackageGroupStatus != smtypes.ModelPackageGroupStatusCompleted {
			t.Errorf("status = %q", out.ModelPackageGroupStatus)
		}
	})

	t.Run("list decodes lists", func(t *testing.T) {
		out, err := client.ListModelPackageGroups(ctx, &sagemaker.ListModelPackageGroupsInput{MaxResults: aws.Int32(10),
			CreationTimeAfter: aws.Time(created)})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range out.ModelPackageGroupSummaryList {
			names = append(names, aws.ToString(s.ModelPackageGroupName))
		}
		if diff := cmp.Diff([]string{"a", "b"}, names); diff != "" {
			t.Errorf("names (-want +got):\n%s", diff)
		}
		if !out.ModelPackageGroupSummaryList[1].CreationTime.Equal(created.Add(time.Hour)) || aws.ToString(out.NextToken) != "tok" {
			t.Errorf("second summary %+v next %v", out.ModelPackageGroupSummaryList[1], out.NextToken)
		}
		in, _ := env.echo.got("sagemaker/ListModelPackageGroups")
		want := `{"MaxResults":10,"CreationTimeAfter":"2026-03-04T05:06:07.25Z"}`
		if diff := cmp.Diff(canon(t, []byte(want)), canon(t, in)); diff != "" {
			t.Errorf("canonical input (-want +got):\n%s", diff)
		}
	})

	t.Run("create model package with nested input", func(t *testing.T) {
		_, err := client.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{
			ModelPackageGroupName: aws.String("churn"),
			ModelApprovalStatus:   smtypes.ModelApprovalStatusPendingManualApproval,
			InferenceSpecification: &smtypes.InferenceSpecification{
				Containers:                              []smtypes.ModelPackageContainerDefinition{{Image: aws.String("xgboost:1.7"), ModelDataUrl: aws.String("s3://b/model.tar.gz"), Environment: map[string]string{"A": "1"}}},
				SupportedContentTypes:                   []string{"text/csv"},
				SupportedResponseMIMETypes:              []string{"text/csv"},
				SupportedRealtimeInferenceInstanceTypes: []smtypes.ProductionVariantInstanceType{smtypes.ProductionVariantInstanceTypeMlM5Large},
			},
			CustomerMetadataProperties: map[string]string{"k": "v"},
		})
		if err != nil {
			t.Fatal(err)
		}
		in, _ := env.echo.got("sagemaker/CreateModelPackage")
		var got map[string]any
		_ = json.Unmarshal(in, &got)
		spec, _ := got["InferenceSpecification"].(map[string]any)
		containers, _ := spec["Containers"].([]any)
		if len(containers) != 1 || containers[0].(map[string]any)["Environment"].(map[string]any)["A"] != "1" {
			t.Errorf("InferenceSpecification = %v", spec)
		}
		if _, ok := got["ClientToken"]; !ok {
			t.Errorf("the SDK's idempotency token is missing from %s", in)
		}
	})

	errCases := []struct {
		name       string
		call       func() error
		wantCode   string
		wantStatus int
		wantMsg    string
		typed      func(error) bool
	}{
		{"pattern violation is a ValidationException", func() error {
			_, err := client.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("a b")})
			return err
		}, "ValidationException", 400, "1 validation error detected: Value 'a b' at 'modelPackageGroupName' failed to satisfy constraint: Member must be a name of 1 to 63 letters, digits and hyphens (starting with a letter or digit, not ending with a hyphen), or the ARN of one (regular expression pattern: (arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-))", nil},
		{"not found is a ValidationException", func() error {
			_, err := client.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("missing")})
			return err
		}, "ValidationException", 400, "ModelPackageGroup missing does not exist.", nil},
		{"internal errors hide their detail", func() error {
			_, err := client.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("boom")})
			return err
		}, "InternalFailure", 500, "We encountered an internal error. Please try again.", nil},
		{"limit exceeded is the modeled ResourceLimitExceeded", func() error {
			_, err := client.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("exists")})
			return err
		}, "ResourceLimitExceeded", 400, "too many groups", func(err error) bool {
			var e *smtypes.ResourceLimitExceeded
			return errors.As(err, &e)
		}},
		{"conflict is the modeled ConflictException", func() error {
			_, err := client.DeleteModelPackageGroup(ctx, &sagemaker.DeleteModelPackageGroupInput{ModelPackageGroupName: aws.String("g")})
			return err
		}, "ConflictException", 400, "group has versions", func(err error) bool {
			var e *smtypes.ConflictException
			return errors.As(err, &e)
		}},
		{"operation without handler is unknown", func() error {
			_, err := client.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String("arn:aws:sagemaker:us-east-1:111122223333:model-package-group/x")})
			return err
		}, "UnknownOperationException", 400, "Unknown operation ListTags", nil},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := apiCode(err); got != tc.wantCode {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.wantCode)
			}
			var ae smithy.APIError
			errors.As(err, &ae)
			if ae.ErrorMessage() != tc.wantMsg {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), tc.wantMsg)
			}
			if rec := env.audit.last(); rec.HTTPStatus != tc.wantStatus || rec.ErrorCode != tc.wantCode {
				t.Errorf("audit status %d code %q, want %d %q", rec.HTTPStatus, rec.ErrorCode, tc.wantStatus, tc.wantCode)
			}
			if tc.typed != nil && !tc.typed(err) {
				t.Errorf("error %T is not the SDK's typed error", err)
			}
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		bad := sagemaker.NewFromConfig(sdkConfig(testAKID, "wrong", ""), func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
		_, err := bad.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
		if got := apiCode(err); got != "InvalidSignatureException" {
			t.Errorf("code = %q (%v), want InvalidSignatureException", got, err)
		}
		rec := env.audit.last()
		if rec.Account != "" || rec.HTTPStatus != 403 || rec.AccessKeyID != testAKID {
			t.Errorf("audit of a failed signature = %+v", rec)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		bad := sagemaker.NewFromConfig(sdkConfig("AKIDUNKNOWN", "x", ""), func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
		_, err := bad.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
		if got := apiCode(err); got != "UnrecognizedClientException" {
			t.Errorf("code = %q (%v), want UnrecognizedClientException", got, err)
		}
	})
	t.Run("temporary credentials", func(t *testing.T) {
		tmp := sagemaker.NewFromConfig(sdkConfig(tempAKID, tempSecret, tempToken), func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
		if _, err := tmp.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")}); err != nil {
			t.Fatal(err)
		}
		_, req := env.echo.got("sagemaker/DescribeModelPackageGroup")
		if req.Caller.PrincipalARN != "arn:aws:iam::111122223333:role/Deployer" || req.Caller.SessionToken != tempToken {
			t.Errorf("caller = %+v", req.Caller)
		}
		wrongToken := sagemaker.NewFromConfig(sdkConfig(tempAKID, tempSecret, "other"), func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
		_, err := wrongToken.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
		if got := apiCode(err); got != "UnrecognizedClientException" {
			t.Errorf("wrong token: code = %q, want UnrecognizedClientException", got)
		}
		noToken := sagemaker.NewFromConfig(sdkConfig(tempAKID, tempSecret, ""), func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
		_, err = noToken.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
		if got := apiCode(err); got != "UnrecognizedClientException" {
			t.Errorf("missing token: code = %q, want UnrecognizedClientException", got)
		}
		expired := sagemaker.NewFromConfig(sdkConfig(expiredAKID, tempSecret, tempToken), func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
		_, err = expired.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("churn")})
		if got := apiCode(err); got != "ExpiredTokenException" {
			t.Errorf("expired: code = %q, want ExpiredTokenException", got)
		}
	})
}

func iamHandlers() map[string]func(*Request) (any, error) {
	role := func(name string) map[string]any {
		return map[string]any{
			"Path": "/", "RoleName": name, "RoleId": "AROA" + strings.ToUpper(name), "Arn": "arn:aws:iam::111122223333:role/" + name,
			"CreateDate": created, "AssumeRolePolicyDocument": "%7B%7D", "MaxSessionDuration": 3600,
			"Tags": []map[string]string{{"Key": "team", "Value": "ds"}},
		}
	}
	return map[string]func(*Request) (any, error){
		"iam/CreateRole": func(r *Request) (any, error) {
			var in struct{ RoleName string }
			_ = json.Unmarshal(r.Input, &in)
			if in.RoleName == "taken" {
				return nil, errs.E(errs.Conflict, "Role with name taken already exists.")
			}
			return map[string]any{"Role": role(in.RoleName)}, nil
		},
		"iam/GetRole": func(r *Request) (any, error) {
			var in struct{ RoleName string }
			_ = json.Unmarshal(r.Input, &in)
			if in.RoleName == "nope" {
				return nil, errs.E(errs.NotFound, "The role with name nope cannot be found.")
			}
			return map[string]any{"Role": role(in.RoleName)}, nil
		},
		"iam/ListRoles": func(r *Request) (any, error) {
			return map[string]any{"Roles": []any{role("a"), role("b")}, "IsTruncated": true, "Marker": "m1"}, nil
		},
		"iam/DeleteRole": func(r *Request) (any, error) { return nil, nil },
		"iam/PutRolePolicy": func(r *Request) (any, error) {
			return nil, (&errs.Error{Kind: errs.Invalid, Msg: "Syntax errors in policy.", Code: "MalformedPolicyDocument"})
		},
		"iam/ListRolePolicies": func(r *Request) (any, error) {
			return map[string]any{"PolicyNames": []string{}, "IsTruncated": false}, nil
		},
	}
}

func TestIAMSDK(t *testing.T) {
	env := newTestEnv(t, nil, iamHandlers())
	ctx := context.Background()
	client := iam.NewFromConfig(sdkConfig(testAKID, testSecret, ""), func(o *iam.Options) { o.BaseEndpoint = aws.String(env.http.URL) })

	out, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("Deployer"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17"}`),
		Tags:               []iamtypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}},
		MaxSessionDuration: aws.Int32(7200),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Role.Arn) != "arn:aws:iam::111122223333:role/Deployer" || !out.Role.CreateDate.Equal(created) ||
		aws.ToInt32(out.Role.MaxSessionDuration) != 3600 || len(out.Role.Tags) != 1 || aws.ToString(out.Role.Tags[0].Value) != "ds" {
		t.Errorf("role = %+v", out.Role)
	}
	in, _ := env.echo.got("iam/CreateRole")
	want := `{"RoleName":"Deployer","AssumeRolePolicyDocument":"{\"Version\":\"2012-10-17\"}","MaxSessionDuration":7200,"Tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]}`
	if diff := cmp.Diff(canon(t, []byte(want)), canon(t, in)); diff != "" {
		t.Errorf("canonical input (-want +got):\n%s", diff)
	}

	list, err := client.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/"), MaxItems: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Roles) != 2 || aws.ToString(list.Roles[1].RoleName) != "b" || !list.IsTruncated || aws.ToString(list.Marker) != "m1" {
		t.Errorf("ListRoles = %+v", list)
	}
	if _, err := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("x")}); err != nil {
		t.Errorf("DeleteRole: %v", err)
	}
	if pol, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("x")}); err != nil || len(pol.PolicyNames) != 0 {
		t.Errorf("ListRolePolicies = %+v, %v", pol, err)
	}

	cases := []struct {
		name     string
		call     func() error
		wantCode string
		typed    func(error) bool
		status   int
	}{
		{"not found", func() error {
			_, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
			return err
		}, "NoSuchEntity", func(err error) bool { var e *iamtypes.NoSuchEntityException; return errors.As(err, &e) }, 404},
		{"conflict", func() error {
			_, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("taken"), AssumeRolePolicyDocument: aws.String("{}")})
			return err
		}, "EntityAlreadyExists", func(err error) bool { var e *iamtypes.EntityAlreadyExistsException; return errors.As(err, &e) }, 409},
		{"domain code", func() error {
			_, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"), PolicyDocument: aws.String("{")})
			return err
		}, "MalformedPolicyDocument", func(err error) bool { var e *iamtypes.MalformedPolicyDocumentException; return errors.As(err, &e) }, 400},
		{"validation", func() error {
			_, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("a b")})
			return err
		}, "ValidationError", nil, 400},
		{"unknown action", func() error {
			_, err := client.GetUser(ctx, &iam.GetUserInput{})
			return err
		}, "InvalidAction", nil, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := apiCode(err); got != tc.wantCode {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.wantCode)
			}
			if tc.typed != nil && !tc.typed(err) {
				t.Errorf("error %T is not the SDK's typed error", err)
			}
			if got := env.audit.last().HTTPStatus; got != tc.status {
				t.Errorf("status = %d, want %d", got, tc.status)
			}
		})
	}
}

func TestSTSSDK(t *testing.T) {
	env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
		"sts/GetCallerIdentity": func(r *Request) (any, error) {
			return map[string]string{"UserId": r.Caller.UserID, "Account": r.Caller.Account, "Arn": r.Caller.ARN}, nil
		},
		"sts/AssumeRole": func(r *Request) (any, error) {
			var in struct {
				RoleArn, RoleSessionName string
				DurationSeconds          int
			}
			_ = json.Unmarshal(r.Input, &in)
			if strings.HasSuffix(in.RoleArn, "/Forbidden") {
				return nil, errs.E(errs.AccessDenied, "User is not authorized to perform: sts:AssumeRole")
			}
			return map[string]any{
				"Credentials": map[string]any{"AccessKeyId": "ASIANEW", "SecretAccessKey": "s", "SessionToken": "t",
					"Expiration": r.Time.Add(time.Duration(in.DurationSeconds) * time.Second).Truncate(time.Second)},
				"AssumedRoleUser": map[string]string{"AssumedRoleId": "AROA:" + in.RoleSessionName, "Arn": "arn:aws:sts::111122223333:assumed-role/R/" + in.RoleSessionName},
			}, nil
		},
	})
	ctx := context.Background()
	client := sts.NewFromConfig(sdkConfig(testAKID, testSecret, ""), func(o *sts.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != "arn:aws:iam::111122223333:user/alice" || aws.ToString(id.Account) != "111122223333" {
		t.Errorf("identity = %+v", id)
	}
	before := time.Now()
	ar, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/R"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	if exp := ar.Credentials.Expiration; exp.Before(before.Add(890*time.Second)) || exp.After(before.Add(910*time.Second)) {
		t.Errorf("expiration = %v, want about now+15m", exp)
	}
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/Forbidden"), RoleSessionName: aws.String("s1")})
	if got := apiCode(err); got != "AccessDenied" {
		t.Errorf("code = %q, want AccessDenied", got)
	}
	if got := env.audit.last().HTTPStatus; got != 403 {
		t.Errorf("status = %d, want 403", got)
	}
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/R"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(10)})
	if got := apiCode(err); got != "ValidationError" {
		t.Errorf("short duration: code = %q (%v), want ValidationError", got, err)
	}
	// A request signed for sts must not be accepted by iam: query services are routed by scope,
	// so a replay to another service's endpoint would reach sts anyway; and json services check
	// the scope explicitly (see TestScopeServiceMismatch).
}

func TestOrganizationsSDK(t *testing.T) {
	env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
		"organizations/DescribeOrganization": func(r *Request) (any, error) {
			return map[string]any{"Organization": map[string]any{"Id": "o-abcdefghij", "Arn": "arn:aws:organizations::111122223333:organization/o-abcdefghij",
				"FeatureSet": "ALL", "MasterAccountId": "111122223333",
				"AvailablePolicyTypes": []map[string]string{{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}}}}, nil
		},
		"organizations/CreateOrganizationalUnit": func(r *Request) (any, error) {
			return nil, errs.E(errs.Conflict, "An OU with the same name already exists.")
		},
		"organizations/DescribeAccount": func(r *Request) (any, error) {
			return nil, errs.E(errs.NotFound, "You specified an account that doesn't exist.")
		},
		"organizations/ListAccounts": func(r *Request) (any, error) {
			return map[string]any{"Accounts": []map[string]any{{"Id": "111122223333", "Name": "ds", "Email": "a@example.com",
				"Status": "ACTIVE", "JoinedTimestamp": created, "JoinedMethod": "CREATED"}}}, nil
		},
	})
	ctx := context.Background()
	client := organizations.NewFromConfig(sdkConfig(testAKID, testSecret, ""), func(o *organizations.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
	org, err := client.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(org.Organization.Id) != "o-abcdefghij" || len(org.Organization.AvailablePolicyTypes) != 1 ||
		org.Organization.AvailablePolicyTypes[0].Type != orgtypes.PolicyTypeServiceControlPolicy {
		t.Errorf("organization = %+v", org.Organization)
	}
	accts, err := client.ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(accts.Accounts) != 1 || !accts.Accounts[0].JoinedTimestamp.Equal(created) {
		t.Errorf("accounts = %+v", accts.Accounts)
	}
	_, err = client.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String("r-abcd"), Name: aws.String("staging")})
	var dup *orgtypes.DuplicateOrganizationalUnitException
	if !errors.As(err, &dup) {
		t.Errorf("CreateOrganizationalUnit error = %T %v, want DuplicateOrganizationalUnitException", err, err)
	}
	_, err = client.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("111122223333")})
	var nf *orgtypes.AccountNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribeAccount error = %T %v, want AccountNotFoundException", err, err)
	}
	_, err = client.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("abc")})
	var inv *orgtypes.InvalidInputException
	if !errors.As(err, &inv) {
		t.Errorf("DescribeAccount(abc) error = %T %v, want InvalidInputException", err, err)
	}
}

func TestSageMakerRuntimeSDK(t *testing.T) {
	env := newTestEnv(t, nil, map[string]func(*Request) (any, error){
		"sagemaker-runtime/InvokeEndpoint": func(r *Request) (any, error) {
			var in struct{ EndpointName, ContentType, Body string }
			_ = json.Unmarshal(r.Input, &in)
			if in.EndpointName == "gone" {
				return nil, errs.E(errs.NotFound, "Endpoint gone not found.")
			}
			return map[string]any{"Body": []byte("echo:" + string(r.Body) + ":" + in.EndpointName), "ContentType": "text/plain",
				"InvokedProductionVariant": "AllTraffic"}, nil
		},
	})
	ctx := context.Background()
	client := sagemakerruntime.NewFromConfig(sdkConfig(testAKID, testSecret, ""), func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(env.http.URL) })
	out, err := client.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("my-ep"), ContentType: aws.String("text/csv"), Body: []byte("1,2,3")})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Body) != "echo:1,2,3:my-ep" || aws.ToString(out.ContentType) != "text/plain" || aws.ToString(out.InvokedProductionVariant) != "AllTraffic" {
		t.Errorf("InvokeEndpoint = body %q, %+v", out.Body, out)
	}
	in, _ := env.echo.got("sagemaker-runtime/InvokeEndpoint")
	want := `{"EndpointName":"my-ep","ContentType":"text/csv","Body":"MSwyLDM="}`
	if diff := cmp.Diff(canon(t, []byte(want)), canon(t, in)); diff != "" {
		t.Errorf("canonical input (-want +got):\n%s", diff)
	}
	_, err = client.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("gone"), Body: []byte("x")})
	if got := apiCode(err); got != "ValidationError" {
		t.Errorf("code = %q (%v), want ValidationError", got, err)
	}
}
