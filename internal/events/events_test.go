package events

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/randid"
)

func TestEnvelopeShape(t *testing.T) {
	ev := Event{ID: randid.UUID(), Account: "111111111111", Region: "us-east-1", Source: "aws.sagemaker",
		DetailType: "SageMaker Model Package State Change", Time: time.Date(2026, 11, 25, 12, 0, 0, 5, time.FixedZone("x", 3600)),
		Detail: json.RawMessage(`{"ModelApprovalStatus":"Approved"}`)}
	b, err := json.Marshal(ev.Envelope())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, want := range map[string]any{"version": "0", "source": "aws.sagemaker", "account": "111111111111",
		"detail-type": "SageMaker Model Package State Change", "time": "2026-11-25T11:00:00Z", "region": "us-east-1"} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if r, ok := m["resources"].([]any); !ok || len(r) != 0 {
		t.Errorf("resources = %v, want an empty list (never null)", m["resources"])
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(ev.ID) {
		t.Errorf("id %q is not a version 4 UUID", ev.ID)
	}
}
