package awsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		service, op string
		err         error
		wantCode    string
		wantStatus  int
		wantMsg     string
	}{
		{"sagemaker", "DescribeModelPackage", errs.E(errs.NotFound, "Model package x not found."), "ValidationException", 400, "Model package x not found."},
		{"sagemaker", "CreateModelPackage", errs.E(errs.Conflict, "c"), "ConflictException", 400, "c"},
		{"sagemaker", "CreateModelPackageGroup", errs.E(errs.Conflict, "c"), "ResourceInUse", 400, "c"},
		{"sagemaker", "CreateModelPackageGroup", errs.E(errs.LimitExceeded, "l"), "ResourceLimitExceeded", 400, "l"},
		{"sagemaker", "DescribeModelPackage", errs.E(errs.AccessDenied, "no"), "AccessDeniedException", 400, "no"},
		{"sagemaker", "DescribeModelPackage", errs.E(errs.Throttled, "slow down"), "ThrottlingException", 400, "slow down"},
		{"sagemaker", "DescribeModelPackage", errs.E(errs.Internal, "db", errors.New("secret detail")), "InternalFailure", 500, "We encountered an internal error. Please try again."},
		{"sagemaker", "DescribeModelPackage", errors.New("plain error with detail"), "InternalFailure", 500, "We encountered an internal error. Please try again."},
		{"sagemaker", "DescribeModelPackage", errs.E(errs.Unavailable, "busy"), "ServiceUnavailable", 503, "busy"},
		{"sagemaker", "DescribeModelPackage", errs.E(errs.Invalid, "bad").WithCode("ResourceNotFound"), "ResourceNotFound", 400, "bad"},
		{"iam", "GetRole", errs.E(errs.NotFound, "nf"), "NoSuchEntity", 404, "nf"},
		{"iam", "CreateRole", errs.E(errs.Conflict, "dup"), "EntityAlreadyExists", 409, "dup"},
		{"iam", "DeleteRole", errs.E(errs.Conflict, "attached").WithCode("DeleteConflict"), "DeleteConflict", 409, "attached"},
		{"iam", "CreateRole", errs.E(errs.Invalid, "bad"), "ValidationError", 400, "bad"},
		{"iam", "CreateRole", errs.E(errs.Invalid, "bad").WithCode("InvalidInputException"), "InvalidInput", 400, "bad"},
		{"iam", "CreateRole", errs.E(errs.Invalid, "bad").WithCode("InvalidInput"), "InvalidInput", 400, "bad"},
		{"iam", "CreateRole", errs.E(errs.LimitExceeded, "too many"), "LimitExceeded", 409, "too many"},
		{"iam", "PutRolePolicy", errs.E(errs.Invalid, "syntax").WithCode("MalformedPolicyDocument"), "MalformedPolicyDocument", 400, "syntax"},
		{"iam", "GetRole", errs.E(errs.AccessDenied, "no"), "AccessDenied", 403, "no"},
		{"iam", "GetRole", errs.E(errs.Internal, "x"), "ServiceFailure", 500, "We encountered an internal error. Please try again."},
		{"sts", "AssumeRole", errs.E(errs.AccessDenied, "no"), "AccessDenied", 403, "no"},
		{"sts", "AssumeRole", errs.E(errs.AccessDenied, "region").WithCode("RegionDisabledException"), "RegionDisabledException", 403, "region"},
		{"sts", "AssumeRole", errs.E(errs.Unauthenticated, "old").WithCode("ExpiredTokenException"), "ExpiredTokenException", 400, "old"},
		{"organizations", "DescribeAccount", errs.E(errs.NotFound, "nf"), "AccountNotFoundException", 400, "nf"},
		{"organizations", "DescribeOrganizationalUnit", errs.E(errs.NotFound, "nf"), "OrganizationalUnitNotFoundException", 400, "nf"},
		{"organizations", "CreatePolicy", errs.E(errs.Conflict, "dup"), "DuplicatePolicyException", 400, "dup"},
		{"organizations", "CreateAccount", errs.E(errs.Conflict, "busy"), "ConcurrentModificationException", 400, "busy"},
		{"organizations", "CreateAccount", errs.E(errs.LimitExceeded, "max"), "ConstraintViolationException", 400, "max"},
		{"organizations", "ListRoots", errs.E(errs.AccessDenied, "no"), "AccessDeniedException", 400, "no"},
		{"organizations", "ListRoots", errs.E(errs.Invalid, "bad"), "InvalidInputException", 400, "bad"},
		{"organizations", "ListRoots", errs.E(errs.Throttled, "t"), "TooManyRequestsException", 400, "t"},
		{"organizations", "ListRoots", errs.E(errs.Internal, "x"), "ServiceException", 500, "We encountered an internal error. Please try again."},
		{"sagemaker-runtime", "InvokeEndpoint", errs.E(errs.NotFound, "no endpoint"), "ValidationError", 400, "no endpoint"},
		{"sagemaker-runtime", "InvokeEndpoint", errs.E(errs.Invalid, "model said no").WithCode("ModelError"), "ModelError", 424, "model said no"},
	}
	for _, tc := range tests {
		t.Run(tc.service+"/"+tc.wantCode, func(t *testing.T) {
			svc := testService(t, tc.service)
			op := svc.Model.Operations[tc.op]
			if op == nil {
				t.Fatalf("no operation %s", tc.op)
			}
			got := toAPIError(svc, op, tc.err)
			if got.Code != tc.wantCode || got.Status != tc.wantStatus || got.Message != tc.wantMsg {
				t.Errorf("got %s %d %q, want %s %d %q", got.Code, got.Status, got.Message, tc.wantCode, tc.wantStatus, tc.wantMsg)
			}
		})
	}
}

// TestCodeForVocabulary checks the lookup every service's ErrorCodes goes through, on
// vocabularies made up here: Refine first, then the first of Prefer the operation models, then
// Default, then the protocol's generic code for a kind the vocabulary leaves out.
func TestCodeForVocabulary(t *testing.T) {
	refineNotFound := func(op *Operation, kind errs.Kind) string {
		if kind == errs.NotFound {
			return "Refined" + op.Name
		}
		return ""
	}
	vocab := ErrorCodes{ByKind: map[errs.Kind]KindCodes{
		errs.Conflict: {Prefer: []string{"NotModelledHere", "ResourceLimitExceeded", "ConflictException"}, Default: "D"},
		errs.NotFound: {Default: "NotFoundDefault"},
	}}
	tests := []struct {
		name, service, op string
		codes             ErrorCodes
		kind              errs.Kind
		want              string
	}{
		// CreateModelPackage models ConflictException, then ResourceLimitExceeded: Prefer's order wins.
		{"first modelled of Prefer", "sagemaker", "CreateModelPackage", vocab, errs.Conflict, "ResourceLimitExceeded"},
		{"Default when the operation models none", "sagemaker", "DescribeModelPackage", vocab, errs.Conflict, "D"},
		{"Default without Prefer", "sagemaker", "DescribeModelPackage", vocab, errs.NotFound, "NotFoundDefault"},
		{"Refine before ByKind", "sagemaker", "DescribeModelPackage", ErrorCodes{ByKind: vocab.ByKind, Refine: refineNotFound}, errs.NotFound, "RefinedDescribeModelPackage"},
		{"ByKind when Refine declines", "sagemaker", "DeleteModelPackage", ErrorCodes{ByKind: vocab.ByKind, Refine: refineNotFound}, errs.Conflict, "ConflictException"},
		{"json generic invalid", "sagemaker", "DescribeModelPackage", ErrorCodes{}, errs.NotFound, "ValidationException"},
		{"json generic denied", "sagemaker", "DescribeModelPackage", ErrorCodes{}, errs.AccessDenied, "AccessDeniedException"},
		{"json generic throttled", "sagemaker", "DescribeModelPackage", ErrorCodes{}, errs.Throttled, "ThrottlingException"},
		{"json generic quota", "sagemaker", "DescribeModelPackage", ErrorCodes{}, errs.LimitExceeded, "LimitExceededException"},
		{"json generic unauthenticated", "sagemaker", "DescribeModelPackage", ErrorCodes{}, errs.Unauthenticated, "UnrecognizedClientException"},
		{"query generic invalid", "iam", "GetRole", ErrorCodes{}, errs.Conflict, "ValidationError"},
		{"query generic denied", "iam", "GetRole", ErrorCodes{}, errs.AccessDenied, "AccessDenied"},
		{"query generic throttled", "iam", "GetRole", ErrorCodes{}, errs.Throttled, "Throttling"},
		{"query generic unauthenticated", "iam", "GetRole", ErrorCodes{}, errs.Unauthenticated, "InvalidClientTokenId"},
		{"restJson generic invalid", "sagemaker-runtime", "InvokeEndpoint", ErrorCodes{}, errs.Invalid, "ValidationError"},
		{"generic unavailable", "iam", "GetRole", ErrorCodes{}, errs.Unavailable, "ServiceUnavailable"},
		{"generic internal", "iam", "GetRole", ErrorCodes{}, errs.Internal, "InternalFailure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &Service{Name: tc.service, Model: mustModel(t, tc.service), Errors: tc.codes}
			op := svc.Model.Operations[tc.op]
			if op == nil {
				t.Fatalf("no operation %s", tc.op)
			}
			if got := codeFor(svc, op, tc.kind); got != tc.want {
				t.Errorf("codeFor(%s %s, %v) = %q, want %q", tc.service, tc.op, tc.kind, got, tc.want)
			}
		})
	}
}

// TestErrorMembers: an error shape's members besides the message go on the wire in the JSON
// protocols' error bodies — those the shape declares, and only those.
func TestErrorMembers(t *testing.T) {
	svc := testService(t, "sagemaker-runtime")
	base := errs.E(errs.Invalid, `Received server error (500) from primary with message "boom"`).WithCode("ModelError")
	err := WithErrorMembers(base, ErrorMember{"OriginalStatusCode", 500}, ErrorMember{"OriginalMessage", "boom\n"},
		ErrorMember{"NotAMember", "dropped"}, ErrorMember{"Message", "not twice"})
	ae := toAPIError(svc, svc.Model.Operations["InvokeEndpoint"], err)
	if ae.Code != "ModelError" || ae.Status != 424 {
		t.Fatalf("got %s %d, want ModelError 424", ae.Code, ae.Status)
	}
	var buf bytes.Buffer
	restJSONCodec{}.encodeError(&buf, http.Header{}, svc, ae, "id")
	want := `{"message":"Received server error (500) from primary with message \"boom\"","OriginalStatusCode":500,"OriginalMessage":"boom\n"}`
	if buf.String() != want {
		t.Errorf("restJson1 body\n %s\nwant\n %s", buf.String(), want)
	}
	var decoded map[string]any
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatalf("the body is not JSON: %v", err)
	}
	// Another code's shape does not declare them: the members are left out.
	ae = toAPIError(svc, svc.Model.Operations["InvokeEndpoint"], WithErrorMembers(errs.E(errs.Invalid, "bad"), ErrorMember{"OriginalStatusCode", 400}))
	if ae.Code != "ValidationError" || len(ae.Members) != 0 {
		t.Errorf("ValidationError carries %+v, want no members", ae.Members)
	}
}
