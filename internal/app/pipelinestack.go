package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// ---- AWS::CodePipeline::Pipeline: Ref is the pipeline's name; Fn::GetAtt Version. Made
// through the deploy pipelines' service as the stack's caller, so codepipeline:CreatePipeline
// and iam:PassRole of its RoleArn are authorized as for an API call, and the declaration is
// checked as CreatePipeline checks it (every action's provider and configuration).
// DisableInboundStageTransitions is applied after the pipeline is made or updated, through
// DisableStageTransition and EnableStageTransition as the stack's caller: the stages listed
// have their inbound transition disabled with their Reason, every other stage's is enabled.

type codePipelineProvider struct{ a *App }

var _ stacks.Schema = codePipelineProvider{}

func (codePipelineProvider) Properties() ([]string, []string) {
	return []string{"Name", "RoleArn", "ArtifactStore", "Stages", "PipelineType", "ExecutionMode", "Tags",
			"RestartExecutionOnUpdate", "Variables", "DisableInboundStageTransitions"},
		[]string{"RoleArn", "Stages"}
}

// pipeline reads the properties into a declaration. The shapes are CloudFormation's, which are
// CodePipeline's own: ActionTypeId, Configuration, InputArtifacts and OutputArtifacts of {Name}.
func (p codePipelineProvider) pipeline(r stacks.Request) (delivery.Pipeline, error) {
	props := r.Properties
	var out delivery.Pipeline
	var err error
	if out.Name, _, err = name(r, "Name"); err != nil {
		return out, err
	}
	if r.PhysicalID != "" {
		out.Name = r.PhysicalID
	}
	for k, dst := range map[string]*string{"RoleArn": &out.RoleARN, "PipelineType": &out.PipelineType, "ExecutionMode": &out.ExecutionMode} {
		if *dst, err = pStr(r, props, k); err != nil {
			return out, err
		}
	}
	if out.Tags, err = pTags(r, props); err != nil {
		return out, err
	}
	if l, ok := props["Variables"].([]any); ok && len(l) > 0 {
		return out, errs.E(errs.Invalid, "Properties validation failed for resource %s: Variables is not supported by this server", r.LogicalID)
	}
	if v, ok := props["ArtifactStore"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return out, propErr(r, "ArtifactStore", "type: Object")
		}
		if err := only(r, "ArtifactStore", m, "Type", "Location", "EncryptionKey"); err != nil {
			return out, err
		}
		if m["EncryptionKey"] != nil {
			return out, propErr(r, "ArtifactStore/EncryptionKey", "no EncryptionKey (this server does not encrypt artifacts with KMS)")
		}
		if out.ArtifactStore.Type, err = pStr(r, m, "Type"); err != nil {
			return out, err
		}
		if out.ArtifactStore.Location, err = pStr(r, m, "Location"); err != nil {
			return out, err
		}
	}
	stages, ok := props["Stages"].([]any)
	if !ok {
		return out, propErr(r, "Stages", "type: Array")
	}
	for i, sv := range stages {
		path := fmt.Sprintf("Stages/%d", i)
		sm, ok := sv.(map[string]any)
		if !ok {
			return out, propErr(r, path, "type: Object")
		}
		if err := only(r, path, sm, "Name", "Actions", "Blockers", "BeforeEntry", "OnSuccess", "OnFailure"); err != nil {
			return out, err
		}
		for _, k := range []string{"Blockers", "BeforeEntry", "OnSuccess", "OnFailure"} {
			if sm[k] != nil {
				return out, propErr(r, path+"/"+k, "no "+k+" (not supported by this server)")
			}
		}
		var st delivery.Stage
		if st.Name, err = pStr(r, sm, "Name"); err != nil {
			return out, err
		}
		actions, ok := sm["Actions"].([]any)
		if !ok {
			return out, propErr(r, path+"/Actions", "type: Array")
		}
		for j, av := range actions {
			a, err := p.action(r, fmt.Sprintf("%s/Actions/%d", path, j), av)
			if err != nil {
				return out, err
			}
			st.Actions = append(st.Actions, a)
		}
		out.Stages = append(out.Stages, st)
	}
	return out, nil
}

// inboundDisabled reads DisableInboundStageTransitions: the reason of each stage of pl whose
// inbound transition is to be disabled. It is checked whole before anything is made: each
// entry names a stage of pl other than the first (which has no inbound transition), once,
// with a Reason DisableStageTransition accepts.
func (codePipelineProvider) inboundDisabled(r stacks.Request, pl delivery.Pipeline) (map[string]string, error) {
	v, ok := r.Properties["DisableInboundStageTransitions"]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, propErr(r, "DisableInboundStageTransitions", "type: Array")
	}
	out := map[string]string{}
	for i, e := range l {
		path := "DisableInboundStageTransitions/" + strconv.Itoa(i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, propErr(r, path, "type: Object")
		}
		if err := only(r, path, m, "StageName", "Reason"); err != nil {
			return nil, err
		}
		stage, _ := m["StageName"].(string)
		reason, _ := m["Reason"].(string)
		switch idx := pipelineStageIndex(pl, stage); {
		case idx < 0:
			return nil, propErr(r, path+"/StageName", "the name of one of the pipeline's Stages")
		case idx == 0:
			return nil, propErr(r, path+"/StageName", "a stage other than the first, which has no inbound transition")
		}
		if _, dup := out[stage]; dup {
			return nil, propErr(r, path+"/StageName", "a stage not listed before")
		}
		if !delivery.ValidReason(reason) {
			return nil, propErr(r, path+"/Reason", "1 to 300 characters of [a-zA-Z0-9!@ ().*?-]")
		}
		out[stage] = reason
	}
	return out, nil
}

func pipelineStageIndex(pl delivery.Pipeline, name string) int {
	for i, st := range pl.Stages {
		if st.Name == name {
			return i
		}
	}
	return -1
}

// setInbound brings the inbound transitions of cur's stages to what disabled says: a listed
// stage disabled with its reason, any other enabled. A transition already so is left alone.
func (p codePipelineProvider) setInbound(ctx context.Context, r stacks.Request, cur delivery.Pipeline, disabled map[string]string) error {
	for _, st := range cur.Stages[min(1, len(cur.Stages)):] {
		in := cur.Transitions[st.Name].Inbound
		reason, off := disabled[st.Name]
		t := delivery.TransitionInput{Pipeline: cur.Name, Stage: st.Name, Type: delivery.Inbound, Reason: reason}
		switch {
		case off && (!in.Disabled || in.Reason != reason):
			if err := p.a.Delivery.DisableStageTransition(ctx, r.Call, t); err != nil {
				return err
			}
		case !off && in.Disabled:
			if err := p.a.Delivery.EnableStageTransition(ctx, r.Call, t); err != nil {
				return err
			}
		}
	}
	return nil
}

func (codePipelineProvider) action(r stacks.Request, path string, v any) (delivery.Action, error) {
	var a delivery.Action
	m, ok := v.(map[string]any)
	if !ok {
		return a, propErr(r, path, "type: Object")
	}
	if err := only(r, path, m, "Name", "ActionTypeId", "Configuration", "InputArtifacts", "OutputArtifacts",
		"RunOrder", "RoleArn", "Region", "Namespace", "TimeoutInMinutes"); err != nil {
		return a, err
	}
	var err error
	for k, dst := range map[string]*string{"Name": &a.Name, "RoleArn": &a.RoleARN, "Region": &a.Region, "Namespace": &a.Namespace} {
		if *dst, err = pStr(r, m, k); err != nil {
			return a, err
		}
	}
	id, ok := m["ActionTypeId"].(map[string]any)
	if !ok {
		return a, propErr(r, path+"/ActionTypeId", "type: Object")
	}
	if err := only(r, path+"/ActionTypeId", id, "Category", "Owner", "Provider", "Version"); err != nil {
		return a, err
	}
	for k, dst := range map[string]*string{"Category": &a.Category, "Owner": &a.Owner, "Provider": &a.Provider, "Version": &a.Version} {
		if *dst, err = pStr(r, id, k); err != nil {
			return a, err
		}
	}
	run, err := pNum(r, m, "RunOrder", 1)
	if err != nil || run != float64(int(run)) {
		return a, propErr(r, path+"/RunOrder", "type: Integer")
	}
	a.RunOrder = int(run)
	if a.Configuration, err = pStringMap(r, m, "Configuration"); err != nil {
		return a, err
	}
	artifacts := func(key string) ([]string, error) {
		l, ok := m[key].([]any)
		if m[key] != nil && !ok {
			return nil, propErr(r, path+"/"+key, "type: Array")
		}
		var names []string
		for i, e := range l {
			am, ok := e.(map[string]any)
			n, ok2 := am["Name"].(string)
			if !ok || !ok2 {
				return nil, propErr(r, path+"/"+key+"/"+strconv.Itoa(i), "an object with a string Name")
			}
			names = append(names, n)
		}
		return names, nil
	}
	if a.InputArtifacts, err = artifacts("InputArtifacts"); err != nil {
		return a, err
	}
	if a.OutputArtifacts, err = artifacts("OutputArtifacts"); err != nil {
		return a, err
	}
	return a, nil
}

func (codePipelineProvider) result(p delivery.Pipeline) stacks.Result {
	return done(p.Name, map[string]any{"Version": strconv.Itoa(p.Version)})
}

func (p codePipelineProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	pl, err := p.pipeline(r)
	if err != nil {
		return stacks.Result{}, err
	}
	disabled, err := p.inboundDisabled(r, pl)
	if err != nil {
		return stacks.Result{}, err
	}
	_, named, _ := name(r, "Name")
	out, err := p.a.Delivery.CreatePipeline(ctx, r.Call, pl)
	if adopt(r, err, named) {
		return p.Check(ctx, stacks.Request{Call: r.Call, PhysicalID: pl.Name, LogicalID: r.LogicalID})
	}
	if err != nil {
		return stacks.Result{}, err
	}
	if err := p.setInbound(ctx, r, out, disabled); err != nil {
		r.PhysicalID = out.Name
		return stacks.Result{}, undo(ctx, err, func(ctx context.Context) error { _, err := p.Delete(ctx, r); return err })
	}
	return p.result(out), nil
}

func (p codePipelineProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	pl, err := p.a.Delivery.GetPipeline(ctx, r.Call, r.PhysicalID, 0)
	if err != nil {
		return stacks.Result{}, err
	}
	return p.result(pl), nil
}

// Replaces: a new name is a new pipeline; everything else is updated in place.
func (codePipelineProvider) Replaces(old, new map[string]any) bool { return changed(old, new, "Name") }

func (p codePipelineProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	pl, err := p.pipeline(r)
	if err != nil {
		return stacks.Result{}, err
	}
	disabled, err := p.inboundDisabled(r, pl)
	if err != nil {
		return stacks.Result{}, err
	}
	out, err := p.a.Delivery.UpdatePipeline(ctx, r.Call, pl)
	if err != nil {
		return stacks.Result{}, err
	}
	if err := p.setInbound(ctx, r, out, disabled); err != nil {
		return stacks.Result{}, err
	}
	return p.result(out), nil
}

func (p codePipelineProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	if r.PhysicalID == "" {
		return true, nil
	}
	err := p.a.Delivery.DeletePipeline(ctx, r.Call, r.PhysicalID)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}
