package app_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestPrincipalOrgPathsGrants: a bucket policy that grants every principal of the staging OU
// (aws:PrincipalOrgPaths, as the SageMaker Projects templates write it) lets the staging
// account read and still refuses the production account; the condition key is the caller's
// path in the organization, o-ID/r-ROOT/ou-…/.
func TestPrincipalOrgPathsGrants(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds, stg, prod := clientsOf(s.cfg("data-science")), clientsOf(s.cfg("staging")), clientsOf(s.cfg("production"))
	roots, err := ds.org.ListRoots(ctx, &organizations.ListRootsInput{})
	must(t, err)
	ous, err := ds.org.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	must(t, err)
	staging := ""
	for _, ou := range ous.OrganizationalUnits {
		if aws.ToString(ou.Name) == "staging" {
			staging = aws.ToString(ou.Id)
		}
	}
	bucket := "orgpaths-" + s.account["data-science"]
	_, err = ds.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	must(t, err)
	_, err = ds.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: bytes.NewReader([]byte("v"))})
	must(t, err)
	_, err = ds.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{
  "Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*",
  "Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":["*/` + staging + `/*"]}}}]}`)})
	must(t, err)
	if _, err := stg.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}); err != nil {
		t.Errorf("staging, in the granted OU: %v", err)
	}
	if _, err := prod.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}); code(err) != "AccessDenied" {
		t.Errorf("production, outside the granted OU: %v, want AccessDenied", err)
	}
}
