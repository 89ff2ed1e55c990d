package serving

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStatusTransitions lists every edge of the endpoint status machine, allowed or not.
func TestStatusTransitions(t *testing.T) {
	all := []Status{Creating, InService, Updating, RollingBack, Deleting, Failed}
	allowed := map[[2]Status]bool{
		{Creating, InService}: true, {Creating, Failed}: true, {Creating, Deleting}: true,
		{InService, Updating}: true, {InService, Deleting}: true,
		{Updating, InService}: true, {Updating, RollingBack}: true, {Updating, Deleting}: true,
		{RollingBack, InService}: true, {RollingBack, Deleting}: true,
		{Failed, Deleting}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanMoveTo(to); got != allowed[[2]Status{from, to}] {
				t.Errorf("%s -> %s: CanMoveTo = %v", from, to, got)
			}
		}
	}
	for _, s := range all {
		if !s.Valid() {
			t.Errorf("%s is not Valid", s)
		}
	}
	if Status("Running").Valid() {
		t.Error("Running is Valid")
	}
	if !InService.Serving() || !Updating.Serving() || !RollingBack.Serving() || Creating.Serving() || Failed.Serving() || Deleting.Serving() {
		t.Error("Serving: only InService and Updating endpoints answer invocations")
	}
}

// TestPlan: a configuration's initial weights and counts, except what the endpoint keeps.
func TestPlan(t *testing.T) {
	cfg := func(name string, vs ...Variant) Config { return Config{Name: name, Variants: vs} }
	a := Variant{VariantName: "A", ModelName: "m", InitialInstanceCount: 2, InitialVariantWeight: 1}
	b := Variant{VariantName: "B", ModelName: "m", InitialInstanceCount: 1, InitialVariantWeight: 3}
	running := Endpoint{ConfigName: "one", Variants: []VariantState{{VariantName: "A", CurrentWeight: 5, DesiredWeight: 5, CurrentInstanceCount: 4, DesiredInstanceCount: 4}}}
	type pw struct {
		Name      string
		Weight    float64
		Instances int
	}
	for _, c := range []struct {
		name string
		ep   Endpoint
		cfg  Config
		want []pw
	}{
		{"a new endpoint takes the configuration's", Endpoint{ConfigName: "one"}, cfg("one", a, b), []pw{{"A", 1, 2}, {"B", 3, 1}}},
		{"a restart keeps what runs", running, cfg("one", a), []pw{{"A", 5, 4}}},
		{"an update takes the new configuration's", running, cfg("two", a, b), []pw{{"A", 1, 2}, {"B", 3, 1}}},
		{"an update retaining variant properties keeps the running variant's", func() Endpoint { e := running; e.Retain = true; return e }(),
			cfg("two", a, b), []pw{{"A", 5, 4}, {"B", 3, 1}}},
		{"asked weights win", func() Endpoint { e := running; e.Weights = map[string]float64{"A": 0}; return e }(), cfg("one", a), []pw{{"A", 0, 4}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []pw
			for _, p := range Plan(c.ep, c.cfg) {
				got = append(got, pw{p.Variant.VariantName, p.Weight, p.Instances})
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseEndpointKey: any work item key either names an endpoint that round-trips through
// the ARN the service would give it, or is refused.
func FuzzParseEndpointKey(f *testing.F) {
	s := &Service{region: "us-east-1"}
	for _, k := range []string{s.EndpointARN("111122223333", "abalone"), "arn:aws:sagemaker:us-east-1:1:model/x", "", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/a-b/c"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		account, name, ok := ParseEndpointKey(key)
		if !ok {
			return
		}
		if !validName(name) {
			t.Fatalf("ParseEndpointKey(%q) accepted the invalid name %q", key, name)
		}
		if got, _, ok := ParseEndpointKey(s.EndpointARN(account, name)); !ok || got != account {
			t.Fatalf("the endpoint %s/%s does not round-trip", account, name)
		}
	})
}
