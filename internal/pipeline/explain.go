package pipeline

import (
	"context"
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/pipeline/definition"
)

// CacheExplanation says why a step of an execution hit or missed the step cache: the argument
// paths where its cache arguments differ from the ones of the same step in an earlier
// execution of the pipeline.
type CacheExplanation struct {
	ExecutionARN string
	Step         string
	CacheKey     string
	// CacheHit is the execution whose result the step reused ("" on a miss).
	CacheHit string
	// Compared is the execution whose step the explanation compares with: the cache hit's, or
	// on a miss the most recent earlier execution in which the step succeeded with caching on
	// ("" when there is none: the step never ran cached before).
	Compared    string
	ComparedKey string
	// Expired says the keys are equal yet the step missed: the earlier entry had outlived the
	// step's CacheConfig.ExpireAfter.
	Expired     bool
	Differences []definition.Difference
}

// maxExplainExecutions bounds how many earlier executions an explanation looks through.
const maxExplainExecutions = 200

// ExplainCache explains a step's cache result. It needs what DescribePipelineExecution needs
// (sagemaker:DescribePipelineExecution on the execution): it shows nothing a caller allowed to
// read the execution's and the pipeline's steps could not compute itself.
func (s *Service) ExplainCache(ctx context.Context, c identity.Call, executionARN, step string) (CacheExplanation, error) {
	x, err := s.execution(ctx, c, "DescribePipelineExecution", executionARN)
	if err != nil {
		return CacheExplanation{}, err
	}
	if step == "" {
		return CacheExplanation{}, invalid("StepName must name a step of the execution")
	}
	steps, err := s.store.ListSteps(ctx, executionARN)
	if err != nil {
		return CacheExplanation{}, err
	}
	var st *Step
	for i := range steps {
		if steps[i].Name == step {
			st = &steps[i]
		}
	}
	if st == nil {
		return CacheExplanation{}, errs.E(errs.NotFound, "the execution %s has no step %s (yet)", executionARN, step)
	}
	out := CacheExplanation{ExecutionARN: executionARN, Step: step, CacheKey: st.CacheKey, CacheHit: st.CacheHit}
	if st.CacheKey == "" || len(st.CacheArguments) == 0 {
		// Caching is not enabled for the step (CacheConfig.Enabled), or it is not a job step,
		// or it has not been keyed yet: the explanation has no key.
		out.CacheKey, out.CacheHit = "", ""
		return out, nil
	}
	var prev *Step
	if st.CacheHit != "" {
		prev, err = s.cachedStep(ctx, st.CacheHit, step)
		if err != nil {
			return CacheExplanation{}, err
		}
		if prev != nil {
			out.Compared = st.CacheHit
		}
	} else {
		execs, err := s.store.ListExecutions(ctx, x.PipelineARN, Query{SortBy: "CreationTime", Descending: true, Limit: maxExplainExecutions})
		if err != nil {
			return CacheExplanation{}, err
		}
		for _, e := range execs {
			if e.ARN == x.ARN || !e.CreatedAt.Before(x.CreatedAt) && !(e.CreatedAt.Equal(x.CreatedAt) && e.ARN < x.ARN) {
				continue
			}
			if prev, err = s.cachedStep(ctx, e.ARN, step); err != nil {
				return CacheExplanation{}, err
			}
			if prev != nil {
				out.Compared = e.ARN
				break
			}
		}
	}
	if prev == nil {
		return out, nil
	}
	out.ComparedKey = prev.CacheKey
	var before, after any
	if err := json.Unmarshal(prev.CacheArguments, &before); err != nil {
		return CacheExplanation{}, errs.E(errs.Internal, "the cache arguments of %s do not decode", out.Compared, err)
	}
	if err := json.Unmarshal(st.CacheArguments, &after); err != nil {
		return CacheExplanation{}, errs.E(errs.Internal, "the cache arguments of %s do not decode", executionARN, err)
	}
	out.Differences = definition.Differences(before, after)
	if out.Differences == nil {
		out.Differences = []definition.Difference{}
	}
	out.Expired = st.CacheHit == "" && prev.CacheKey == st.CacheKey
	return out, nil
}

// cachedStep returns a step of an execution that succeeded with its cache arguments recorded
// (nil when it did not).
func (s *Service) cachedStep(ctx context.Context, executionARN, step string) (*Step, error) {
	steps, err := s.store.ListSteps(ctx, executionARN)
	if err != nil {
		return nil, err
	}
	for i := range steps {
		if p := steps[i]; p.Name == step && p.Status == StepSucceeded && len(p.CacheArguments) > 0 {
			return &p, nil
		}
	}
	return nil, nil
}
