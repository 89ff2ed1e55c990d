package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/slipwayclient"
)

// namedTemplate is the team's template under another name.
func namedTemplate(name string) []slipwayclient.TemplateFile {
	files := teamFiles()
	files[0].Content = []byte(strings.Replace(teamManifest, `"team-bucket"`, `"`+name+`"`, 1))
	return files
}

// teamTemplateAdded adds the team's template to the admin's account (once).
func (e *authzEnv) teamTemplateAdded() {
	_, _, err := slipwayclient.New(smCfg(e.admin.sm)).AddProjectTemplate(context.Background(), teamFiles())
	if err != nil && code2(err) != "ResourceInUse" {
		e.must(err)
	}
}

// project makes a project (CreateCompleted) as the admin.
func (e *authzEnv) project() map[string]string {
	e.teamTemplateAdded()
	name := e.name("proj")
	_, err := e.admin.sm.CreateProject(context.Background(), &sagemaker.CreateProjectInput{ProjectName: aws.String(name),
		ServiceCatalogProvisioningDetails: provisioning("team-bucket", "Team", "ml")})
	e.must(err)
	waitProject(e.t, e.admin.sm, name, smtypes.ProjectStatusCreateCompleted)
	return map[string]string{"ProjectName": name}
}

func (e *authzEnv) projectTemplate() map[string]string {
	name := e.name("tpl")
	_, _, err := slipwayclient.New(smCfg(e.admin.sm)).AddProjectTemplate(context.Background(), namedTemplate(name))
	e.must(err)
	return map[string]string{"TemplateName": name}
}

func withProjectCases(m map[string]opCase) map[string]opCase {
	pn := func(v map[string]string) *string { return aws.String(v["ProjectName"]) }
	sc := func(e *authzEnv) *slipwayclient.Client { return slipwayclient.New(smCfg(e.actor.sm)) }
	m["CreateProject"] = opCase{func(e *authzEnv) map[string]string {
		e.teamTemplateAdded()
		return map[string]string{"ProjectName": e.name("new")}
	}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := e.actor.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: pn(v), ServiceCatalogProvisioningDetails: provisioning("team-bucket", "Team", "ml")})
		return err
	}}
	m["DescribeProject"] = opCase{(*authzEnv).project, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := e.actor.sm.DescribeProject(ctx, &sagemaker.DescribeProjectInput{ProjectName: pn(v)})
		return err
	}}
	m["ListProjects"] = opCase{noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := e.actor.sm.ListProjects(ctx, &sagemaker.ListProjectsInput{})
		return err
	}}
	m["UpdateProject"] = opCase{(*authzEnv).project, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := e.actor.sm.UpdateProject(ctx, &sagemaker.UpdateProjectInput{ProjectName: pn(v), ProjectDescription: aws.String("new words")})
		return err
	}}
	m["DeleteProject"] = opCase{(*authzEnv).project, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := e.actor.sm.DeleteProject(ctx, &sagemaker.DeleteProjectInput{ProjectName: pn(v)})
		return err
	}}
	m["SlipwayCreateProjectTemplate"] = opCase{func(e *authzEnv) map[string]string {
		return map[string]string{"TemplateName": e.name("tpl")}
	}, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, _, err := sc(e).AddProjectTemplate(ctx, namedTemplate(v["TemplateName"]))
		return err
	}}
	m["SlipwayDescribeProjectTemplate"] = opCase{(*authzEnv).projectTemplate, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := sc(e).DescribeProjectTemplate(ctx, v["TemplateName"])
		return err
	}}
	m["SlipwayListProjectTemplates"] = opCase{noVars, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		_, err := sc(e).ListProjectTemplates(ctx)
		return err
	}}
	m["SlipwayDeleteProjectTemplate"] = opCase{(*authzEnv).projectTemplate, func(ctx context.Context, e *authzEnv, v map[string]string) error {
		return sc(e).DeleteProjectTemplate(ctx, v["TemplateName"])
	}}
	return m
}

// TestProjectRefusals: an unknown template, a missing, unknown or malformed parameter and a
// bad name are ValidationExceptions that create nothing; another account sees neither the
// account's projects nor its own templates; an explicit Deny wins over an Allow of everything;
// a caller allowed CreateProject but denied cloudformation:CreateStack gets a CreateFailed
// project and no stack.
func TestProjectRefusals(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	e := &authzEnv{t: t, admin: clientsOf(s.cfg("data-science")), account: s.account["data-science"], org: map[string]string{}}
	_, err := e.admin.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("actor")})
	e.must(err)
	key, err := e.admin.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("actor")})
	e.must(err)
	e.actor = clientsOf(s.cfgFor(credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")))
	v := e.project()
	name := v["ProjectName"]
	cf := cfnOf(e.admin.sm)
	liveStacks := func() int {
		t.Helper()
		out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{})
		e.must(err)
		return len(out.Stacks)
	}
	projects := func(c clients) int {
		t.Helper()
		out, err := c.sm.ListProjects(ctx, &sagemaker.ListProjectsInput{})
		e.must(err)
		return len(out.ProjectSummaryList)
	}
	stacksBefore, projectsBefore := liveStacks(), projects(e.admin)

	e.policy(allowEverything)
	for _, tc := range []struct {
		name, project string
		details       *smtypes.ServiceCatalogProvisioningDetails
	}{
		{"unknown template", "p1", provisioning("no-such-template", "Team", "ml")},
		{"no template", "p2", nil},
		{"missing parameter", "p3", provisioning("team-bucket")},
		{"malformed parameter", "p4", provisioning("team-bucket", "Team", "ML!")},
		{"unknown parameter", "p5", provisioning("team-bucket", "Team", "ml", "Colour", "red")},
		{"parameter set by SageMaker", "p6", provisioning("team-bucket", "Team", "ml", "SageMakerProjectName", "x")},
		{"bad name", "bad_name", provisioning("team-bucket", "Team", "ml")},
		{"existing name", name, provisioning("team-bucket", "Team", "ml")},
	} {
		_, err := e.actor.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: aws.String(tc.project), ServiceCatalogProvisioningDetails: tc.details})
		if code(err) != "ValidationException" {
			t.Errorf("%s: %v, want ValidationException", tc.name, err)
		}
	}
	if got := projects(e.admin); got != projectsBefore {
		t.Errorf("refused creations left %d projects, want %d", got, projectsBefore)
	}

	// Another account: the project and the team's template are not there.
	staging := clientsOf(s.cfg("staging"))
	if _, err := staging.sm.DescribeProject(ctx, &sagemaker.DescribeProjectInput{ProjectName: aws.String(name)}); code(err) != "ValidationException" {
		t.Errorf("another account's DescribeProject: %v, want ValidationException", err)
	}
	if _, err := staging.sm.DeleteProject(ctx, &sagemaker.DeleteProjectInput{ProjectName: aws.String(name)}); code(err) != "ValidationException" {
		t.Errorf("another account's DeleteProject: %v, want ValidationException", err)
	}
	if n := projects(staging); n != 0 {
		t.Errorf("another account lists %d projects", n)
	}
	if _, err := staging.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: aws.String("x"), ServiceCatalogProvisioningDetails: provisioning("team-bucket", "Team", "ml")}); code(err) != "ValidationException" {
		t.Errorf("another account using the team's template: %v, want ValidationException", err)
	}
	if _, err := slipwayclient.New(s.cfg("staging")).DescribeProjectTemplate(ctx, "team-bucket"); code2(err) != "ValidationException" {
		t.Errorf("another account describing the team's template: %v, want ValidationException", err)
	}

	// An explicit Deny wins over an Allow of everything.
	e.policy(allowEverything, `{"Effect":"Deny","Action":["sagemaker:CreateProject","sagemaker:DeleteProject"],"Resource":"*"}`)
	if _, err := e.actor.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: aws.String("denied"), ServiceCatalogProvisioningDetails: provisioning("team-bucket", "Team", "ml")}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("CreateProject under Deny: %v", err)
	}
	if _, err := e.actor.sm.DeleteProject(ctx, &sagemaker.DeleteProjectInput{ProjectName: aws.String(name)}); !strings.Contains(code(err), "AccessDenied") {
		t.Errorf("DeleteProject under Deny: %v", err)
	}
	if p := waitProject(t, e.admin.sm, name, smtypes.ProjectStatusCreateCompleted); p.ProjectStatus != smtypes.ProjectStatusCreateCompleted {
		t.Errorf("the project after a denied delete: %s", p.ProjectStatus)
	}
	if got := liveStacks(); got != stacksBefore {
		t.Errorf("%d stacks after the refusals, want %d", got, stacksBefore)
	}

	// The stack is made as the caller: a caller denied cloudformation:CreateStack gets a
	// failed project and no stack.
	e.policy(allowEverything, `{"Effect":"Deny","Action":"cloudformation:CreateStack","Resource":"*"}`)
	if _, err := e.actor.sm.CreateProject(ctx, &sagemaker.CreateProjectInput{ProjectName: aws.String("nostack"), ServiceCatalogProvisioningDetails: provisioning("team-bucket", "Team", "ml")}); err != nil {
		t.Fatal(err)
	}
	p := waitProject(t, e.admin.sm, "nostack", smtypes.ProjectStatusCreateFailed, smtypes.ProjectStatusCreateCompleted)
	if p.ProjectStatus != smtypes.ProjectStatusCreateFailed || !strings.Contains(aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage), "not authorized") {
		t.Errorf("a project whose caller may not create stacks: %s %q", p.ProjectStatus, aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage))
	}
	if got := liveStacks(); got != stacksBefore {
		t.Errorf("%d stacks after a denied stack creation, want %d", got, stacksBefore)
	}
	// A failed project is deleted at once (it made nothing).
	if _, err := e.admin.sm.DeleteProject(ctx, &sagemaker.DeleteProjectInput{ProjectName: aws.String("nostack")}); err != nil {
		t.Fatal(err)
	}
	waitProjectGone(t, e.admin.sm, "nostack")
}
