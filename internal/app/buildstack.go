package app

import (
	"context"

	"github.com/slipway-ml/slipway/internal/builds"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/stacks"
)

// ---- AWS::CodeBuild::Project: Ref is the project's name; Fn::GetAtt Arn. Made through the
// builds service as the stack's caller (codebuild:CreateProject and iam:PassRole of its
// ServiceRole are authorized as for an API call).

type buildProjectProvider struct{ a *App }

var _ stacks.Schema = buildProjectProvider{}

func (buildProjectProvider) Properties() ([]string, []string) {
	return []string{"Name", "Description", "Source", "Artifacts", "Environment", "ServiceRole", "TimeoutInMinutes", "Tags"},
		[]string{"Source", "Artifacts", "Environment", "ServiceRole"}
}

func (p buildProjectProvider) project(r stacks.Request) (builds.Project, error) {
	var out builds.Project
	var err error
	props := r.Properties
	if out.Name, err = pStr(r, props, "Name"); err != nil {
		return out, err
	}
	if out.Name == "" {
		out.Name = r.PhysicalID
	}
	if out.Name == "" {
		out.Name = r.Name
	}
	if out.Description, err = pStr(r, props, "Description"); err != nil {
		return out, err
	}
	if out.ServiceRole, err = pStr(r, props, "ServiceRole"); err != nil {
		return out, err
	}
	t, err := pNum(r, props, "TimeoutInMinutes", 0)
	if err != nil || t != float64(int(t)) {
		return out, propErr(r, "TimeoutInMinutes", "type: Integer")
	}
	out.TimeoutInMinutes = int(t)
	if out.Tags, err = pTags(r, props); err != nil {
		return out, err
	}
	obj := func(key string, known ...string) (map[string]any, error) {
		m, ok := props[key].(map[string]any)
		if !ok {
			return nil, propErr(r, key, "type: Object")
		}
		return m, only(r, key, m, known...)
	}
	src, err := obj("Source", "Type", "Location", "BuildSpec")
	if err != nil {
		return out, err
	}
	for k, dst := range map[string]*string{"Type": &out.Source.Type, "Location": &out.Source.Location, "BuildSpec": &out.Source.Buildspec} {
		if *dst, err = pStr(r, src, k); err != nil {
			return out, err
		}
	}
	art, err := obj("Artifacts", "Type", "Location", "Path", "Name", "NamespaceType", "Packaging")
	if err != nil {
		return out, err
	}
	a := &out.Artifacts
	for k, dst := range map[string]*string{"Type": &a.Type, "Location": &a.Location, "Path": &a.Path, "Name": &a.Name, "NamespaceType": &a.NamespaceType, "Packaging": &a.Packaging} {
		if *dst, err = pStr(r, art, k); err != nil {
			return out, err
		}
	}
	env, err := obj("Environment", "Type", "Image", "ComputeType", "EnvironmentVariables", "PrivilegedMode")
	if err != nil {
		return out, err
	}
	e := &out.Environment
	for k, dst := range map[string]*string{"Type": &e.Type, "Image": &e.Image, "ComputeType": &e.ComputeType} {
		if *dst, err = pStr(r, env, k); err != nil {
			return out, err
		}
	}
	if vs, ok := env["EnvironmentVariables"]; ok && vs != nil {
		list, ok := vs.([]any)
		if !ok {
			return out, propErr(r, "Environment/EnvironmentVariables", "type: Array")
		}
		for _, v := range list {
			m, ok := v.(map[string]any)
			if !ok {
				return out, propErr(r, "Environment/EnvironmentVariables", "an array of objects")
			}
			if err := only(r, "Environment/EnvironmentVariables", m, "Name", "Value", "Type"); err != nil {
				return out, err
			}
			var ev builds.EnvVar
			for k, dst := range map[string]*string{"Name": &ev.Name, "Value": &ev.Value, "Type": &ev.Type} {
				if *dst, err = pStr(r, m, k); err != nil {
					return out, err
				}
			}
			e.Variables = append(e.Variables, ev)
		}
	}
	return out, nil
}

func (p buildProjectProvider) result(pr builds.Project) stacks.Result {
	return done(pr.Name, map[string]any{"Arn": pr.ARN})
}

func (p buildProjectProvider) Create(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	pr, err := p.project(r)
	if err != nil {
		return stacks.Result{}, err
	}
	out, err := p.a.Builds.CreateProject(ctx, r.Call, pr)
	if adopt(r, err, true) {
		return p.Check(ctx, stacks.Request{Call: r.Call, PhysicalID: pr.Name, LogicalID: r.LogicalID})
	}
	if err != nil {
		return stacks.Result{}, err
	}
	return p.result(out), nil
}

func (p buildProjectProvider) Check(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	found, _, err := p.a.Builds.BatchGetProjects(ctx, r.Call, []string{r.PhysicalID})
	if err != nil {
		return stacks.Result{}, err
	}
	if len(found) != 1 {
		return stacks.Result{}, errs.E(errs.NotFound, "build project %s does not exist", r.PhysicalID)
	}
	return p.result(found[0]), nil
}

// Replaces: a new name is a new project; everything else is updated in place.
func (buildProjectProvider) Replaces(old, new map[string]any) bool { return changed(old, new, "Name") }

func (p buildProjectProvider) Update(ctx context.Context, r stacks.Request) (stacks.Result, error) {
	pr, err := p.project(r)
	if err != nil {
		return stacks.Result{}, err
	}
	tags := pr.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	out, err := p.a.Builds.UpdateProject(ctx, r.Call, builds.ProjectUpdate{Name: r.PhysicalID, Description: &pr.Description, Source: &pr.Source,
		Artifacts: &pr.Artifacts, Environment: &pr.Environment, ServiceRole: &pr.ServiceRole, TimeoutInMinutes: &pr.TimeoutInMinutes, Tags: tags})
	if err != nil {
		return stacks.Result{}, err
	}
	return p.result(out), nil
}

func (p buildProjectProvider) Delete(ctx context.Context, r stacks.Request) (bool, error) {
	if r.PhysicalID == "" {
		return true, nil
	}
	err := p.a.Builds.DeleteProject(ctx, r.Call, r.PhysicalID)
	if errs.Is(err, errs.NotFound) {
		return true, nil
	}
	return err == nil, err
}
