package arn

import "testing"

func TestEventARNs(t *testing.T) {
	if got := EventBus("aws", "us-east-1", "111122223333", "default"); got != "arn:aws:events:us-east-1:111122223333:event-bus/default" {
		t.Errorf("EventBus = %s", got)
	}
	for _, c := range []struct{ bus, rule, want string }{
		{"default", "r", "arn:aws:events:us-east-1:111122223333:rule/r"},
		{"custom", "r", "arn:aws:events:us-east-1:111122223333:rule/custom/r"},
	} {
		got := EventRule("aws", "us-east-1", "111122223333", c.bus, c.rule)
		if got != c.want {
			t.Errorf("EventRule(%s, %s) = %s", c.bus, c.rule, got)
		}
		if _, bus, rule, ok := EventRuleOf(got); !ok || bus != c.bus || rule != c.rule {
			t.Errorf("EventRuleOf(%s) = %s, %s, %v", got, bus, rule, ok)
		}
	}
	for _, s := range []string{"arn:aws:events:us-east-1:111122223333:rule/", "arn:aws:events:us-east-1:111122223333:rule/a/b/c",
		"arn:aws:logs:us-east-1:111122223333:rule/r", "arn:aws:events:us-east-1:1:rule/r", "rule/r"} {
		if _, _, _, ok := EventRuleOf(s); ok {
			t.Errorf("EventRuleOf(%s) accepted", s)
		}
	}
	for _, s := range []string{"arn:aws:events:us-east-1:111122223333:event-bus/", "arn:aws:events:us-east-1:111122223333:event-bus/a/b",
		"arn:aws:events:us-east-1:111122223333:rule/r", "arn:aws:sqs:us-east-1:111122223333:event-bus/x"} {
		if _, _, ok := EventBusOf(s); ok {
			t.Errorf("EventBusOf(%s) accepted", s)
		}
	}
	if a, bus, ok := EventBusOf("arn:aws:events:us-east-1:111122223333:event-bus/custom"); !ok || bus != "custom" || a.Account != "111122223333" {
		t.Errorf("EventBusOf = %v, %s, %v", a, bus, ok)
	}
}
