package pattern_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events/pattern"
)

// ec2Event is the example event of EventBridge's documentation on event patterns.
const ec2Event = `{
  "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
  "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {
    "instance-id": "i-1234567890abcdef0", "state": "terminated",
    "c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.123",
    "empty": "", "nothing": null, "flag": true,
    "tags": ["prod", "web"], "nested": {"deep": {"name": "Alpha"}},
    "items": [{"k": "a", "v": 1}, {"k": "b", "v": 2}],
    "filename": "photo.PNG", "location": "us-east-1a", "eventSource": "s3.amazonaws.com"
  }
}`

func TestMatch(t *testing.T) {
	ev, err := pattern.Parse([]byte(ec2Event))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pattern string
		want    bool
	}{
		// exact, arrays as OR
		{`{"source":["aws.ec2"]}`, true},
		{`{"source":["aws.s3","aws.ec2"]}`, true},
		{`{"source":["aws.s3"]}`, false},
		{`{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"]}`, true},
		{`{"source":["aws.ec2"],"detail-type":["nope"]}`, false},
		{`{"detail":{"state":["terminated"]}}`, true},
		{`{"detail":{"state":["running"]}}`, false},
		{`{"detail":{"nested":{"deep":{"name":["Alpha"]}}}}`, true},
		{`{"detail":{"nested":{"deep":{"name":["alpha"]}}}}`, false},
		{`{"detail":{"state":{"x":["y"]}}}`, false}, // an object pattern on a string field
		// numbers, null, empty string, booleans
		{`{"detail":{"c-count":[5]}}`, true},
		{`{"detail":{"c-count":[5.0]}}`, true},
		{`{"detail":{"c-count":["5"]}}`, false},
		{`{"detail":{"nothing":[null]}}`, true},
		{`{"detail":{"missing":[null]}}`, false},
		{`{"detail":{"empty":[""]}}`, true},
		{`{"detail":{"state":[""]}}`, false},
		{`{"detail":{"flag":[true]}}`, true},
		{`{"detail":{"flag":[false]}}`, false},
		{`{"detail":{"flag":["true"]}}`, false},
		// arrays in events
		{`{"detail":{"tags":["web"]}}`, true},
		{`{"detail":{"tags":["dev"]}}`, false},
		{`{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}`, true},
		{`{"detail":{"items":{"k":["b"],"v":[2]}}}`, true},
		{`{"detail":{"items":{"k":["a"],"v":[2]}}}`, false}, // one element must match the whole object
		// prefix / suffix
		{`{"time":[{"prefix":"2017-12-22"}]}`, true},
		{`{"time":[{"prefix":"2018"}]}`, false},
		{`{"detail":{"location":[{"prefix":"us-"}]}}`, true},
		{`{"detail":{"filename":[{"suffix":".png"}]}}`, false},
		{`{"detail":{"filename":[{"suffix":".PNG"}]}}`, true},
		{`{"detail":{"filename":[{"suffix":{"equals-ignore-case":".png"}}]}}`, true},
		{`{"detail":{"filename":[{"prefix":{"equals-ignore-case":"PHOTO"}}]}}`, true},
		{`{"detail":{"c-count":[{"prefix":"5"}]}}`, false}, // prefix applies to strings only
		// anything-but
		{`{"detail":{"state":[{"anything-but":"initializing"}]}}`, true},
		{`{"detail":{"state":[{"anything-but":"terminated"}]}}`, false},
		{`{"detail":{"state":[{"anything-but":["stopped","terminated"]}]}}`, false},
		{`{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, true},
		{`{"detail":{"c-count":[{"anything-but":[4,6]}]}}`, true},
		{`{"detail":{"c-count":[{"anything-but":5}]}}`, false},
		{`{"detail":{"state":[{"anything-but":{"prefix":"term"}}]}}`, false},
		{`{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, true},
		{`{"detail":{"filename":[{"anything-but":{"suffix":".PNG"}}]}}`, false},
		{`{"detail":{"filename":[{"anything-but":{"suffix":".txt"}}]}}`, true},
		{`{"detail":{"state":[{"anything-but":{"equals-ignore-case":["TERMINATED"]}}]}}`, false},
		{`{"detail":{"state":[{"anything-but":{"equals-ignore-case":"Running"}}]}}`, true},
		{`{"detail":{"state":[{"anything-but":{"wildcard":"term*"}}]}}`, false},
		{`{"detail":{"state":[{"anything-but":{"wildcard":"run*"}}]}}`, true},
		{`{"detail":{"missing":[{"anything-but":"x"}]}}`, false}, // anything-but needs the field
		// numeric
		{`{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`, true},
		{`{"detail":{"c-count":[{"numeric":[">",0,"<",5]}]}}`, false},
		{`{"detail":{"d-count":[{"numeric":["<",10]}]}}`, true},
		{`{"detail":{"x-limit":[{"numeric":["=",301.8]}]}}`, true},
		{`{"detail":{"x-limit":[{"numeric":[">=",302]}]}}`, false},
		{`{"detail":{"state":[{"numeric":[">",0]}]}}`, false},
		// exists
		{`{"detail":{"c-count":[{"exists":true}]}}`, true},
		{`{"detail":{"c-count":[{"exists":false}]}}`, false},
		{`{"detail":{"missing":[{"exists":false}]}}`, true},
		{`{"detail":{"missing":[{"exists":true}]}}`, false},
		{`{"detail":{"nothing":[{"exists":true}]}}`, true}, // null is a value
		{`{"detail":{"nested":[{"exists":true}]}}`, false}, // exists works on leaves only
		{`{"nope":{"inner":[{"exists":false}]}}`, true},    // a missing object has no leaves
		{`{"detail":{"tags":[{"exists":true}]}}`, true},
		// cidr
		{`{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`, true},
		{`{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}`, false},
		{`{"detail":{"state":[{"cidr":"10.0.0.0/8"}]}}`, false},
		// equals-ignore-case
		{`{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, true},
		{`{"detail-type":[{"equals-ignore-case":"ec2 instance"}]}`, false},
		// wildcard
		{`{"detail":{"eventSource":[{"wildcard":"*.amazonaws.com"}]}}`, true},
		{`{"detail":{"eventSource":[{"wildcard":"s3.*.com"}]}}`, true},
		{`{"detail":{"eventSource":[{"wildcard":"*.aws.com"}]}}`, false},
		{`{"detail":{"eventSource":[{"wildcard":"s3.amazonaws.com"}]}}`, true},
		{`{"detail":{"location":[{"wildcard":"us-*-1?"}]}}`, false},
		// $or
		{`{"detail":{"$or":[{"c-count":[{"numeric":[">",10]}]},{"d-count":[3]}]}}`, true},
		{`{"detail":{"$or":[{"c-count":[{"numeric":[">",10]}]},{"d-count":[4]}]}}`, false},
		{`{"source":["aws.ec2"],"$or":[{"detail-type":["x"]},{"detail":{"state":["terminated"]}}]}`, true},
		{`{"source":["aws.s3"],"$or":[{"detail-type":["x"]},{"detail":{"state":["terminated"]}}]}`, false},
		{`{"$or":[{"source":["x"]},{"$or":[{"account":["1"]},{"account":["111122223333"]}]}]}`, true},
		// several operators in one list: any
		{`{"detail":{"state":[{"prefix":"x"},"terminated"]}}`, true},
		{`{"detail":{"state":[{"prefix":"x"},{"suffix":"y"}]}}`, false},
	} {
		p, err := pattern.Compile(c.pattern)
		if err != nil {
			t.Errorf("Compile(%s): %v", c.pattern, err)
			continue
		}
		if got := p.Match(ev); got != c.want {
			t.Errorf("Match(%s) = %v, want %v", c.pattern, got, c.want)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	for _, c := range []struct{ pattern, reason string }{
		{``, "not valid JSON"},
		{`{`, "not valid JSON"},
		{`[]`, "Filter is not an object"},
		{`"x"`, "Filter is not an object"},
		{`{}`, "Empty objects"},
		{`{"source":"aws.ec2"}`, "Match value must be"},
		{`{"source":[]}`, "Empty arrays"},
		{`{"detail":{}}`, "Empty objects"},
		{`{"source":[["a"]]}`, "an array in an array"},
		{`{"source":[{"prefix":1}]}`, "prefix match pattern must be a string"},
		{`{"source":[{"prefix":"a","suffix":"b"}]}`, "exactly one key"},
		{`{"source":[{"foo":"a"}]}`, "Unrecognized match type foo"},
		{`{"n":[{"numeric":[">"]}]}`, "numeric"},
		{`{"n":[{"numeric":["!",1]}]}`, "Unrecognized numeric range operator"},
		{`{"n":[{"numeric":[">",5,"<",1]}]}`, "Bad numeric range"},
		{`{"n":[{"numeric":[">",1,">",2]}]}`, "two lower bounds"},
		{`{"n":[{"numeric":["=",1,"<",2]}]}`, "cannot be combined"},
		{`{"n":[{"numeric":[">","1"]}]}`, "must be numeric"},
		{`{"n":[{"exists":"yes"}]}`, "exists match pattern must be either true or false"},
		{`{"n":[{"cidr":"10.0.0.0/33"}]}`, "Nonstandard IP address"},
		{`{"n":[{"anything-but":[]}]}`, "Empty arrays"},
		{`{"n":[{"anything-but":[null]}]}`, "anything-but list"},
		{`{"n":[{"anything-but":{"prefix":""}}]}`, "non-empty string"},
		{`{"n":[{"anything-but":{"nope":"x"}}]}`, "Unsupported anything-but pattern"},
		{`{"n":[{"wildcard":"a**b"}]}`, "Consecutive wildcard characters"},
		{`{"n":[{"wildcard":"a\\b"}]}`, "Invalid escape character"},
		{`{"n":[{"equals-ignore-case":5}]}`, "equals-ignore-case match pattern must be a string"},
		{`{"$or":[{"a":["b"]}]}`, "at least two"},
		{`{"$or":{"a":["b"]}}`, "must be an array of objects"},
		{`{"a":["b"],"a":["c"]}`, "Duplicate key"},
		{`{"a":["b"]} {}`, "more than one"},
		{`{"a":[1e999]}`, "out of range"},
		{`{"a":["` + strings.Repeat("x", 5000) + `"]}`, "longer than 4096"},
		{strings.Repeat(`{"a":`, 40) + `["x"]` + strings.Repeat(`}`, 40), "nests deeper"},
	} {
		_, err := pattern.Compile(c.pattern)
		if err == nil {
			t.Errorf("Compile(%.60s) = nil error, want %q", c.pattern, c.reason)
			continue
		}
		if errs.CodeOf(err) != "InvalidEventPatternException" || !errs.Is(err, errs.Invalid) {
			t.Errorf("Compile(%.60s): code %q kind %v, want InvalidEventPatternException", c.pattern, errs.CodeOf(err), errs.KindOf(err))
		}
		if msg := errs.Message(err); !strings.HasPrefix(msg, "Event pattern is not valid. Reason: ") || !strings.Contains(msg, c.reason) {
			t.Errorf("Compile(%.60s) = %q, want a reason containing %q", c.pattern, msg, c.reason)
		}
	}
}

// TestSetAgreesWithEveryPattern is a property test: over random patterns and events, the
// indexed Set reports exactly the patterns whose own Match is true.
func TestSetAgreesWithEveryPattern(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		set := pattern.NewSet()
		var ps []*pattern.Pattern
		for i := 0; i < 100; i++ {
			p, err := pattern.Compile(randomPattern(r))
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
			set.Add(fmt.Sprint(i), p)
		}
		for j := 0; j < 50; j++ {
			ev, err := pattern.Parse([]byte(randomEvent(r)))
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for i, p := range ps {
				if p.Match(ev) {
					want = append(want, fmt.Sprint(i))
				}
			}
			set.Match(ev, func(id string) { got = append(got, id) })
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("Set.Match = %v, brute force = %v", got, want)
			}
		}
	}
}

var (
	sources = []string{"aws.sagemaker", "aws.ec2", "custom.app", "aws.s3"}
	types   = []string{"SageMaker Model Package State Change", "EC2 Instance State-change Notification", "Object Created", "Thing"}
	status  = []string{"Approved", "Rejected", "PendingManualApproval"}
)

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func randomPattern(r *rand.Rand) string {
	var parts []string
	if r.IntN(4) > 0 {
		parts = append(parts, fmt.Sprintf(`"source":[%q,%q]`, pick(r, sources), pick(r, sources)))
	}
	if r.IntN(3) > 0 {
		parts = append(parts, fmt.Sprintf(`"detail-type":[%q]`, pick(r, types)))
	}
	var detail []string
	switch r.IntN(6) {
	case 0:
		detail = append(detail, fmt.Sprintf(`"status":[%q]`, pick(r, status)))
	case 1:
		detail = append(detail, fmt.Sprintf(`"status":[{"anything-but":%q}]`, pick(r, status)))
	case 2:
		detail = append(detail, fmt.Sprintf(`"n":[{"numeric":[">",%d]}]`, r.IntN(10)))
	case 3:
		detail = append(detail, fmt.Sprintf(`"tags":[%q]`, pick(r, status)))
	case 4:
		detail = append(detail, `"$or":[{"status":["Approved"]},{"n":[{"numeric":["<",3]}]}]`)
	}
	if len(detail) > 0 {
		parts = append(parts, `"detail":{`+strings.Join(detail, ",")+`}`)
	}
	if len(parts) == 0 {
		parts = append(parts, `"account":[{"exists":true}]`)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func randomEvent(r *rand.Rand) string {
	return fmt.Sprintf(`{"source":%q,"detail-type":%q,"account":"111122223333","detail":{"status":%q,"n":%d,"tags":[%q,%q]}}`,
		pick(r, sources), pick(r, types), pick(r, status), r.IntN(10), pick(r, status), pick(r, status))
}
