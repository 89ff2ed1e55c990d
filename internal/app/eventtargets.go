package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/rules"
	"github.com/slipway-ml/slipway/internal/identity"
)

// pipelineTarget starts an execution of a SageMaker pipeline for each event a rule delivers to
// it: StartPipelineExecution through the SageMaker API served in this process, as a session of
// the target's role (which must trust events.amazonaws.com and be allowed
// sagemaker:StartPipelineExecution on the pipeline), audited as EventBridge acting for it. The
// call's ClientRequestToken is a digest of the delivery's key (event id, rule, target), so a
// redelivery after a crash gets the execution the first delivery started and starts nothing.
type pipelineTarget struct{ a *App }

var _ rules.Deliverer = pipelineTarget{}

// pipelineToken is the ClientRequestToken of a delivery: 64 hex digits (SageMaker wants 32 to 128
// of [a-zA-Z0-9-]); an event id alone would collide when two rules start the same pipeline.
func pipelineToken(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func (p pipelineTarget) Deliver(ctx context.Context, d rules.Delivery) error {
	if d.Target.RoleARN == "" {
		return errs.E(errs.Invalid, "target %s names no RoleArn", d.Target.ID)
	}
	var svc *awsapi.Service
	for _, x := range p.a.svcs {
		if x.Name == "sagemaker" {
			svc = x
		}
	}
	if svc == nil {
		return errs.E(errs.Unavailable, "the SageMaker API is not built yet")
	}
	caller, err := p.a.Identity.EngineSession(ctx, d.Target.RoleARN, rules.Engine)
	if err != nil {
		return err
	}
	type param struct{ Name, Value string }
	in := struct {
		PipelineName       string
		ClientRequestToken string
		PipelineParameters []param `json:",omitempty"`
	}{PipelineName: d.Target.ARN, ClientRequestToken: pipelineToken(d.Key)}
	if d.Target.SageMakerPipeline != nil {
		for _, x := range d.Target.SageMakerPipeline.Parameters {
			in.PipelineParameters = append(in.PipelineParameters, param{x.Name, x.Value})
		}
	}
	return p.a.Audit.Engine(ctx, audit.Record{
		Time: p.a.now(), Account: caller.Account, PrincipalARN: caller.ARN, UserAgent: rules.Engine,
		Service: "sagemaker", Operation: "StartPipelineExecution", Decision: "allow",
		Reason: "rule " + d.RuleARN + " delivers event " + d.Event.ID + " to target " + d.Target.ID,
	}, func(ctx context.Context) error {
		_, err := svc.Invoke(ctx, caller, p.a.cfg.Region, "StartPipelineExecution", in)
		return err
	})
}

// deployPipelineTarget starts an execution of a deploy pipeline (CodePipeline) for each event a
// rule delivers to it, as a session of the target's role (which must trust events.amazonaws.com
// and be allowed codepipeline:StartPipelineExecution on the pipeline), audited as EventBridge
// acting for it. The execution's trigger is CloudWatchEvent (the rule) and it carries the
// event, for a Source action to read. The pipeline is one of the role's account; the execution's
// ClientRequestToken is a digest of the delivery's key, so a redelivery after a crash starts
// nothing new.
type deployPipelineTarget struct{ a *App }

var _ rules.Deliverer = deployPipelineTarget{}

func (p deployPipelineTarget) Deliver(ctx context.Context, d rules.Delivery) error {
	if d.Target.RoleARN == "" {
		return errs.E(errs.Invalid, "target %s names no RoleArn", d.Target.ID)
	}
	target, err := arn.Parse(d.Target.ARN)
	if err != nil || target.Service != "codepipeline" {
		return errs.E(errs.Invalid, "target %s: %s is not a CodePipeline pipeline ARN", d.Target.ID, d.Target.ARN)
	}
	caller, err := p.a.Identity.EngineSession(ctx, d.Target.RoleARN, rules.Engine)
	if err != nil {
		return err
	}
	if target.Account != caller.Account {
		return errs.E(errs.Invalid, "target %s: pipeline %s is not in the account of role %s", d.Target.ID, d.Target.ARN, d.Target.RoleARN)
	}
	call := identity.Call{Caller: caller, Context: identity.RequestContext{Region: p.a.cfg.Region, Secure: true, Time: p.a.now()}}
	return p.a.Audit.Engine(ctx, audit.Record{
		Time: p.a.now(), Account: caller.Account, PrincipalARN: caller.ARN, UserAgent: rules.Engine,
		Service: "codepipeline", Operation: "StartPipelineExecution", Resource: d.Target.ARN, Decision: "allow",
		Reason: "rule " + d.RuleARN + " delivers event " + d.Event.ID + " to target " + d.Target.ID,
	}, func(ctx context.Context) error {
		event, err := json.Marshal(d.Event.Envelope())
		if err != nil {
			return errs.E(errs.Internal, "cannot encode event %s: %v", d.Event.ID, err)
		}
		_, err = p.a.Delivery.StartForEvent(ctx, call, target.Resource, pipelineToken(d.Key), d.RuleARN, event)
		return err
	})
}
