package batch

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// sum answers CSV requests with the sum of each line's fields, one line per record; JSON lines
// requests with {"score": number of members}.
func sum(requests *[]string) Predict {
	return func(_ context.Context, payload []byte, ct, accept string) ([]byte, error) {
		*requests = append(*requests, string(payload))
		var out []string
		for _, line := range strings.Split(strings.TrimRight(string(payload), "\n"), "\n") {
			if strings.HasPrefix(ct, "application/json") {
				out = append(out, fmt.Sprintf(`{"score":%d}`, strings.Count(line, ":")))
				continue
			}
			s := 0.0
			for _, f := range strings.Split(line, ",") {
				v, err := strconv.ParseFloat(f, 64)
				if err != nil {
					return nil, fmt.Errorf("not a number: %q", f)
				}
				s += v
			}
			out = append(out, strconv.FormatFloat(s, 'g', -1, 64))
		}
		return []byte(strings.Join(out, "\n") + "\n"), nil
	}
}

func TestRun(t *testing.T) {
	csvIn := "1,2,3\n4,5,6\n\n7,8,9\n"
	cases := []struct {
		name     string
		in       string
		p        Params
		want     string
		requests int
	}{
		{"line, single record", csvIn, Params{SplitType: "Line", ContentType: "text/csv", AssembleWith: "Line"}, "6\n15\n24\n", 3},
		{"line, multi record", csvIn, Params{SplitType: "Line", BatchStrategy: "MultiRecord", ContentType: "text/csv", AssembleWith: "Line"}, "6\n15\n24\n", 1},
		{"no split: one request, response as is", "1,2\n3,4\n", Params{ContentType: "text/csv"}, "3\n7\n", 1},
		{"input filter drops the id column", "100,1,2\n200,3,4\n", Params{SplitType: "Line", BatchStrategy: "MultiRecord", ContentType: "text/csv", AssembleWith: "Line", InputFilter: "$[1:]"}, "3\n7\n", 1},
		{"join with input, keep id and prediction", "100,1,2\n200,3,4\n", Params{SplitType: "Line", BatchStrategy: "MultiRecord", ContentType: "text/csv", AssembleWith: "Line", InputFilter: "$[1:]", JoinSource: "Input", OutputFilter: "$[0,-1]"}, "100,3\n200,7\n", 1},
		{"pick columns", "1,2,3,4\n", Params{SplitType: "Line", ContentType: "text/csv", InputFilter: "$[0,2]", AssembleWith: "Line"}, "4\n", 1},
		{"json lines join", `{"id":1,"features":[1,2]}` + "\n" + `{"id":2,"features":[3]}` + "\n", Params{SplitType: "Line", BatchStrategy: "MultiRecord", ContentType: "application/jsonlines", AssembleWith: "Line", InputFilter: "$.features", JoinSource: "Input", OutputFilter: "$['id','SageMakerOutput']"},
			`{"SageMakerOutput":{"score":0},"id":1}` + "\n" + `{"SageMakerOutput":{"score":0},"id":2}` + "\n", 1},
		{"json member filter", `{"id":7,"f":{"a":1,"b":2}}` + "\n", Params{SplitType: "Line", ContentType: "application/json", AssembleWith: "Line", InputFilter: "$.f"}, `{"score":2}` + "\n", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reqs []string
			var out bytes.Buffer
			if err := Run(context.Background(), strings.NewReader(c.in), &out, c.p, sum(&reqs)); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("output %q, want %q", out.String(), c.want)
			}
			if len(reqs) != c.requests {
				t.Errorf("%d requests, want %d: %q", len(reqs), c.requests, reqs)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	bad := func(_ context.Context, payload []byte, _, _ string) ([]byte, error) { return []byte("1\n"), nil }
	cases := []struct {
		name string
		in   string
		p    Params
		pr   Predict
		want string
	}{
		{"bad split type", "1\n", Params{SplitType: "RecordIO"}, bad, "SplitType"},
		{"bad filter", "1\n", Params{SplitType: "Line", ContentType: "text/csv", InputFilter: "features"}, bad, "InputFilter"},
		{"index out of range", "1,2\n", Params{SplitType: "Line", ContentType: "text/csv", InputFilter: "$[5]"}, bad, "record 1"},
		{"response lines mismatch", "1\n2\n", Params{SplitType: "Line", BatchStrategy: "MultiRecord", ContentType: "text/csv", AssembleWith: "Line"}, bad, "1 lines for 2 records"},
		{"record over payload", strings.Repeat("1", 2<<20) + "\n", Params{SplitType: "Line", ContentType: "text/csv", MaxPayloadInMB: 1}, bad, "more than MaxPayloadInMB"},
		{"filter on opaque type", "x\n", Params{SplitType: "Line", ContentType: "application/x-image", InputFilter: "$[1:]"}, bad, "need ContentType"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Run(context.Background(), strings.NewReader(c.in), &bytes.Buffer{}, c.p, c.pr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestMultiRecordMatchesSingle (property): for random CSV inputs and payload limits, MultiRecord
// gives the output SingleRecord gives, in fewer or as many requests, none over the limit, and every
// record in exactly one request, in order.
func TestMultiRecordMatchesSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		var in strings.Builder
		n := rng.IntN(50)
		for i := 0; i < n; i++ {
			cols := 1 + rng.IntN(5)
			for j := 0; j < cols; j++ {
				if j > 0 {
					in.WriteByte(',')
				}
				in.WriteString(strconv.Itoa(rng.IntN(1000)))
			}
			in.WriteByte('\n')
		}
		run := func(strategy string) (string, []string) {
			var reqs []string
			var out bytes.Buffer
			p := Params{SplitType: "Line", BatchStrategy: strategy, ContentType: "text/csv", AssembleWith: "Line", MaxPayloadInMB: 1}
			if err := Run(context.Background(), strings.NewReader(in.String()), &out, p, sum(&reqs)); err != nil {
				t.Fatal(err)
			}
			return out.String(), reqs
		}
		single, sreqs := run("SingleRecord")
		multi, mreqs := run("MultiRecord")
		if single != multi || len(mreqs) > len(sreqs) {
			t.Fatalf("input %q: single %q (%d requests), multi %q (%d)", in.String(), single, len(sreqs), multi, len(mreqs))
		}
		if strings.Join(sreqs, "\n") != strings.Join(mreqs, "\n") {
			t.Fatalf("records regrouped out of order")
		}
	}
}

func TestParsePath(t *testing.T) {
	rec := []any{"a", "b", "c", "d"}
	cases := map[string]string{
		"$": "[a b c d]", "": "[a b c d]", "$[1:]": "[b c d]", "$[:2]": "[a b]", "$[0,2]": "[a c]", "$[-1]": "d",
		"$[0,-1]": "[a d]", "$[1:-1]": "[b c]", "$[*]": "[a b c d]",
	}
	for expr, want := range cases {
		p, err := ParsePath(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		got, err := p.Apply(rec)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%q: %v %v, want %s", expr, got, err, want)
		}
	}
	obj := map[string]any{"id": "1", "features": []any{"x", "y"}, "a b": "z"}
	for expr, want := range map[string]string{
		"$.features": "[x y]", "$.features[1]": "y", "$['id']": "1", "$['a b']": "z", "$['id','features']": "map[features:[x y] id:1]",
	} {
		p, err := ParsePath(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		got, err := p.Apply(obj)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%q: %v %v, want %s", expr, got, err, want)
		}
	}
	for _, bad := range []string{"features", "$[", "$[a]", "$.", "$[1:x]", "$x", "$['a]"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted it", bad)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"$", "$[1:]", "$[0,2]", "$.features", "$['id','SageMakerOutput']", "$[-1]", "$.a[1:3].b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := ParsePath(expr)
		if err != nil {
			return
		}
		for _, v := range []any{[]any{"a", "b"}, map[string]any{"features": []any{1.0}}, "s", nil} {
			_, _ = p.Apply(v)
		}
	})
}

// FuzzSplit: Line splitting keeps every non-blank line, in order, and nothing else.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("1,2\n3,4\r\n\n5\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Split(bytes.NewReader(data), "Line")
		if err != nil {
			t.Fatal(err)
		}
		var want [][]byte
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSuffix(l, "\r")
			if strings.TrimSpace(l) != "" {
				want = append(want, []byte(l))
			}
		}
		if len(recs) != len(want) {
			t.Fatalf("%d records, want %d", len(recs), len(want))
		}
		for i := range recs {
			if !bytes.Equal(recs[i], want[i]) || bytes.ContainsRune(recs[i], '\n') {
				t.Fatalf("record %d = %q, want %q", i, recs[i], want[i])
			}
		}
		// And the CSV record view never panics.
		for _, r := range recs {
			_, _ = filterRecord(r, mustPath(t, "$[1:]"), kindCSV)
		}
	})
}

func mustPath(t testing.TB, s string) *Path {
	p, err := ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
