package slipwayclient

import (
	"context"
	"time"
)

// TemplateFile is one file of a project template directory (manifest.json, template.yaml,
// seed/...), its path relative to the directory.
type TemplateFile struct {
	Path    string
	Content []byte // sent as base64, as awsJson1_1 sends blobs
}

// TemplateSummary is a template of the catalog as listed.
type TemplateSummary struct {
	TemplateName string
	Description  string `json:",omitempty"`
	BuiltIn      bool
	CreationTime *float64 `json:",omitempty"` // epoch seconds
}

// Created is when the template was added (zero for a built-in one).
func (s TemplateSummary) Created() time.Time {
	if s.CreationTime == nil {
		return time.Time{}
	}
	sec := int64(*s.CreationTime)
	return time.Unix(sec, int64((*s.CreationTime-float64(sec))*1e9)).UTC()
}

// TemplateParameter is a template's parameter.
type TemplateParameter struct {
	Name          string
	Type          string
	Description   string   `json:",omitempty"`
	DefaultValue  *string  `json:",omitempty"`
	AllowedValues []string `json:",omitempty"`
}

// TemplateDescription is SlipwayDescribeProjectTemplate's answer.
type TemplateDescription struct {
	TemplateSummary
	TemplateArn  string
	Parameters   []TemplateParameter
	TemplateBody string
	SeedCode     []struct {
		Path string
		Size int64
	}
	SeedCodeBucketOutput string `json:",omitempty"`
	SeedCodePrefix       string `json:",omitempty"`
}

// AddProjectTemplate adds a template to the caller's account's catalog.
func (c *Client) AddProjectTemplate(ctx context.Context, files []TemplateFile) (name, arn string, err error) {
	var out struct{ TemplateName, TemplateArn string }
	err = c.call(ctx, "SageMaker", "sagemaker", "SlipwayCreateProjectTemplate", map[string]any{"Files": files}, &out)
	return out.TemplateName, out.TemplateArn, err
}

// ListProjectTemplates lists the built-in templates and the account's own.
func (c *Client) ListProjectTemplates(ctx context.Context) ([]TemplateSummary, error) {
	var out struct{ ProjectTemplates []TemplateSummary }
	err := c.call(ctx, "SageMaker", "sagemaker", "SlipwayListProjectTemplates", map[string]any{}, &out)
	return out.ProjectTemplates, err
}

// DescribeProjectTemplate describes a template of the catalog.
func (c *Client) DescribeProjectTemplate(ctx context.Context, name string) (TemplateDescription, error) {
	var out TemplateDescription
	err := c.call(ctx, "SageMaker", "sagemaker", "SlipwayDescribeProjectTemplate", map[string]string{"TemplateName": name}, &out)
	return out, err
}

// DeleteProjectTemplate deletes one of the account's own templates.
func (c *Client) DeleteProjectTemplate(ctx context.Context, name string) error {
	return c.call(ctx, "SageMaker", "sagemaker", "SlipwayDeleteProjectTemplate", map[string]string{"TemplateName": name}, nil)
}
