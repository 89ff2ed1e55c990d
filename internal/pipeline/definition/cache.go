package definition

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
)

// cacheFields are the Arguments members that make up a job step's cache key, as SageMaker
// documents them ("Default cache key attributes by pipeline step type"): names, roles, tags and
// experiment settings do not change what a job computes and are left out.
var cacheFields = map[StepType][]string{
	Processing: {"AppSpecification", "Environment", "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources", "StoppingCondition"},
	Training: {"AlgorithmSpecification", "CheckpointConfig", "DebugHookConfig", "DebugRuleConfigurations", "Environment",
		"HyperParameters", "InputDataConfig", "OutputDataConfig", "ResourceConfig", "RetryStrategy", "StoppingCondition"},
	Transform: {"DataCaptureConfig", "DataProcessing", "Environment", "ModelName", "TransformInput", "TransformOutput", "TransformResources",
		"BatchStrategy", "MaxConcurrentTransforms", "MaxPayloadInMB", "ModelClientConfig"},
}

// CacheArguments resolves a step's Arguments for its cache key: execution variables stay as
// placeholders ("{Execution.PipelineExecutionId}") instead of their per-execution values, and
// for job steps only the members that decide the job's result are kept. Lambda and Callback
// steps also key on their FunctionArn or SqsQueueUrl and OutputParameters.
func CacheArguments(s *Step, ctx Context) (any, error) {
	masked := ctx
	masked.Execution = make(map[string]any, len(ExecutionVariables))
	for _, n := range ExecutionVariables {
		masked.Execution[n] = "{Execution." + n + "}"
	}
	resolved, err := Resolve(s.Arguments, masked)
	if err != nil {
		return nil, err
	}
	fields, ok := cacheFields[s.Type]
	if m, isMap := resolved.(map[string]any); ok && isMap {
		kept := map[string]any{}
		for _, f := range fields {
			if v, present := m[f]; present {
				kept[f] = v
			}
		}
		resolved = kept
	}
	if s.Type == Lambda || s.Type == Callback {
		outs := make([]any, len(s.Outputs))
		for i, o := range s.Outputs {
			outs[i] = map[string]any{"OutputName": o.Name, "OutputType": string(o.Type)}
		}
		resolved = map[string]any{"Arguments": resolved, "FunctionArn": s.FunctionArn, "SqsQueueUrl": s.SqsQueueURL, "OutputParameters": outs}
	}
	return resolved, nil
}

// CacheKey returns the hex SHA-256 of a step type and its cache arguments (see CacheArguments)
// in canonical JSON (object members sorted, numbers as written). Two steps with equal keys
// compute the same thing.
func CacheKey(t StepType, cacheArgs any) (string, error) {
	b, err := json.Marshal(map[string]any{"Type": string(t), "Arguments": normalize(cacheArgs)})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// normalize makes equal numbers encode equally whatever their Go type (json.Number "5",
// int64 5 and float64 5 all become json.Number "5").
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}
		return out
	}
	if isNumber(v) {
		f, _ := toFloat(v)
		if b, err := json.Marshal(f); err == nil {
			return json.Number(b)
		}
	}
	return v
}

// DiffPaths lists the JSON paths ($.HyperParameters.eta, $.ProcessingInputs[0].S3Input.S3Uri)
// where two resolved argument trees differ: members present in one only, values that differ,
// arrays of different length (the path of the array). Numbers compare by value. Sorted.
func DiffPaths(a, b any) []string {
	ds := Differences(a, b)
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Path
	}
	return out
}

// Difference is one path where two argument trees differ, with the value on each side in
// JSON (empty when the side lacks the member).
type Difference struct {
	Path          string
	Before, After json.RawMessage
}

// Differences is DiffPaths with the values: a is before, b after. Sorted by path.
func Differences(a, b any) []Difference {
	var out []Difference
	diff(normalize(a), normalize(b), root, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func diff(a, b any, p jpath, out *[]Difference) {
	add := func(p jpath, a, b any, aok, bok bool) {
		d := Difference{Path: string(p)}
		if aok {
			d.Before, _ = json.Marshal(a)
		}
		if bok {
			d.After, _ = json.Marshal(b)
		}
		*out = append(*out, d)
	}
	switch at := a.(type) {
	case map[string]any:
		bt, ok := b.(map[string]any)
		if !ok {
			add(p, a, b, true, true)
			return
		}
		for k, av := range at {
			bv, ok := bt[k]
			if !ok {
				add(p.key(k), av, nil, true, false)
				continue
			}
			diff(av, bv, p.key(k), out)
		}
		for k, bv := range bt {
			if _, ok := at[k]; !ok {
				add(p.key(k), nil, bv, false, true)
			}
		}
	case []any:
		bt, ok := b.([]any)
		if !ok || len(at) != len(bt) {
			add(p, a, b, true, true)
			return
		}
		for i := range at {
			diff(at[i], bt[i], p.idx(i), out)
		}
	default:
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		if string(aj) != string(bj) {
			add(p, a, b, true, true)
		}
	}
}
