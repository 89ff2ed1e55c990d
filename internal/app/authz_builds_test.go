package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

func cbOf(sm *sagemaker.Client) *codebuild.Client {
	o := sm.Options()
	return codebuild.New(codebuild.Options{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint, Retryer: connRetryer()})
}

const codebuildTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// quickSpec is a buildspec that ends at once.
const quickSpec = "version: 0.2\nphases:\n  build:\n    commands: [\"true\"]\n"

func projectInput(name, role string) *codebuild.CreateProjectInput {
	return &codebuild.CreateProjectInput{Name: aws.String(name),
		Source:    &cbtypes.ProjectSource{Type: cbtypes.SourceTypeNoSource, Buildspec: aws.String(quickSpec)},
		Artifacts: &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeNoArtifacts},
		Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"),
			ComputeType: cbtypes.ComputeTypeBuildGeneral1Small},
		ServiceRole: aws.String(role)}
}

// buildRole makes a service role that trusts CodeBuild.
func (e *authzEnv) buildPrereqs() map[string]string {
	ctx := context.Background()
	role := e.name("cbrole")
	r, err := e.admin.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(codebuildTrust)})
	e.must(err)
	return map[string]string{"Name": e.name("cb"), "Role": *r.Role.Arn}
}

// buildProject makes a project with one build (ended), and returns the variables naming them.
func (e *authzEnv) buildProject() map[string]string {
	ctx := context.Background()
	v := e.buildPrereqs()
	cb := cbOf(e.admin.sm)
	_, err := cb.CreateProject(ctx, projectInput(v["Name"], v["Role"]))
	e.must(err)
	st, err := cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String(v["Name"])})
	e.must(err)
	v["BuildId"] = *st.Build.Id
	return v
}

func codebuildCases() map[string]opCase {
	cb := func(e *authzEnv) *codebuild.Client { return cbOf(e.actor.sm) }
	n := func(v map[string]string) *string { return aws.String(v["Name"]) }
	return map[string]opCase{
		"CreateProject": {(*authzEnv).buildPrereqs, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).CreateProject(ctx, projectInput(v["Name"], v["Role"]))
			return err
		}},
		"UpdateProject": {(*authzEnv).buildProject, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).UpdateProject(ctx, &codebuild.UpdateProjectInput{Name: n(v), Description: aws.String("changed")})
			return err
		}},
		"BatchGetProjects": {(*authzEnv).buildProject, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{v["Name"]}})
			return err
		}},
		"ListProjects": {noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).ListProjects(ctx, &codebuild.ListProjectsInput{})
			return err
		}},
		"DeleteProject": {(*authzEnv).buildProject, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).DeleteProject(ctx, &codebuild.DeleteProjectInput{Name: n(v)})
			return err
		}},
		"StartBuild": {(*authzEnv).buildProject, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: n(v)})
			return err
		}},
		"BatchGetBuilds": {(*authzEnv).buildProject, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{v["BuildId"]}})
			return err
		}},
		"ListBuildsForProject": {(*authzEnv).buildProject, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).ListBuildsForProject(ctx, &codebuild.ListBuildsForProjectInput{ProjectName: n(v)})
			return err
		}},
		"StopBuild": {(*authzEnv).buildProject, func(ctx context.Context, e *authzEnv, v map[string]string) error {
			_, err := cb(e).StopBuild(ctx, &codebuild.StopBuildInput{Id: aws.String(v["BuildId"])})
			return err
		}},
	}
}

// TestBuildProjectsAuthorization: PassRole decides who may hand a role to CodeBuild (refused:
// nothing is made); another account sees none of this account's projects or builds; an
// explicit Deny wins over an Allow; bad input changes nothing.
func TestBuildProjectsAuthorization(t *testing.T) {
	e := startBuilds(t)
	ctx := context.Background()
	ds := clientsOf(e.s.cfg("data-science"))
	user := func(name, policy string) *codebuild.Client {
		_, err := ds.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		must(t, err)
		_, err = ds.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)})
		must(t, err)
		k, err := ds.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		must(t, err)
		return codebuild.NewFromConfig(e.s.cfgFor(credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")))
	}
	noPass := user("no-pass", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codebuild:*","Resource":"*"}]}`)
	_, err := noPass.CreateProject(ctx, projectInput("p1", e.role))
	if !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("CreateProject without iam:PassRole: %v", err)
	}
	if out, err := e.cb.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{"p1"}}); err != nil {
		t.Errorf("BatchGetProjects p1: %v", err)
	} else if len(out.Projects) != 0 {
		t.Error("a refused CreateProject made the project")
	}
	passOther := user("pass-other", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codebuild:*","Resource":"*"},
		{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/other","Condition":{"StringEquals":{"iam:PassedToService":"codebuild.amazonaws.com"}}}]}`)
	if _, err := passOther.CreateProject(ctx, projectInput("p1", e.role)); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("CreateProject passing a role not allowed: %v", err)
	}
	_, err = e.cb.CreateProject(ctx, projectInput("p1", e.role))
	must(t, err)
	st, err := e.cb.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("p1")})
	must(t, err)
	e.wait(t, *st.Build.Id)

	// Another account: no project, no build, no listing of ours.
	other := codebuild.NewFromConfig(e.s.cfg("staging"))
	if out, err := other.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{"p1"}}); err != nil || len(out.Projects) != 0 {
		t.Errorf("another account's BatchGetProjects = %+v, %v", out, err)
	}
	if out, err := other.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{*st.Build.Id, *st.Build.Arn}}); err != nil || len(out.Builds) != 0 {
		t.Errorf("another account's BatchGetBuilds = %+v, %v", out, err)
	}
	if _, err := other.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("p1")}); code(err) != "ResourceNotFoundException" {
		t.Errorf("another account's StartBuild: %v", err)
	}
	if out, err := other.ListProjects(ctx, &codebuild.ListProjectsInput{}); err != nil || len(out.Projects) != 0 {
		t.Errorf("another account's ListProjects = %v, %v", out.Projects, err)
	}

	// An explicit Deny wins over Allow *.
	denied := user("denied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":["codebuild:StartBuild","codebuild:BatchGetBuilds"],"Resource":"arn:aws:codebuild:*:*:project/p1"}]}`)
	if _, err := denied.StartBuild(ctx, &codebuild.StartBuildInput{ProjectName: aws.String("p1")}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("StartBuild under Deny: %v", err)
	}
	if _, err := denied.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{*st.Build.Id}}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("BatchGetBuilds under Deny: %v", err)
	}
	if ids, err := e.cb.ListBuildsForProject(ctx, &codebuild.ListBuildsForProjectInput{ProjectName: aws.String("p1")}); err != nil {
		t.Errorf("ListBuildsForProject p1: %v", err)
	} else if len(ids.Ids) != 1 {
		t.Errorf("builds after refusals: %v", ids.Ids)
	}

	// Bad input: the protocol's error, nothing changed.
	for name, in := range map[string]*codebuild.CreateProjectInput{
		"bad name":   projectInput("-x", e.role),
		"not a role": projectInput("p2", "arn:aws:iam::123456789012:user/u"),
		"bad buildspec": func() *codebuild.CreateProjectInput {
			p := projectInput("p2", e.role)
			p.Source.Buildspec = aws.String("version: 0.2\nphases: {build: {commandz: [x]}}")
			return p
		}(),
		"secret env var": func() *codebuild.CreateProjectInput {
			p := projectInput("p2", e.role)
			p.Environment.EnvironmentVariables = []cbtypes.EnvironmentVariable{{Name: aws.String("S"), Value: aws.String("/x"), Type: cbtypes.EnvironmentVariableTypeParameterStore}}
			return p
		}(),
		"s3 without key": func() *codebuild.CreateProjectInput {
			p := projectInput("p2", e.role)
			p.Source = &cbtypes.ProjectSource{Type: cbtypes.SourceTypeS3, Location: aws.String("bucket")}
			return p
		}(),
	} {
		if _, err := e.cb.CreateProject(ctx, in); code(err) != "InvalidInputException" {
			t.Errorf("%s: %v, want InvalidInputException", name, err)
		}
	}
	if _, err := e.cb.CreateProject(ctx, projectInput("p1", e.role)); code(err) != "ResourceAlreadyExistsException" {
		t.Errorf("a second p1: %v", err)
	}
	if out, err := e.cb.ListProjects(ctx, &codebuild.ListProjectsInput{}); err != nil {
		t.Errorf("ListProjects: %v", err)
	} else if len(out.Projects) != 1 {
		t.Errorf("projects after bad input: %v", out.Projects)
	}
}
