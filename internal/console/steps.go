package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/logs"
	"github.com/slipway-ml/slipway/internal/pipeline"
)

// The log groups of SageMaker's jobs, by the step metadata's job noun.
var jobLogGroups = map[string]string{
	"TrainingJob":   "/aws/sagemaker/TrainingJobs",
	"ProcessingJob": "/aws/sagemaker/ProcessingJobs",
	"TransformJob":  "/aws/sagemaker/TransformJobs",
}

// stepJob is the job a step ran (its current attempt's), from the step's metadata.
type stepJob struct {
	Kind, ARN, Name, LogGroup string
}

// jobOf reads a step's metadata ({"TrainingJob":{"Arn":…}}); ok is false for steps without a job.
func jobOf(meta json.RawMessage) (stepJob, bool) {
	var m map[string]struct {
		Arn string `json:"Arn"`
	}
	if len(meta) == 0 || json.Unmarshal(meta, &m) != nil {
		return stepJob{}, false
	}
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		group, ok := jobLogGroups[k]
		arn := m[k].Arn
		if !ok || arn == "" {
			continue
		}
		name := arn[strings.LastIndexByte(arn, '/')+1:]
		if name == "" {
			continue
		}
		return stepJob{Kind: k, ARN: arn, Name: name, LogGroup: group}, true
	}
	return stepJob{}, false
}

// LogQuery is what a step page's query asks of its logs.
type LogQuery struct {
	// Lines is how many of the newest log lines to show (default 200, 1 to 1000).
	Lines int
}

// ParseLogQuery reads a step page's query: lines=N.
func ParseLogQuery(v url.Values) (LogQuery, error) {
	q := LogQuery{Lines: 200}
	if s := v.Get("lines"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return q, errs.E(errs.Invalid, "lines must be a number from 1 to 1000").WithCode("ValidationException")
		}
		q.Lines = n
	}
	return q, nil
}

// logLine is one log event as the page shows it.
type logLine struct {
	Time    time.Time
	Stream  string
	Message string
}

// maxLogStreams bounds the streams (instances) of a job whose lines a step page reads.
const maxLogStreams = 8

// jobLogs reads the newest n lines of a job's log streams (JOB/algo-N) as the signed-in
// principal: logs:DescribeLogStreams on the group, logs:GetLogEvents on each stream. A group
// or stream that does not exist yet is no lines, not an error.
func (c *Console) jobLogs(r *http.Request, s *session, job stepJob, n int) ([]logLine, error) {
	var streams []logs.Stream
	err := c.call(r.Context(), r, s, "logs", "DescribeLogStreams", func(ctx context.Context, call identity.Call) error {
		var err error
		streams, err = c.cfg.Logs.DescribeStreams(ctx, logs.Call{Caller: call.Caller, Context: call.Context}, logs.StreamsInput{
			GroupName: job.LogGroup, Query: logs.StreamQuery{Prefix: job.Name + "/", Limit: maxLogStreams}})
		return err
	})
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []logLine
	for _, st := range streams {
		var page logs.GetOutput
		err := c.call(r.Context(), r, s, "logs", "GetLogEvents", func(ctx context.Context, call identity.Call) error {
			var err error
			page, err = c.cfg.Logs.GetEvents(ctx, logs.Call{Caller: call.Caller, Context: call.Context}, logs.GetInput{
				GroupName: job.LogGroup, Stream: st.Name, Limit: n})
			return err
		})
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		host := strings.TrimPrefix(st.Name, job.Name+"/")
		for _, e := range page.Events {
			out = append(out, logLine{Time: time.UnixMilli(e.Timestamp).UTC(), Stream: host, Message: e.Message})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

// logText is the lines as the page's <pre> shows them (and its poller replaces them).
func logText(lines []logLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Time.Format("15:04:05.000"))
		b.WriteByte(' ')
		b.WriteString(l.Stream)
		b.WriteByte(' ')
		b.WriteString(strings.TrimRight(l.Message, "\n"))
		b.WriteByte('\n')
	}
	return b.String()
}

type stepData struct {
	Execution  pipeline.Execution
	Step       stepView
	Job        *stepJob
	Logs       string
	LogProblem string // why the logs cannot be shown
	Lines      int
	Metadata   string // indented JSON
	Properties string
	Explain    *pipeline.CacheExplanation
}

// step reads an execution's step and its job's newest log lines.
func (c *Console) step(r *http.Request, s *session, q LogQuery) (stepData, error) {
	d := stepData{Lines: q.Lines}
	x, err := c.execution(r, s)
	if err != nil {
		return d, err
	}
	d.Execution = x.Execution
	name := r.PathValue("step")
	found := false
	for _, st := range x.Steps {
		if st.Name == name {
			d.Step, found = st, true
		}
	}
	if !found {
		return d, errs.E(errs.NotFound, "the execution %s has no step %s (yet)", x.Execution.ARN, name).WithCode("ResourceNotFound")
	}
	d.Metadata, d.Properties = indented(d.Step.Metadata), indented(d.Step.Properties)
	if job, ok := jobOf(d.Step.Metadata); ok && c.cfg.Logs != nil {
		d.Job = &job
		lines, err := c.jobLogs(r, s, job, q.Lines)
		if err != nil {
			d.LogProblem = c.problem(err)
		}
		d.Logs = logText(lines)
	}
	return d, nil
}

func indented(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func (c *Console) stepURL(r *http.Request) string {
	return "/console/pipelines/" + url.PathEscape(r.PathValue("name")) + "/executions/" + url.PathEscape(r.PathValue("id")) +
		"/steps/" + url.PathEscape(r.PathValue("step"))
}

// stepPage shows a step: its status, job, metadata and properties, and its job's log lines,
// which follow the job while the step runs.
func (c *Console) stepPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Step "+r.PathValue("step"), "pipelines")
	q, err := ParseLogQuery(r.URL.Query())
	var d stepData
	if err == nil {
		d, err = c.step(r, s, q)
	}
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "step", v)
		return
	}
	v.Data = d
	v.Poll = c.stepURL(r) + "/live?lines=" + strconv.Itoa(q.Lines)
	c.render(w, r, http.StatusOK, "step", v)
}

// stepLive is the step's status and newest log lines for the page's poller.
func (c *Console) stepLive(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := ParseLogQuery(r.URL.Query())
	var d stepData
	if err == nil {
		d, err = c.step(r, s, q)
	}
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": c.problem(err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"status": string(d.Step.Status), "failure": d.Step.FailureReason, "logs": d.Logs, "logproblem": d.LogProblem,
		"dur": funcs["dur"].(func(time.Duration) string)(d.Step.Duration), "attempt": strconv.Itoa(d.Step.Attempt),
	})
}

// explainPage explains a step's cache hit or miss (pipeline.Service.ExplainCache, authorized
// as sagemaker:DescribePipelineExecution): the argument paths that differ from the earlier
// execution it compares with.
func (c *Console) explainPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := base(s, "Cache of step "+r.PathValue("step"), "pipelines")
	var d stepData
	var ex pipeline.CacheExplanation
	err := c.call(r.Context(), r, s, "sagemaker", "SlipwayExplainPipelineStepCache", func(ctx context.Context, call identity.Call) error {
		var err error
		ex, err = c.cfg.Pipelines.ExplainCache(ctx, call, c.cfg.Pipelines.ExecutionARN(call.Caller.Account, r.PathValue("name"), r.PathValue("id")), r.PathValue("step"))
		return err
	})
	if err != nil {
		v.Error = c.problem(err)
		c.render(w, r, statusOf(err), "explain", v)
		return
	}
	d.Explain = &ex
	d.Step.Name = r.PathValue("step")
	d.Execution.PipelineName, d.Execution.ID = r.PathValue("name"), r.PathValue("id")
	v.Data = d
	c.render(w, r, http.StatusOK, "explain", v)
}
