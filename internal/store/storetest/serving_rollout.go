package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/store"
)

// testServingRollout: an update's durable progress — its policy, the committed step, the share
// (an inexact fraction), the new fleet's variants, a rollback's reason and the last policy —
// reads back exactly as written, so a restarted server goes on from where the update stood.
func testServingRollout(t *testing.T, st *store.Store) {
	ctx := context.Background()
	sv := st.Serving()
	acct := "111111111111"
	e := serving.Endpoint{Account: acct, Name: "Canary", ARN: "arn:aws:sagemaker:us-east-1:" + acct + ":endpoint/canary",
		ConfigName: "v1", Status: serving.InService, CreatedAt: t0, ModifiedAt: t0, Deployment: 1,
		Variants: []serving.VariantState{{VariantName: "Blue", CurrentWeight: 0.5, DesiredWeight: 0.5, CurrentInstanceCount: 2, DesiredInstanceCount: 2}}}
	if err := sv.Update(ctx, func(tx serving.Tx) error { return tx.InsertEndpoint(ctx, e) }); err != nil {
		t.Fatal(err)
	}
	linear := &serving.DeploymentPolicy{BlueGreen: &serving.BlueGreen{Type: serving.Linear, Size: &serving.CapacitySize{Type: serving.CapacityPercent, Value: 33},
		WaitInterval: 60, TerminationWait: 120, MaxExecution: 3600}}
	rolling := &serving.DeploymentPolicy{Rolling: &serving.Rolling{MaxBatch: serving.CapacitySize{Type: serving.InstanceCount, Value: 1}, WaitInterval: 5,
		RollbackMaxBatch: &serving.CapacitySize{Type: serving.CapacityPercent, Value: 100}}}
	for _, want := range []func(e *serving.Endpoint){
		func(e *serving.Endpoint) {
			e.Status, e.Pending, e.Deployment, e.Policy, e.LastPolicy = serving.Updating, "v2", 2, linear, linear
			e.Rollout = &serving.Rollout{Step: 1, Steps: 4, Share: 1.0 / 3, StartedAt: t0.Add(time.Second), StepAt: t0.Add(2 * time.Second), Phase: "ActivatingTraffic",
				Variants: []serving.VariantState{{VariantName: "Green", CurrentWeight: 1.0 / 3, DesiredWeight: 1, CurrentInstanceCount: 2, DesiredInstanceCount: 2,
					DeployedImages: []serving.DeployedImage{{SpecifiedImage: "img", ResolvedImage: "img", ResolutionTime: t0}}}}}
		},
		func(e *serving.Endpoint) {
			e.Status, e.Rollout.Reason, e.Rollout.Restored = serving.RollingBack, "ClientError: the new fleet failed its health checks", 0.75
		},
		func(e *serving.Endpoint) {
			e.Status, e.Pending, e.Policy, e.Rollout, e.FailureReason = serving.InService, "", nil, nil, "ClientError: the new fleet failed its health checks"
		},
		func(e *serving.Endpoint) {
			e.Status, e.Pending, e.Deployment, e.Policy, e.LastPolicy = serving.Updating, "v3", 3, rolling, rolling
			e.Rollout = &serving.Rollout{Step: 0, Steps: 2, StartedAt: t0.Add(time.Hour), Phase: "Creating"}
		},
	} {
		var saved serving.Endpoint
		err := sv.Update(ctx, func(tx serving.Tx) error {
			cur, err := tx.LockEndpoint(ctx, acct, "canary")
			if err != nil {
				return err
			}
			want(&cur)
			saved = cur
			return tx.UpdateEndpoint(ctx, cur)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := sv.GetEndpoint(ctx, acct, "canary")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(saved, got); diff != "" {
			t.Errorf("the endpoint read back differs (-written +read):\n%s", diff)
		}
	}
}
