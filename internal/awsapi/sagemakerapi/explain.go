package sagemakerapi

import (
	"context"
	_ "embed"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
)

// Slipway's own SageMaker operations. They are served under the SageMaker service (the same
// endpoint, SigV4 scope, X-Amz-Target prefix, error vocabulary and authorization as the
// operations they extend) with names that start with "Slipway", so they cannot collide with an
// operation AWS adds. botocore does not know them: their model is slipway_operations.json
// (botocore's format), merged into the extracted SageMaker model when the service is built
// (awsapi.ExtendModel).
// Clients call them as a raw awsJson1_1 request (internal/cli signs one with the SDK's signer).
//
//	SlipwayExplainPipelineStepCache  why a pipeline step hit or missed the step cache
//	                                 (docs/pipelines.md, "Explaining the cache")

//go:embed slipway_operations.json
var slipwayModel []byte

type explainCacheIn struct {
	PipelineExecutionArn string
	StepName             string
}

// explainPipelineStepCache answers SlipwayExplainPipelineStepCache: the cache key of a step,
// its cache hit, the execution it is compared with and the argument paths that differ (each
// side's value as JSON text; absent when the side lacks the member).
func (a *API) explainPipelineStepCache(ctx context.Context, req *awsapi.Request, in *explainCacheIn) (any, error) {
	x, err := a.Pipelines.ExplainCache(ctx, apicall.Call(req), in.PipelineExecutionArn, in.StepName)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"PipelineExecutionArn": x.ExecutionARN, "StepName": x.Step, "CacheKey": x.CacheKey, "Expired": x.Expired}
	if x.CacheHit != "" {
		out["CacheHitResult"] = map[string]string{"SourcePipelineExecutionArn": x.CacheHit}
	}
	if x.Compared != "" {
		out["ComparedPipelineExecutionArn"] = x.Compared
		out["ComparedCacheKey"] = x.ComparedKey
		diffs := make([]map[string]string, 0, len(x.Differences))
		for _, d := range x.Differences {
			m := map[string]string{"Path": d.Path}
			if d.Before != nil {
				m["Before"] = string(d.Before)
			}
			if d.After != nil {
				m["After"] = string(d.After)
			}
			diffs = append(diffs, m)
		}
		out["Differences"] = diffs
	}
	return out, nil
}
