// Package codebuildapi serves CodeBuild's build-project subset (awsJson1_1, target prefix
// CodeBuild_20161006): projects, builds, their phases and logs. It translates wire shapes to
// package builds' calls and back; every rule of the service, and every authorization
// decision, lives in package builds.
package codebuildapi

import (
	"context"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/awsapi"
	"github.com/slipway-ml/slipway/internal/awsapi/apicall"
	"github.com/slipway-ml/slipway/internal/builds"
	"github.com/slipway-ml/slipway/internal/errs"
)

// API holds what the handlers need.
type API struct {
	Builds *builds.Service
	Tokens *awsapi.PageTokens
	// Region names the region in the logs' deep links.
	Region string
}

// Service is the CodeBuild service: its model, the operations and its error codes.
func (a *API) Service() (*awsapi.Service, error) {
	return awsapi.NewService("codebuild", a.handlers(), errorCodes())
}

func errorCodes() awsapi.ErrorCodes {
	return awsapi.ErrorCodes{ByKind: map[errs.Kind]awsapi.KindCodes{
		errs.Invalid:       {Default: "InvalidInputException"},
		errs.NotFound:      {Default: "ResourceNotFoundException"},
		errs.Conflict:      {Prefer: []string{"ResourceAlreadyExistsException"}, Default: "InvalidInputException"},
		errs.LimitExceeded: {Default: "AccountLimitExceededException"},
		errs.AccessDenied:  {Default: "AccessDeniedException"},
		errs.Throttled:     {Default: "ThrottlingException"},
		errs.Unavailable:   {Default: "ServiceUnavailableException"},
	}}
}

func (a *API) handlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"CreateProject":        apicall.Handle(a.createProject),
		"UpdateProject":        apicall.Handle(a.updateProject),
		"BatchGetProjects":     apicall.Handle(a.batchGetProjects),
		"ListProjects":         apicall.Handle(a.listProjects),
		"DeleteProject":        apicall.Handle(a.deleteProject),
		"StartBuild":           apicall.Handle(a.startBuild),
		"BatchGetBuilds":       apicall.Handle(a.batchGetBuilds),
		"ListBuildsForProject": apicall.Handle(a.listBuildsForProject),
		"StopBuild":            apicall.Handle(a.stopBuild),
	}
}

func unsupported(what string) error {
	return errs.E(errs.Invalid, "%s is not supported by this server", what).WithCode("InvalidInputException")
}

// ---- wire shapes

type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

type source struct {
	Type      string `json:"type"`
	Location  string `json:"location,omitempty"`
	Buildspec string `json:"buildspec,omitempty"`
}

type artifacts struct {
	Type          string `json:"type"`
	Location      string `json:"location,omitempty"`
	Path          string `json:"path,omitempty"`
	Name          string `json:"name,omitempty"`
	NamespaceType string `json:"namespaceType,omitempty"`
	Packaging     string `json:"packaging,omitempty"`
}

type environment struct {
	Type                 string   `json:"type"`
	Image                string   `json:"image"`
	ComputeType          string   `json:"computeType"`
	EnvironmentVariables []envVar `json:"environmentVariables"`
	PrivilegedMode       bool     `json:"privilegedMode,omitempty"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type projectIn struct {
	Name              string       `json:"name"`
	Description       *string      `json:"description"`
	Source            *source      `json:"source"`
	Artifacts         *artifacts   `json:"artifacts"`
	Environment       *environment `json:"environment"`
	ServiceRole       *string      `json:"serviceRole"`
	TimeoutInMinutes  *int         `json:"timeoutInMinutes"`
	Tags              []tag        `json:"tags"`
	SecondarySources  []any        `json:"secondarySources"`
	SecondaryArtifact []any        `json:"secondaryArtifacts"`
	VpcConfig         any          `json:"vpcConfig"`
	FileSystems       []any        `json:"fileSystemLocations"`
	BuildBatchConfig  any          `json:"buildBatchConfig"`
}

func (in *projectIn) refuse() error {
	switch {
	case len(in.SecondarySources) > 0:
		return unsupported("secondarySources")
	case len(in.SecondaryArtifact) > 0:
		return unsupported("secondaryArtifacts on a project (declare secondary-artifacts in the buildspec; a pipeline's outputs receive them)")
	case in.VpcConfig != nil:
		return unsupported("vpcConfig")
	case len(in.FileSystems) > 0:
		return unsupported("fileSystemLocations")
	case in.BuildBatchConfig != nil:
		return unsupported("buildBatchConfig (batch builds)")
	}
	return nil
}

func envIn(vs []envVar) []builds.EnvVar {
	var out []builds.EnvVar
	for _, v := range vs {
		out = append(out, builds.EnvVar{Name: v.Name, Value: v.Value, Type: v.Type})
	}
	return out
}

func envOut(vs []builds.EnvVar) []envVar {
	out := []envVar{}
	for _, v := range vs {
		out = append(out, envVar{v.Name, v.Value, v.Type})
	}
	return out
}

func tagsIn(ts []tag) (map[string]string, error) {
	if ts == nil {
		return nil, nil
	}
	m := map[string]string{}
	for _, t := range ts {
		if _, dup := m[t.Key]; dup {
			return nil, errs.E(errs.Invalid, "tag key %q appears more than once", t.Key).WithCode("InvalidInputException")
		}
		m[t.Key] = t.Value
	}
	return m, nil
}

type projectOut struct {
	Name              string      `json:"name"`
	Arn               string      `json:"arn"`
	Description       string      `json:"description,omitempty"`
	Source            source      `json:"source"`
	Artifacts         artifacts   `json:"artifacts"`
	Environment       environment `json:"environment"`
	ServiceRole       string      `json:"serviceRole"`
	TimeoutInMinutes  int         `json:"timeoutInMinutes"`
	Tags              []tag       `json:"tags"`
	Created           time.Time   `json:"created"`
	LastModified      time.Time   `json:"lastModified"`
	ProjectVisibility string      `json:"projectVisibility"`
}

func fromProject(p builds.Project) projectOut {
	o := projectOut{Name: p.Name, Arn: p.ARN, Description: p.Description,
		Source:    source(p.Source),
		Artifacts: artifacts(p.Artifacts),
		Environment: environment{Type: p.Environment.Type, Image: p.Environment.Image, ComputeType: p.Environment.ComputeType,
			EnvironmentVariables: envOut(p.Environment.Variables)},
		ServiceRole: p.ServiceRole, TimeoutInMinutes: p.TimeoutInMinutes, Tags: []tag{}, Created: p.CreatedAt, LastModified: p.UpdatedAt,
		ProjectVisibility: "PRIVATE"}
	for k, v := range p.Tags {
		o.Tags = append(o.Tags, tag{k, v})
	}
	return o
}

func toEnvironment(e *environment) *builds.Environment {
	if e == nil {
		return nil
	}
	return &builds.Environment{Type: e.Type, Image: e.Image, ComputeType: e.ComputeType, Variables: envIn(e.EnvironmentVariables)}
}

func (a *API) createProject(ctx context.Context, req *awsapi.Request, in *projectIn) (any, error) {
	if err := in.refuse(); err != nil {
		return nil, err
	}
	if in.Source == nil || in.Artifacts == nil || in.Environment == nil || in.ServiceRole == nil {
		return nil, errs.E(errs.Invalid, "source, artifacts, environment and serviceRole are required").WithCode("InvalidInputException")
	}
	tags, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	p := builds.Project{Name: in.Name, Source: builds.Source(*in.Source), Artifacts: builds.ArtifactsDecl(*in.Artifacts),
		Environment: *toEnvironment(in.Environment), ServiceRole: *in.ServiceRole, Tags: tags}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.TimeoutInMinutes != nil {
		p.TimeoutInMinutes = *in.TimeoutInMinutes
	}
	out, err := a.Builds.CreateProject(ctx, apicall.Call(req), p)
	if err != nil {
		return nil, err
	}
	return struct {
		Project projectOut `json:"project"`
	}{fromProject(out)}, nil
}

func (a *API) updateProject(ctx context.Context, req *awsapi.Request, in *projectIn) (any, error) {
	if err := in.refuse(); err != nil {
		return nil, err
	}
	tags, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	u := builds.ProjectUpdate{Name: in.Name, Description: in.Description, Environment: toEnvironment(in.Environment),
		ServiceRole: in.ServiceRole, TimeoutInMinutes: in.TimeoutInMinutes, Tags: tags}
	if in.Source != nil {
		s := builds.Source(*in.Source)
		u.Source = &s
	}
	if in.Artifacts != nil {
		x := builds.ArtifactsDecl(*in.Artifacts)
		u.Artifacts = &x
	}
	out, err := a.Builds.UpdateProject(ctx, apicall.Call(req), u)
	if err != nil {
		return nil, err
	}
	return struct {
		Project projectOut `json:"project"`
	}{fromProject(out)}, nil
}

type namesIn struct {
	Names []string `json:"names"`
}

func (a *API) batchGetProjects(ctx context.Context, req *awsapi.Request, in *namesIn) (any, error) {
	found, missing, err := a.Builds.BatchGetProjects(ctx, apicall.Call(req), in.Names)
	if err != nil {
		return nil, err
	}
	out := struct {
		Projects         []projectOut `json:"projects"`
		ProjectsNotFound []string     `json:"projectsNotFound"`
	}{Projects: []projectOut{}, ProjectsNotFound: missing}
	if out.ProjectsNotFound == nil {
		out.ProjectsNotFound = []string{}
	}
	for _, p := range found {
		out.Projects = append(out.Projects, fromProject(p))
	}
	return out, nil
}

type listIn struct {
	ProjectName string `json:"projectName"`
	SortBy      string `json:"sortBy"`
	SortOrder   string `json:"sortOrder"`
	NextToken   string `json:"nextToken"`
}

// page cuts a list at the token's offset (100 a page, as CodeBuild's lists); the token is
// sealed to its scope.
func (a *API) page(scope string, all []string, token string) ([]string, string, error) {
	off := 0
	if token != "" {
		if err := a.Tokens.Decode(scope, token, &off); err != nil || off < 0 || off > len(all) {
			return nil, "", errs.E(errs.Invalid, "Invalid next token").WithCode("InvalidInputException")
		}
	}
	end := min(off+100, len(all))
	next := ""
	if end < len(all) {
		t, err := a.Tokens.Encode(scope, end)
		if err != nil {
			return nil, "", err
		}
		next = t
	}
	return all[off:end], next, nil
}

func (a *API) listProjects(ctx context.Context, req *awsapi.Request, in *listIn) (any, error) {
	if in.SortBy != "" && in.SortBy != "NAME" {
		return nil, unsupported("sortBy " + in.SortBy + " (projects are listed by NAME)")
	}
	all, err := a.Builds.ListProjects(ctx, apicall.Call(req))
	if err != nil {
		return nil, err
	}
	if in.SortOrder == "DESCENDING" {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	names, next, err := a.page("codebuild/ListProjects/"+req.Caller.Account+"/"+in.SortOrder, all, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Projects  []string `json:"projects"`
		NextToken string   `json:"nextToken,omitempty"`
	}{names, next}, nil
}

type nameIn struct {
	Name string `json:"name"`
}

func (a *API) deleteProject(ctx context.Context, req *awsapi.Request, in *nameIn) (any, error) {
	return struct{}{}, a.Builds.DeleteProject(ctx, apicall.Call(req), in.Name)
}

type startIn struct {
	ProjectName                  string   `json:"projectName"`
	EnvironmentVariablesOverride []envVar `json:"environmentVariablesOverride"`
	BuildspecOverride            string   `json:"buildspecOverride"`
	TimeoutInMinutesOverride     int      `json:"timeoutInMinutesOverride"`
	IdempotencyToken             string   `json:"idempotencyToken"`
	SourceVersion                string   `json:"sourceVersion"`
	SourceTypeOverride           string   `json:"sourceTypeOverride"`
	SourceLocationOverride       string   `json:"sourceLocationOverride"`
	ServiceRoleOverride          string   `json:"serviceRoleOverride"`
	ArtifactsOverride            any      `json:"artifactsOverride"`
	SecondarySourcesOverride     []any    `json:"secondarySourcesOverride"`
	DebugSessionEnabled          bool     `json:"debugSessionEnabled"`
}

func (a *API) startBuild(ctx context.Context, req *awsapi.Request, in *startIn) (any, error) {
	switch {
	case in.SourceTypeOverride != "" || in.SourceLocationOverride != "" || in.SourceVersion != "":
		return nil, unsupported("sourceTypeOverride, sourceLocationOverride and sourceVersion (update the project instead)")
	case in.ServiceRoleOverride != "":
		return nil, unsupported("serviceRoleOverride")
	case in.ArtifactsOverride != nil || len(in.SecondarySourcesOverride) > 0:
		return nil, unsupported("artifactsOverride and secondarySourcesOverride")
	case in.DebugSessionEnabled:
		return nil, unsupported("debug sessions")
	}
	b, err := a.Builds.StartBuild(ctx, apicall.Call(req), builds.StartInput{ProjectName: in.ProjectName, EnvOverride: envIn(in.EnvironmentVariablesOverride),
		BuildspecOverride: in.BuildspecOverride, TimeoutOverride: in.TimeoutInMinutesOverride, IdempotencyToken: in.IdempotencyToken})
	if err != nil {
		return nil, err
	}
	return struct {
		Build buildOut `json:"build"`
	}{a.fromBuild(b)}, nil
}

type phaseContext struct {
	StatusCode string `json:"statusCode"`
	Message    string `json:"message"`
}

type phaseOut struct {
	PhaseType         string         `json:"phaseType"`
	PhaseStatus       string         `json:"phaseStatus,omitempty"`
	StartTime         time.Time      `json:"startTime"`
	EndTime           *time.Time     `json:"endTime,omitempty"`
	DurationInSeconds *int64         `json:"durationInSeconds,omitempty"`
	Contexts          []phaseContext `json:"contexts,omitempty"`
}

type logsOut struct {
	GroupName      string `json:"groupName"`
	StreamName     string `json:"streamName"`
	DeepLink       string `json:"deepLink"`
	CloudWatchLogs struct {
		Status     string `json:"status"`
		GroupName  string `json:"groupName"`
		StreamName string `json:"streamName"`
	} `json:"cloudWatchLogs"`
}

type buildOut struct {
	ID           string     `json:"id"`
	Arn          string     `json:"arn"`
	BuildNumber  int64      `json:"buildNumber"`
	StartTime    time.Time  `json:"startTime"`
	EndTime      *time.Time `json:"endTime,omitempty"`
	CurrentPhase string     `json:"currentPhase"`
	BuildStatus  string     `json:"buildStatus"`
	ProjectName  string     `json:"projectName"`
	Phases       []phaseOut `json:"phases"`
	Source       source     `json:"source"`
	Artifacts    *struct {
		Location string `json:"location"`
	} `json:"artifacts,omitempty"`
	Environment                  environment `json:"environment"`
	ServiceRole                  string      `json:"serviceRole"`
	Logs                         logsOut     `json:"logs"`
	TimeoutInMinutes             int         `json:"timeoutInMinutes"`
	BuildComplete                bool        `json:"buildComplete"`
	Initiator                    string      `json:"initiator"`
	ExportedEnvironmentVariables []envVar    `json:"exportedEnvironmentVariables,omitempty"`
}

func (a *API) fromBuild(b builds.Build) buildOut {
	o := buildOut{ID: b.ID, Arn: b.ARN, BuildNumber: b.Number, StartTime: b.StartTime, CurrentPhase: b.CurrentPhase, BuildStatus: string(b.Status),
		ProjectName: b.ProjectName, Phases: []phaseOut{}, Source: source(b.Source),
		Environment: environment{Type: b.Project.Environment.Type, Image: b.Project.Environment.Image, ComputeType: b.Project.Environment.ComputeType,
			EnvironmentVariables: envOut(b.Env)},
		ServiceRole: b.Project.ServiceRole, TimeoutInMinutes: b.TimeoutInMinutes, BuildComplete: b.Status.Terminal(), Initiator: b.Initiator}
	if !b.EndTime.IsZero() {
		t := b.EndTime
		o.EndTime = &t
	}
	if b.ArtifactLocation != "" {
		o.Artifacts = &struct {
			Location string `json:"location"`
		}{b.ArtifactLocation}
	}
	for _, p := range b.Phases {
		po := phaseOut{PhaseType: p.Type, PhaseStatus: string(p.Status), StartTime: p.StartTime}
		if !p.EndTime.IsZero() {
			t := p.EndTime
			d := int64(p.EndTime.Sub(p.StartTime).Round(time.Second) / time.Second)
			po.EndTime, po.DurationInSeconds = &t, &d
		}
		for _, c := range p.Contexts {
			po.Contexts = append(po.Contexts, phaseContext{c.StatusCode, c.Message})
		}
		o.Phases = append(o.Phases, po)
	}
	o.Logs.GroupName, o.Logs.StreamName = b.LogGroup, b.LogStream
	o.Logs.DeepLink = "https://console.aws.amazon.com/cloudwatch/home?region=" + b.Region + "#logEvent:group=" + b.LogGroup + ";stream=" + b.LogStream
	o.Logs.CloudWatchLogs.Status, o.Logs.CloudWatchLogs.GroupName, o.Logs.CloudWatchLogs.StreamName = "ENABLED", b.LogGroup, b.LogStream
	for _, v := range b.Exported {
		o.ExportedEnvironmentVariables = append(o.ExportedEnvironmentVariables, envVar{Name: v.Name, Value: v.Value})
	}
	return o
}

type idsIn struct {
	IDs []string `json:"ids"`
	ID  string   `json:"id"`
}

func (a *API) batchGetBuilds(ctx context.Context, req *awsapi.Request, in *idsIn) (any, error) {
	found, missing, err := a.Builds.BatchGetBuilds(ctx, apicall.Call(req), in.IDs)
	if err != nil {
		return nil, err
	}
	out := struct {
		Builds         []buildOut `json:"builds"`
		BuildsNotFound []string   `json:"buildsNotFound"`
	}{Builds: []buildOut{}, BuildsNotFound: missing}
	if out.BuildsNotFound == nil {
		out.BuildsNotFound = []string{}
	}
	for _, b := range found {
		out.Builds = append(out.Builds, a.fromBuild(b))
	}
	return out, nil
}

func (a *API) listBuildsForProject(ctx context.Context, req *awsapi.Request, in *listIn) (any, error) {
	ids, err := a.Builds.ListBuildsForProject(ctx, apicall.Call(req), in.ProjectName, in.SortOrder == "ASCENDING")
	if err != nil {
		return nil, err
	}
	page, next, err := a.page("codebuild/ListBuildsForProject/"+req.Caller.Account+"/"+in.ProjectName+"/"+in.SortOrder, ids, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		IDs       []string `json:"ids"`
		NextToken string   `json:"nextToken,omitempty"`
	}{page, next}, nil
}

func (a *API) stopBuild(ctx context.Context, req *awsapi.Request, in *idsIn) (any, error) {
	b, err := a.Builds.StopBuild(ctx, apicall.Call(req), strings.TrimSpace(in.ID))
	if err != nil {
		return nil, err
	}
	return struct {
		Build buildOut `json:"build"`
	}{a.fromBuild(b)}, nil
}
