package awsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

type summaryBase struct {
	ModelPackageGroupName string
	CreationTime          time.Time
}

type groupSummary struct {
	summaryBase
	Arn    string  `json:"ModelPackageGroupArn"`
	Desc   string  `json:"ModelPackageGroupDescription,omitempty"`
	Status *string `json:"ModelPackageGroupStatus"`
	Secret string  `json:"-"`
	hidden string
}

type statusText string

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot") }

type customMarshaler struct{ n int }

func (c customMarshaler) MarshalJSON() ([]byte, error) {
	return json.Marshal([]map[string]any{{"ModelPackageGroupName": "custom", "ModelPackageGroupArn": "arn:c", "CreationTime": c.n}})
}

func TestEncoderFollowsEncodingJSONRules(t *testing.T) {
	m := mustModel(t, "sagemaker")
	out := m.Operations["ListModelPackageGroups"].Output
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	completed := "Completed"
	tests := []struct {
		name    string
		v       any
		want    string
		wantErr bool
	}{
		{"struct with tags, embedding, omitempty, pointers and hidden fields", struct {
			ModelPackageGroupSummaryList []groupSummary
			NextToken                    *string
		}{[]groupSummary{{summaryBase{"g", when}, "arn:g", "", &completed, "s", "h"}, {summaryBase{"h", when}, "arn:h", "d", nil, "", ""}}, nil},
			`{"ModelPackageGroupSummaryList":[{"CreationTime":1767323045,"ModelPackageGroupArn":"arn:g","ModelPackageGroupName":"g","ModelPackageGroupStatus":"Completed"},` +
				`{"CreationTime":1767323045,"ModelPackageGroupArn":"arn:h","ModelPackageGroupDescription":"d","ModelPackageGroupName":"h"}]}`, false},
		{"maps with named string values", map[string]any{"NextToken": statusText("t"), "ModelPackageGroupSummaryList": []map[string]statusText{{"ModelPackageGroupStatus": "Pending"}}},
			`{"ModelPackageGroupSummaryList":[{"ModelPackageGroupStatus":"Pending"}],"NextToken":"t"}`, false},
		{"raw JSON", json.RawMessage(`{"NextToken":"n","Unknown":1}`), `{"NextToken":"n"}`, false},
		{"custom MarshalJSON", map[string]any{"ModelPackageGroupSummaryList": customMarshaler{1767323045}},
			`{"ModelPackageGroupSummaryList":[{"CreationTime":1767323045,"ModelPackageGroupArn":"arn:c","ModelPackageGroupName":"custom"}]}`, false},
		{"nil", nil, `{}`, false},
		{"failing MarshalJSON", map[string]any{"NextToken": failingMarshaler{}}, `{}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := &encoder{fields: &fieldCache{}}
			var buf bytes.Buffer
			enc.json(&buf, enc.resolve(reflect.ValueOf(tc.v)), out, nil)
			if (enc.err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", enc.err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if buf.String() != tc.want {
				t.Errorf("got  %s\nwant %s", buf.String(), tc.want)
			}
		})
	}
}
