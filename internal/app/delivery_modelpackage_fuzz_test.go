package app

import (
	"encoding/json"
	"testing"
)

// FuzzModelPackageEvent: whatever a triggering event holds, packageOfEvent never panics, and it
// names a package only for a "SageMaker Model Package State Change" from aws.sagemaker that
// names one.
func FuzzModelPackageEvent(f *testing.F) {
	f.Add([]byte(`{"version":"0","id":"e1","detail-type":"SageMaker Model Package State Change","source":"aws.sagemaker","detail":{"ModelPackageGroupName":"abalone","ModelPackageArn":"arn:aws:sagemaker:us-east-1:111111111111:model-package/abalone/1","ModelApprovalStatus":"Approved"}}`))
	f.Add([]byte(`{"detail-type":"SageMaker Model Package State Change","source":"my.app","detail":{"ModelPackageArn":"x"}}`))
	f.Add([]byte(`{"detail":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, ok := packageOfEvent(b)
		if !ok {
			return
		}
		if ev.Source != "aws.sagemaker" || ev.DetailType != "SageMaker Model Package State Change" || ev.Detail.ModelPackageArn == "" || !json.Valid(b) {
			t.Fatalf("packageOfEvent(%q) named %+v", b, ev)
		}
	})
}
