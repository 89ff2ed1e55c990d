package pipeline

import (
	"context"
	"slices"
	"time"

	"github.com/slipway-ml/slipway/internal/identity"
)

// RetryInput is a RetryPipelineExecution request.
type RetryInput struct {
	ExecutionARN string
	ClientToken  string
	MaxParallel  *int // overrides the execution's ParallelismConfiguration
}

// RetryExecution runs a Failed or Stopped execution again: its failed and stopped steps start
// again as their next attempt (new job names, new callback tokens), the steps that succeeded
// keep their results, and the steps that never ran run when the plan reaches them. A
// ClientRequestToken already applied returns the execution again and changes nothing.
func (s *Service) RetryExecution(ctx context.Context, c identity.Call, in RetryInput) (string, error) {
	if err := checkParallel(in.MaxParallel); err != nil {
		return "", err
	}
	if _, err := s.execution(ctx, c, "RetryPipelineExecution", in.ExecutionARN); err != nil {
		return "", err
	}
	steps, err := s.store.ListSteps(ctx, in.ExecutionARN)
	if err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		x, err := tx.LockExecution(ctx, in.ExecutionARN)
		if err != nil {
			return err
		}
		if in.ClientToken != "" && slices.Contains(x.RetryTokens, in.ClientToken) {
			return nil
		}
		if x.Status != Failed && x.Status != Stopped {
			return invalid("Pipeline execution %s is %s; only a Failed or Stopped execution can be retried.", x.ARN, x.Status)
		}
		now := s.now()
		prev := x.Status
		x.Status, x.FailureReason, x.ModifiedAt = Executing, "", now
		if in.MaxParallel != nil {
			x.MaxParallel = *in.MaxParallel
		}
		if in.ClientToken != "" {
			x.RetryTokens = append(x.RetryTokens, in.ClientToken)
		}
		if err := tx.UpdateExecution(ctx, x); err != nil {
			return err
		}
		if err := s.appendExecutionEvent(ctx, tx, x, prev); err != nil {
			return err
		}
		for _, st := range steps {
			if st.Status != StepFailed && st.Status != StepStopped {
				continue
			}
			was := st.Status
			st.Status, st.Attempt, st.StartedAt, st.EndedAt = StepStarting, st.Attempt+1, now, time.Time{}
			st.FailureReason, st.Retrying, st.RetryAt, st.Metadata, st.Properties, st.CacheKey = "", false, time.Time{}, nil, nil, ""
			if err := tx.PutStep(ctx, st); err != nil {
				return err
			}
			if err := s.appendStepEvent(ctx, tx, x, st, was); err != nil {
				return err
			}
		}
		return tx.Enqueue(ctx, WorkKind, x.ARN, now)
	})
	return in.ExecutionARN, err
}

// UpdateExecutionInput is an UpdatePipelineExecution request: the members given change.
type UpdateExecutionInput struct {
	ExecutionARN string
	DisplayName  *string
	Description  *string
	MaxParallel  *int
}

// UpdateExecution changes an execution's display name, description or parallelism (which
// bounds the steps it starts from then on).
func (s *Service) UpdateExecution(ctx context.Context, c identity.Call, in UpdateExecutionInput) (string, error) {
	if err := checkParallel(in.MaxParallel); err != nil {
		return "", err
	}
	if in.DisplayName != nil && (*in.DisplayName == "" || len(*in.DisplayName) > 82 || !nameRE.MatchString(*in.DisplayName)) {
		return "", invalid("PipelineExecutionDisplayName %q must be 1 to 82 letters, digits and hyphens, starting with a letter or digit", *in.DisplayName)
	}
	if in.Description != nil && len(*in.Description) > 3072 {
		return "", invalid("PipelineExecutionDescription is longer than 3072 characters")
	}
	if _, err := s.execution(ctx, c, "UpdatePipelineExecution", in.ExecutionARN); err != nil {
		return "", err
	}
	err := s.store.Update(ctx, func(tx Tx) error {
		x, err := tx.LockExecution(ctx, in.ExecutionARN)
		if err != nil {
			return err
		}
		if in.DisplayName != nil {
			x.DisplayName = *in.DisplayName
		}
		if in.Description != nil {
			x.Description = *in.Description
		}
		if in.MaxParallel != nil {
			x.MaxParallel = *in.MaxParallel
		}
		x.ModifiedAt = s.now()
		if err := tx.UpdateExecution(ctx, x); err != nil {
			return err
		}
		if x.Status.Terminal() {
			return nil
		}
		return tx.Enqueue(ctx, WorkKind, x.ARN, x.ModifiedAt)
	})
	return in.ExecutionARN, err
}
