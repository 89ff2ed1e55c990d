package s3api

import "github.com/slipway-ml/slipway/internal/awsapi"

// The resources of S3's operations: buckets and objects, whose ARNs carry no region or
// account (bucket names are global).
const (
	bucketARN = "arn:aws:s3:::{Bucket}"
	objectARN = "arn:aws:s3:::{Bucket}/{Key}"
	sourceARN = "arn:aws:s3:::{SourceBucket}/{SourceKey}"
)

// Operations declares the action and resources each operation is authorized on.
func Operations() []awsapi.Authz {
	obj := func(op, action string) awsapi.Authz {
		return awsapi.Authz{Operation: op, Action: "s3:" + action, Resources: []string{objectARN}}
	}
	bucket := func(op, action string) awsapi.Authz {
		return awsapi.Authz{Operation: op, Action: "s3:" + action, Resources: []string{bucketARN}}
	}
	return []awsapi.Authz{
		bucket("CreateBucket", "CreateBucket"),
		bucket("HeadBucket", "ListBucket"),
		{Operation: "ListBuckets", Action: "s3:ListAllMyBuckets", Resources: []string{"*"}},
		bucket("DeleteBucket", "DeleteBucket"),
		bucket("GetBucketLocation", "GetBucketLocation"),
		bucket("PutBucketPolicy", "PutBucketPolicy"),
		bucket("GetBucketPolicy", "GetBucketPolicy"),
		bucket("DeleteBucketPolicy", "DeleteBucketPolicy"),
		bucket("ListObjects", "ListBucket"),
		bucket("ListObjectsV2", "ListBucket"),
		bucket("ListMultipartUploads", "ListBucketMultipartUploads"),
		obj("PutObject", "PutObject"),
		obj("GetObject", "GetObject"),
		obj("HeadObject", "GetObject"),
		obj("DeleteObject", "DeleteObject"),
		// Each key is decided on its own; a denied key is reported in Errors, not as the
		// call's error.
		obj("DeleteObjects", "DeleteObject"),
		// Reading the source and writing the target are decided separately.
		{Operation: "CopyObject", Action: "s3:PutObject", Resources: []string{objectARN}},
		{Operation: "CopyObject", Action: "s3:GetObject", Resources: []string{sourceARN}},
		obj("CreateMultipartUpload", "PutObject"),
		obj("UploadPart", "PutObject"),
		{Operation: "UploadPartCopy", Action: "s3:PutObject", Resources: []string{objectARN}},
		{Operation: "UploadPartCopy", Action: "s3:GetObject", Resources: []string{sourceARN}},
		obj("CompleteMultipartUpload", "PutObject"),
		obj("AbortMultipartUpload", "AbortMultipartUpload"),
		obj("ListParts", "ListMultipartUploadParts"),
		obj("PutObjectTagging", "PutObjectTagging"),
		obj("GetObjectTagging", "GetObjectTagging"),
		obj("DeleteObjectTagging", "DeleteObjectTagging"),
	}
}
