package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/slipway-ml/slipway/internal/artifacts"
	"github.com/slipway-ml/slipway/internal/delivery"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/registry"
)

// ModelPackageProvider is the Source action of a Slipway-specific provider (CodePipeline has
// no model-registry source): Category Source, Owner AWS, Provider SlipwayModelPackage,
// configuration ModelPackageGroupName. Its one output artifact is the single file
// ModelPackageFile: the model package version the execution deploys. When the execution was
// started by a rule for a "SageMaker Model Package State Change" event of the group, it is the
// version the event names — exactly that one, even when a newer one was approved since;
// otherwise (StartPipelineExecution, CreatePipeline) it is the group's newest Approved version
// when the action runs. Either way the version is read from the registry as the action's
// session (sagemaker:DescribeModelPackage, and sagemaker:ListModelPackages for the newest) and
// must still be Approved, so a version rejected after its approval is not deployed.
const (
	ModelPackageProvider = "SlipwayModelPackage"
	ModelPackageFile     = "model-package.json"
)

// modelPackageSource is that provider.
type modelPackageSource struct{ a *App }

var (
	_ delivery.ActionSchema    = modelPackageSource{}
	_ delivery.ActionValidator = modelPackageSource{}
)

func (modelPackageSource) Configuration() ([]string, []string) {
	return []string{"ModelPackageGroupName"}, []string{"ModelPackageGroupName"}
}

func (modelPackageSource) Validate(a delivery.Action) error {
	if len(a.OutputArtifacts) != 1 || len(a.InputArtifacts) != 0 {
		return errs.E(errs.Invalid, "a %s source action has no input artifact and exactly one output artifact", ModelPackageProvider)
	}
	if !registry.ValidGroupName(a.Configuration["ModelPackageGroupName"]) {
		return errs.E(errs.Invalid, "ModelPackageGroupName %q is not a model package group name", a.Configuration["ModelPackageGroupName"])
	}
	return nil
}

// ModelPackageSource is the artifact's content.
type ModelPackageSource struct {
	ModelPackageGroupName string
	ModelPackageArn       string
	ModelPackageVersion   int
	ModelApprovalStatus   string
	// ModelDataUrl and Image are the first container's.
	ModelDataUrl string `json:",omitempty"`
	Image        string `json:",omitempty"`
	// InferenceSpecification and ModelMetrics are the version's, as DescribeModelPackage
	// returns them.
	InferenceSpecification json.RawMessage `json:",omitempty"`
	ModelMetrics           json.RawMessage `json:",omitempty"`
	// Trigger says how the version was chosen: CloudWatchEvent (EventId names the event) or
	// NewestApproved.
	Trigger string
	EventId string `json:",omitempty"`
}

// approvalEvent is what the action reads of a triggering event.
type approvalEvent struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		ModelPackageGroupName string `json:"ModelPackageGroupName"`
		ModelPackageArn       string `json:"ModelPackageArn"`
	} `json:"detail"`
}

// packageOfEvent returns the package ARN a model package state change event names, or "" when
// the event is of another kind.
func packageOfEvent(b []byte) (approvalEvent, bool) {
	var ev approvalEvent
	if len(b) == 0 || json.Unmarshal(b, &ev) != nil {
		return ev, false
	}
	return ev, ev.Source == "aws.sagemaker" && ev.DetailType == "SageMaker Model Package State Change" && ev.Detail.ModelPackageArn != ""
}

func (p modelPackageSource) Run(ctx context.Context, r delivery.ActionRequest) (delivery.ActionResult, error) {
	group := r.Action.Configuration["ModelPackageGroupName"]
	fail := func(format string, args ...any) (delivery.ActionResult, error) {
		return delivery.ActionResult{Done: true, Error: fmt.Sprintf(format, args...)}, nil
	}
	rc := registry.Call{Caller: r.Call.Caller, Context: r.Call.Context}
	out := ModelPackageSource{ModelPackageGroupName: group, Trigger: "NewestApproved"}
	var pkg registry.Package
	if ev, ok := packageOfEvent(r.Trigger.Event); ok && r.Trigger.Type == "CloudWatchEvent" {
		if ev.Detail.ModelPackageGroupName != group {
			return fail("the triggering event %s names a version of group %s, not %s", ev.ID, ev.Detail.ModelPackageGroupName, group)
		}
		err := p.a.asAction(ctx, r.Call, "sagemaker", "DescribeModelPackage", func(ctx context.Context) error {
			var err error
			pkg, err = p.a.Registry.DescribePackage(ctx, rc, ev.Detail.ModelPackageArn)
			return err
		})
		if err != nil {
			return delivery.ActionResult{}, err
		}
		out.Trigger, out.EventId = "CloudWatchEvent", ev.ID
	} else {
		var list []registry.Package
		err := p.a.asAction(ctx, r.Call, "sagemaker", "ListModelPackages", func(ctx context.Context) error {
			var err error
			list, err = p.a.Registry.ListPackages(ctx, rc, registry.PackageQuery{GroupName: group, ApprovalStatus: registry.Approved,
				SortBy: "CreationTime", Descending: true, Limit: 1})
			return err
		})
		if err != nil {
			return delivery.ActionResult{}, err
		}
		if len(list) == 0 {
			return fail("model package group %s has no Approved version", group)
		}
		pkg = list[0]
	}
	if pkg.GroupName != group {
		return fail("%s is a version of group %s, not %s", pkg.ARN, pkg.GroupName, group)
	}
	if pkg.ApprovalStatus != registry.Approved {
		return fail("%s is %s now, no longer Approved: it is not deployed", pkg.ARN, pkg.ApprovalStatus)
	}
	out.ModelPackageArn, out.ModelPackageVersion, out.ModelApprovalStatus = pkg.ARN, pkg.Version, string(pkg.ApprovalStatus)
	out.InferenceSpecification, out.ModelMetrics = pkg.Details["InferenceSpecification"], pkg.Details["ModelMetrics"]
	var spec struct {
		Containers []struct{ Image, ModelDataUrl string }
	}
	if json.Unmarshal(out.InferenceSpecification, &spec) == nil && len(spec.Containers) > 0 {
		out.ModelDataUrl, out.Image = spec.Containers[0].ModelDataUrl, spec.Containers[0].Image
	}
	body, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return delivery.ActionResult{}, errs.E(errs.Internal, "cannot encode the model package artifact: %v", err)
	}
	art := delivery.Artifact{Name: r.Action.OutputArtifacts[0], Bucket: r.ArtifactStore.Location,
		Key: artifactKey(r.PipelineName, r.Action.OutputArtifacts[0], r.ActionID), File: ModelPackageFile}
	err = p.a.asAction(ctx, r.Call, "s3", "PutObject", func(ctx context.Context) error {
		_, err := p.a.Artifacts.PutObject(ctx, r.Call.Caller, artifacts.PutInput{Bucket: art.Bucket, Key: art.Key,
			Body: bytes.NewReader(append(body, '\n')), ContentType: "application/json"})
		return err
	})
	if err != nil {
		return delivery.ActionResult{}, err
	}
	return delivery.ActionResult{Done: true, Summary: fmt.Sprintf("%s version %d (%s)", group, pkg.Version, out.Trigger),
		Outputs: []delivery.Artifact{art}}, nil
}
