package org

import (
	"encoding/json"

	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/randid"
)

// The events an organization's changes put on its management account's default bus, in the
// outbox, in the transaction that makes the change. They have the shape AWS delivers
// Organizations' management calls in (CloudTrail through EventBridge): source
// aws.organizations, detail-type "AWS API Call via CloudTrail", region us-east-1 (where
// Organizations, a global service, records its calls), and a detail naming the call
// (eventName) and its parameters. A rule matches them as it would on AWS, e.g.
//
//	{"source":["aws.organizations"],"detail":{"eventName":["MoveAccount"]}}
//
// Stack sets with automatic deployment subscribe to them to deploy to (or remove from) an
// account as soon as it joins or leaves an OU.
const (
	EventSource     = "aws.organizations"
	EventDetailType = "AWS API Call via CloudTrail"
	eventRegion     = "us-east-1"
)

// EventDetail is the detail of an Organizations event: the subset of a CloudTrail record that
// says which call changed what.
type EventDetail struct {
	EventSource       string          `json:"eventSource"` // organizations.amazonaws.com
	EventName         string          `json:"eventName"`   // MoveAccount, CreateAccount
	AWSRegion         string          `json:"awsRegion"`
	RequestParameters json.RawMessage `json:"requestParameters"`
	ResponseElements  json.RawMessage `json:"responseElements,omitempty"`
}

// AccountsChanged reports whether ev is an Organizations event that changes which accounts an
// OU holds (an account created or moved).
func AccountsChanged(ev events.Event) bool {
	if ev.Source != EventSource || ev.DetailType != EventDetailType {
		return false
	}
	var d EventDetail
	if json.Unmarshal(ev.Detail, &d) != nil {
		return false
	}
	return d.EventName == "MoveAccount" || d.EventName == "CreateAccount"
}

func (s *Service) event(o Organization, name string, resources []string, req, resp any) events.Event {
	d := EventDetail{EventSource: "organizations.amazonaws.com", EventName: name, AWSRegion: eventRegion}
	d.RequestParameters, _ = json.Marshal(req) // maps of strings: they always encode
	if resp != nil {
		d.ResponseElements, _ = json.Marshal(resp)
	}
	body, _ := json.Marshal(d)
	return events.Event{ID: randid.UUID(), Account: o.ManagementAccount, Region: eventRegion, Source: EventSource,
		DetailType: EventDetailType, Time: s.now(), Resources: resources, Detail: body}
}

func (s *Service) moveEvent(o Organization, a Account, from, to string) events.Event {
	return s.event(o, "MoveAccount", []string{a.ARN},
		map[string]string{"accountId": a.ID, "sourceParentId": from, "destinationParentId": to}, nil)
}

func (s *Service) createEvent(o Organization, a Account) events.Event {
	return s.event(o, "CreateAccount", []string{a.ARN},
		map[string]string{"accountName": a.Name},
		map[string]any{"createAccountStatus": map[string]string{
			"id": a.CreateRequestID, "state": "SUCCEEDED", "accountId": a.ID, "accountName": a.Name}})
}
