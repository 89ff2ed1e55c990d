package app_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/slipway-ml/slipway/internal/algorithms/linear"
)

// linearModelTarGz is a model.tar.gz holding a two-feature linear regressor (y = x0 + 2·x1 + 1).
func linearModelTarGz(t testing.TB) []byte {
	var m bytes.Buffer
	lm := &linear.Model{Format: linear.Format, Version: linear.Version, PredictorType: linear.Regressor, Weights: []float64{1, 2}, Intercept: 1, Iterations: 1}
	if err := lm.WriteJSON(&m); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: linear.ModelFile, Mode: 0o644, Size: int64(m.Len())}); err != nil {
		t.Fatal(err)
	}
	tw.Write(m.Bytes())
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// servingBucket makes (once) a bucket holding a linear model and a role SageMaker may assume
// that may read it, and returns the model's URL and the role.
func (e *authzEnv) servingArtifact() (url, role string) {
	ctx := context.Background()
	const bucket = "authz-serving"
	if _, err := e.admin.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		_, err := e.admin.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		e.must(err)
		_, err = e.admin.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("linear/model.tar.gz"), Body: bytes.NewReader(linearModelTarGz(e.t))})
		e.must(err)
		_, err = e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("authz-serving"), AssumeRolePolicyDocument: aws.String(sagemakerTrust)})
		e.must(err)
		_, err = e.admin.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("authz-serving"), PolicyName: aws.String("read"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::authz-serving/*"}]}`)})
		e.must(err)
	}
	return "s3://" + bucket + "/linear/model.tar.gz", fmt.Sprintf("arn:aws:iam::%s:role/authz-serving", e.account)
}

func (e *authzEnv) model() map[string]string {
	url, role := e.servingArtifact()
	name := e.name("model")
	_, err := e.admin.sm.CreateModel(context.Background(), &sagemaker.CreateModelInput{ModelName: aws.String(name), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("slipway/linear"), ModelDataUrl: aws.String(url)}})
	e.must(err)
	return map[string]string{"ModelName": name, "RoleArn": role, "ModelDataUrl": url}
}

func (e *authzEnv) endpointConfig() map[string]string {
	v := e.model()
	v["EndpointConfigName"] = e.name("config")
	_, err := e.admin.sm.CreateEndpointConfig(context.Background(), &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(v["EndpointConfigName"]),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(v["ModelName"]),
			InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
	e.must(err)
	return v
}

// endpoint makes an endpoint and waits until it is InService.
func (e *authzEnv) endpoint() map[string]string {
	ctx := context.Background()
	v := e.endpointConfig()
	v["EndpointName"] = e.name("endpoint")
	_, err := e.admin.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(v["EndpointName"]), EndpointConfigName: aws.String(v["EndpointConfigName"])})
	e.must(err)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := e.admin.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(v["EndpointName"])})
		e.must(err)
		if d.EndpointStatus == smtypes.EndpointStatusInService {
			return v
		}
		if d.EndpointStatus == smtypes.EndpointStatusFailed || time.Now().After(deadline) {
			e.t.Fatalf("endpoint %s: %s %s", v["EndpointName"], d.EndpointStatus, aws.ToString(d.FailureReason))
		}
	}
}

func servingCases() map[string]opCase {
	none := func(*authzEnv) map[string]string { return map[string]string{} }
	type call = func(ctx context.Context, e *authzEnv, v map[string]string) error
	c := func(setup func(*authzEnv) map[string]string, f call) opCase { return opCase{setup, f} }
	newModel := func(e *authzEnv) map[string]string {
		url, role := e.servingArtifact()
		return map[string]string{"ModelName": e.name("newmodel"), "RoleArn": role, "ModelDataUrl": url}
	}
	newConfig := func(e *authzEnv) map[string]string {
		v := e.model()
		v["EndpointConfigName"] = e.name("newconfig")
		return v
	}
	newEndpoint := func(e *authzEnv) map[string]string {
		v := e.endpointConfig()
		v["EndpointName"] = e.name("newendpoint")
		return v
	}
	return map[string]opCase{
		"CreateModel": c(newModel, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(v["ModelName"]), ExecutionRoleArn: aws.String(v["RoleArn"]),
				PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("slipway/linear"), ModelDataUrl: aws.String(v["ModelDataUrl"])}})
			return err
		}),
		"DescribeModel": c((*authzEnv).model, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(v["ModelName"])})
			return err
		}),
		"ListModels": c(none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListModels(ctx, &sagemaker.ListModelsInput{})
			return err
		}),
		"DeleteModel": c((*authzEnv).model, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: aws.String(v["ModelName"])})
			return err
		}),
		"CreateEndpointConfig": c(newConfig, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(v["EndpointConfigName"]),
				ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(v["ModelName"]),
					InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
			return err
		}),
		"DescribeEndpointConfig": c((*authzEnv).endpointConfig, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(v["EndpointConfigName"])})
			return err
		}),
		"ListEndpointConfigs": c(none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListEndpointConfigs(ctx, &sagemaker.ListEndpointConfigsInput{})
			return err
		}),
		"DeleteEndpointConfig": c((*authzEnv).endpointConfig, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: aws.String(v["EndpointConfigName"])})
			return err
		}),
		"CreateEndpoint": c(newEndpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(v["EndpointName"]), EndpointConfigName: aws.String(v["EndpointConfigName"])})
			return err
		}),
		"DescribeEndpoint": c((*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(v["EndpointName"])})
			return err
		}),
		"ListEndpoints": c(none, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{})
			return err
		}),
		"UpdateEndpoint": c((*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(v["EndpointName"]), EndpointConfigName: aws.String(v["EndpointConfigName"])})
			return err
		}),
		"UpdateEndpointWeightsAndCapacities": c((*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: aws.String(v["EndpointName"]),
				DesiredWeightsAndCapacities: []smtypes.DesiredWeightAndCapacity{{VariantName: aws.String("AllTraffic"), DesiredWeight: aws.Float32(2)}}})
			return err
		}),
		"DeleteEndpoint": c((*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := e.actor.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String(v["EndpointName"])})
			return err
		}),
	}
}

// withServingCases adds the cases of serving's operations to the SageMaker cases.
func withServingCases(m map[string]opCase) map[string]opCase {
	for op, c := range servingCases() {
		m[op] = c
	}
	return m
}

func runtimeCases() map[string]opCase {
	return map[string]opCase{
		"InvokeEndpoint": {(*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			out, err := e.actor.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(v["EndpointName"]),
				ContentType: aws.String("text/csv"), Accept: aws.String("application/json"), Body: []byte("1,2\n")})
			if err != nil {
				return err
			}
			var got struct{ Predictions []struct{ Score float64 } }
			if err := json.Unmarshal(out.Body, &got); err != nil || len(got.Predictions) != 1 || got.Predictions[0].Score != 6 {
				return fmt.Errorf("the linear model answered %s (%v), want a score of 6", out.Body, err)
			}
			return nil
		}},
		"V2Infer": {(*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			return v2Infer(ctx, e.actor, v["EndpointName"])
		}},
		"V2ModelReady": {(*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			return v2Get(ctx, e.actor, "/v2/models/"+v["EndpointName"]+"/ready")
		}},
		"V2ModelMetadata": {(*authzEnv).endpoint, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			return v2Get(ctx, e.actor, "/v2/models/"+v["EndpointName"])
		}},
	}
}
