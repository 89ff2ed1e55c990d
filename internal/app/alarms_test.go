package app_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-ml/slipway/internal/alarms"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// TestAlarmsWithBothBotos drives CloudWatch with Debian's boto3 1.26 (awsQuery) and pyenv's
// boto3 1.43 (awsJson1_0): an alarm on a custom metric goes to ALARM once its metric breaches,
// the reads sum the data up, bad calls get CloudWatch's codes and change nothing, and every
// transition is on the event bus as a "CloudWatch Alarm State Change" event.
func TestAlarmsWithBothBotos(t *testing.T) { alarmsWithBothBotos(t, "") }

// TestAlarmsOnPostgres runs the same calls on PostgreSQL (the alarms' store SQL on both).
func TestAlarmsOnPostgres(t *testing.T) { alarmsWithBothBotos(t, storetest.PostgresDSN(t)) }

func alarmsWithBothBotos(t *testing.T, database string) {
	s := start(t, database)
	creds := s.profile["data-science"]
	for _, tc := range []struct{ name, python, version string }{
		{"Debian boto3 1.26 (query)", "/usr/bin/python3", "1.26"},
		{"pyenv boto3 1.43 (json)", "python3", "1.43"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := exec.Command(tc.python, "-c", "import boto3").CombinedOutput(); err != nil {
				t.Fatalf("%s with boto3 is required (apt-get install python3-boto3): %v\n%s", tc.python, err, out)
			}
			alarm := "errors-" + tc.version
			cmd := exec.Command(tc.python, "testdata/alarms_client.py", s.url, alarm, "App/"+tc.version)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
				"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
			b, err := cmd.Output()
			if err != nil {
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("%v\n%s", err, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			if !strings.HasPrefix(got["boto3"].(string), tc.version) {
				t.Fatalf("boto3 %v, want %s", got["boto3"], tc.version)
			}
			delete(got, "boto3")
			want := map[string]any{
				"state":   "ALARM",
				"stats":   []any{map[string]any{"Sum": 10.0, "SampleCount": 4.0, "Maximum": 5.0}},
				"average": []any{2.5},
				"metrics": []any{"Errors"},
				"history": []any{"ConfigurationUpdate", "StateUpdate"},
				"errors": map[string]any{"reserved": "InvalidParameterValue", "period": "InvalidParameterValue",
					"missing": "ResourceNotFound", "state": "InvalidParameterValue"},
				"after": []any{alarm}, // the failed DeleteAlarms deleted nothing
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("boto3 run (-want +got):\n%s", diff)
			}
		})
	}
	evs, err := s.app.Store.Events().EventsAfter(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]string{}
	for _, e := range evs {
		if e.DetailType != alarms.StateChangeType {
			continue
		}
		var d struct {
			AlarmName string `json:"alarmName"`
			State     struct{ Value string }
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil || e.Source != "aws.cloudwatch" || len(e.Resources) != 1 ||
			!strings.HasSuffix(e.Resources[0], ":alarm:"+d.AlarmName) {
			t.Errorf("event %s %s %v: %s (%v)", e.Source, e.DetailType, e.Resources, e.Detail, err)
		}
		changes[d.AlarmName] += d.State.Value + " "
	}
	// Created without data and missing data not breaching: OK; then the breach: ALARM; then,
	// once the period has passed without data, OK again (if the test ran that long).
	for _, a := range []string{"errors-1.26", "errors-1.43"} {
		if got := changes[a]; got != "OK ALARM " && got != "OK ALARM OK " {
			t.Errorf("state change events of %s: %q, want OK ALARM [OK]", a, got)
		}
	}
}
