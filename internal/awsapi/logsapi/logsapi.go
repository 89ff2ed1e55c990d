// Package logsapi serves the CloudWatch Logs API subset (awsJson1_1, target prefix
// Logs_20140328): log groups, streams, PutLogEvents, GetLogEvents and FilterLogEvents. It
// translates wire shapes to package logs' calls and back; every rule, and every authorization
// decision, lives in package logs.
package logsapi

import (
	"context"
	"fmt"
	"strconv"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/logs"
)

// API holds what the handlers need.
type API struct {
	Logs   *logs.Service
	Tokens *awsapi.PageTokens
}

// Service is the CloudWatch Logs service: its model, the operations and its error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("logs", a.handlers(), errorCodes())
}

func (a *API) handlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"CreateLogGroup":     apicall.Handle(a.createGroup),
		"DeleteLogGroup":     apicall.Handle(a.deleteGroup),
		"DescribeLogGroups":  apicall.Handle(a.describeGroups),
		"CreateLogStream":    apicall.Handle(a.createStream),
		"DescribeLogStreams": apicall.Handle(a.describeStreams),
		"PutLogEvents":       apicall.Handle(a.putEvents),
		"GetLogEvents":       apicall.Handle(a.getEvents),
		"FilterLogEvents":    apicall.Handle(a.filterEvents),
	}
}

func call(req *awsapi.Request) logs.Call {
	return logs.Call{Caller: req.Caller, Context: apicall.Context(req)}
}

func badToken() error {
	return errs.E(errs.Invalid, "The specified nextToken is invalid.")
}

type createGroupIn struct {
	LogGroupName  string            `json:"logGroupName"`
	KmsKeyID      string            `json:"kmsKeyId"`
	Tags          map[string]string `json:"tags"`
	LogGroupClass string            `json:"logGroupClass"`
}

func (a *API) createGroup(ctx context.Context, req *awsapi.Request, in *createGroupIn) (any, error) {
	switch {
	case in.KmsKeyID != "":
		return nil, errs.E(errs.Invalid, "kmsKeyId is not supported: log events are stored in Slipway's store")
	case len(in.Tags) > 0:
		return nil, errs.E(errs.Invalid, "tags on log groups are not supported")
	case in.LogGroupClass != "" && in.LogGroupClass != "STANDARD":
		return nil, errs.E(errs.Invalid, "only the STANDARD log group class is supported")
	}
	_, err := a.Logs.CreateGroup(ctx, call(req), in.LogGroupName)
	return nil, err
}

type groupNameIn struct {
	LogGroupName string `json:"logGroupName"`
}

func (a *API) deleteGroup(ctx context.Context, req *awsapi.Request, in *groupNameIn) (any, error) {
	return nil, a.Logs.DeleteGroup(ctx, call(req), in.LogGroupName)
}

type describeGroupsIn struct {
	LogGroupNamePrefix  string   `json:"logGroupNamePrefix"`
	LogGroupNamePattern string   `json:"logGroupNamePattern"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	NextToken           string   `json:"nextToken"`
	Limit               int      `json:"limit"`
}

type groupOut struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
	LogGroupClass     string `json:"logGroupClass"`
}

func (a *API) describeGroups(ctx context.Context, req *awsapi.Request, in *describeGroupsIn) (any, error) {
	if len(in.LogGroupIdentifiers) > 0 {
		return nil, errs.E(errs.Invalid, "logGroupIdentifiers is not supported; use logGroupNamePrefix or logGroupNamePattern")
	}
	scope := "logs/DescribeLogGroups/" + req.Caller.Account + "/" + in.LogGroupNamePrefix + "/" + in.LogGroupNamePattern
	q := logs.GroupQuery{Prefix: in.LogGroupNamePrefix, Contains: in.LogGroupNamePattern}
	if in.NextToken != "" {
		if err := a.Tokens.Decode(scope, in.NextToken, &q.After); err != nil {
			return nil, badToken()
		}
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	q.Limit = limit + 1
	gs, err := a.Logs.DescribeGroups(ctx, call(req), q)
	if err != nil {
		return nil, err
	}
	var next string
	if len(gs) > limit {
		gs = gs[:limit]
		if next, err = a.Tokens.Encode(scope, gs[limit-1].Name); err != nil {
			return nil, err
		}
	}
	out := make([]groupOut, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupOut{
			LogGroupName: g.Name, CreationTime: g.CreatedAt.UnixMilli(), Arn: a.Logs.GroupStreamsARN(g.Account, g.Name),
			LogGroupArn: a.Logs.GroupARN(g.Account, g.Name), LogGroupClass: "STANDARD",
		})
	}
	return struct {
		LogGroups []groupOut `json:"logGroups"`
		NextToken string     `json:"nextToken,omitempty"`
	}{out, next}, nil
}

type streamIn struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
}

func (a *API) createStream(ctx context.Context, req *awsapi.Request, in *streamIn) (any, error) {
	return nil, a.Logs.CreateStream(ctx, call(req), in.LogGroupName, in.LogStreamName)
}

type describeStreamsIn struct {
	LogGroupName        string `json:"logGroupName"`
	LogGroupIdentifier  string `json:"logGroupIdentifier"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	NextToken           string `json:"nextToken"`
	Limit               int    `json:"limit"`
}

// streamCursor is where a DescribeLogStreams page ended.
type streamCursor struct {
	Name string `json:"n"`
	Last int64  `json:"l,omitempty"`
}

type streamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func nonZero(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func (a *API) describeStreams(ctx context.Context, req *awsapi.Request, in *describeStreamsIn) (any, error) {
	q := logs.StreamQuery{Prefix: in.LogStreamNamePrefix, ByLastEvent: in.OrderBy == "LastEventTime", Descending: in.Descending}
	scope := fmt.Sprintf("logs/DescribeLogStreams/%s/%s/%s/%s/%s/%v", req.Caller.Account, in.LogGroupName, in.LogGroupIdentifier, in.LogStreamNamePrefix, in.OrderBy, in.Descending)
	if in.NextToken != "" {
		var c streamCursor
		if err := a.Tokens.Decode(scope, in.NextToken, &c); err != nil {
			return nil, badToken()
		}
		q.HasCursor, q.AfterName, q.AfterLast = true, c.Name, c.Last
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	q.Limit = limit + 1
	ss, err := a.Logs.DescribeStreams(ctx, call(req), logs.StreamsInput{GroupName: in.LogGroupName, GroupIdentifier: in.LogGroupIdentifier, Query: q})
	if err != nil {
		return nil, err
	}
	var next string
	if len(ss) > limit {
		ss = ss[:limit]
		last := ss[limit-1]
		if next, err = a.Tokens.Encode(scope, streamCursor{Name: last.Name, Last: last.LastEvent}); err != nil {
			return nil, err
		}
	}
	out := make([]streamOut, 0, len(ss))
	for _, s := range ss {
		out = append(out, streamOut{
			LogStreamName: s.Name, CreationTime: s.CreatedAt.UnixMilli(), FirstEventTimestamp: nonZero(s.FirstEvent),
			LastEventTimestamp: nonZero(s.LastEvent), LastIngestionTime: nonZero(s.LastIngestion),
			UploadSequenceToken: sequenceToken(s.StoredBytes), Arn: a.Logs.StreamARN(s.Account, s.Group, s.Name),
		})
	}
	return struct {
		LogStreams []streamOut `json:"logStreams"`
		NextToken  string      `json:"nextToken,omitempty"`
	}{out, next}, nil
}

// sequenceToken is a token of the form CloudWatch Logs answered when PutLogEvents still checked
// them; clients that pass it back are not checked.
func sequenceToken(n int64) string { return fmt.Sprintf("49%054d", n) }

type putEventsIn struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
	LogEvents     []struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"logEvents"`
	SequenceToken string `json:"sequenceToken"` // ignored, as CloudWatch Logs ignores it
}

type rejectedOut struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
}

func (a *API) putEvents(ctx context.Context, req *awsapi.Request, in *putEventsIn) (any, error) {
	evs := make([]logs.InputEvent, len(in.LogEvents))
	for i, e := range in.LogEvents {
		evs[i] = logs.InputEvent{Timestamp: e.Timestamp, Message: e.Message}
	}
	rej, err := a.Logs.PutEvents(ctx, call(req), in.LogGroupName, in.LogStreamName, evs)
	if err != nil {
		return nil, err
	}
	out := struct {
		NextSequenceToken     string       `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejectedOut `json:"rejectedLogEventsInfo,omitempty"`
	}{NextSequenceToken: sequenceToken(req.Time.UnixNano())}
	if rej.TooOldEnd != nil || rej.TooNewStart != nil {
		out.RejectedLogEventsInfo = &rejectedOut{TooNewLogEventStartIndex: rej.TooNewStart, TooOldLogEventEndIndex: rej.TooOldEnd}
	}
	return out, nil
}

type getEventsIn struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
	NextToken          string `json:"nextToken"`
	Limit              int    `json:"limit"`
	StartFromHead      bool   `json:"startFromHead"`
	Unmask             bool   `json:"unmask"`
}

type eventOut struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func (a *API) getEvents(ctx context.Context, req *awsapi.Request, in *getEventsIn) (any, error) {
	out, err := a.Logs.GetEvents(ctx, call(req), logs.GetInput{
		GroupName: in.LogGroupName, GroupIdentifier: in.LogGroupIdentifier, Stream: in.LogStreamName,
		Start: in.StartTime, End: in.EndTime, Token: in.NextToken, Limit: in.Limit, FromHead: in.StartFromHead,
	})
	if err != nil {
		return nil, err
	}
	evs := make([]eventOut, 0, len(out.Events))
	for _, e := range out.Events {
		evs = append(evs, eventOut{e.Timestamp, e.Message, e.Ingested})
	}
	return struct {
		Events            []eventOut `json:"events"`
		NextForwardToken  string     `json:"nextForwardToken"`
		NextBackwardToken string     `json:"nextBackwardToken"`
	}{evs, out.NextForward, out.NextBack}, nil
}

type filterIn struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               int      `json:"limit"`
	Interleaved         bool     `json:"interleaved"` // ignored, as CloudWatch Logs ignores it
	Unmask              bool     `json:"unmask"`
}

type filteredOut struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

func (a *API) filterEvents(ctx context.Context, req *awsapi.Request, in *filterIn) (any, error) {
	scope := fmt.Sprintf("logs/FilterLogEvents/%s/%s/%s/%q/%s/%s/%v/%v", req.Caller.Account, in.LogGroupName, in.LogGroupIdentifier,
		in.LogStreamNames, in.LogStreamNamePrefix, in.FilterPattern, ptr(in.StartTime), ptr(in.EndTime))
	fi := logs.FilterInput{
		GroupName: in.LogGroupName, GroupIdentifier: in.LogGroupIdentifier, Streams: in.LogStreamNames, Prefix: in.LogStreamNamePrefix,
		Start: in.StartTime, End: in.EndTime, Pattern: in.FilterPattern, Limit: in.Limit,
	}
	if in.NextToken != "" {
		var k logs.ScanKey
		if err := a.Tokens.Decode(scope, in.NextToken, &k); err != nil {
			return nil, badToken()
		}
		fi.After = &k
	}
	out, err := a.Logs.FilterEvents(ctx, call(req), fi)
	if err != nil {
		return nil, err
	}
	evs := make([]filteredOut, 0, len(out.Events))
	for _, e := range out.Events {
		evs = append(evs, filteredOut{e.Stream, e.Timestamp, e.Message, e.Ingested, eventID(e)})
	}
	var next string
	if out.Next != nil {
		if next, err = a.Tokens.Encode(scope, out.Next); err != nil {
			return nil, err
		}
	}
	return struct {
		Events             []filteredOut `json:"events"`
		SearchedLogStreams []struct{}    `json:"searchedLogStreams"`
		NextToken          string        `json:"nextToken,omitempty"`
	}{evs, []struct{}{}, next}, nil
}

func ptr(v *int64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatInt(*v, 10)
}

// eventID names an event uniquely, in digits as CloudWatch Logs' ids are.
func eventID(e logs.StoredEvent) string {
	return fmt.Sprintf("%020d%018d%018d", e.Timestamp, e.StreamID, e.Seq)
}
