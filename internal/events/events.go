// Package events defines Slipway's events: EventBridge-shaped envelopes written to a durable
// outbox in the same transaction as the state change that causes them, each with a sequence
// number that increases in commit order so a subscriber can resume after the last one it saw.
// Subscriptions (Subscribe) deliver them to named consumers after a durable cursor, at least
// once, woken on commit; consumers are idempotent by event ID. Delivery to buses, rules and
// targets builds on this package.
package events

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one event in the outbox.
type Event struct {
	Seq        int64           // assigned by the store at commit; increasing in commit order
	ID         string          // a UUID
	Account    string          // the account the event belongs to
	Region     string          // e.g. us-east-1
	Source     string          // e.g. aws.sagemaker
	DetailType string          // e.g. SageMaker Model Package State Change
	Time       time.Time       // when the change happened
	Resources  []string        // ARNs the event is about
	Detail     json.RawMessage // the service's description of the change
	// Bus is the ARN of the event bus the event was put on (PutEvents, or a rule forwarding
	// it to another account's bus); "" means the default bus of Account.
	Bus string
}

// Envelope is the EventBridge wire shape of an event.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Envelope returns the event in EventBridge's shape.
func (e Event) Envelope() Envelope {
	res := e.Resources
	if res == nil {
		res = []string{}
	}
	return Envelope{
		Version: "0", ID: e.ID, DetailType: e.DetailType, Source: e.Source, Account: e.Account,
		Time: e.Time.UTC().Format(time.RFC3339), Region: e.Region, Resources: res, Detail: e.Detail,
	}
}

// Reader reads the outbox.
type Reader interface {
	// EventsAfter returns up to limit events with Seq > after, in Seq order.
	EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error)
}
