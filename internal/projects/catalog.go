package projects

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/arn"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/stacks/template"
)

// builtin holds the templates shipped in the binary, one directory each (manifest.json,
// template.yaml, seed/...).
//
//go:embed all:builtin
var builtin embed.FS

// Limits of a template added by a team.
const (
	MaxTemplateName = 63
	MaxSeedFiles    = 200
	MaxSeedBytes    = 4 << 20 // all seed files together
	MaxManifest     = 64 << 10
	ManifestFile    = "manifest.json"
	TemplateFile    = "template.yaml"
	SeedDir         = "seed"
)

var templateNameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9_]){0,62}$`)

// Manifest describes a template: its name, what it makes, its parameters, and where its seed
// code goes.
type Manifest struct {
	Name        string
	Description string
	// Parameters documents the template's parameters (the template declares their types,
	// defaults and constraints; these say what they mean to a person).
	Parameters []ParameterDoc `json:",omitempty"`
	// SeedCode says where the seed code is uploaded once the stack is complete: the bucket is
	// the value of the stack output BucketOutput, the keys start with Prefix.
	SeedCode *SeedCode `json:",omitempty"`
}

// ParameterDoc documents one parameter.
type ParameterDoc struct {
	Name        string
	Description string
}

// SeedCode is where a template's seed code lands.
type SeedCode struct {
	BucketOutput string
	Prefix       string
	// Archive, when set, is the name (under Prefix) of a zip of every seed file, written too:
	// what a deploy pipeline's S3 source reads.
	Archive string `json:",omitempty"`
}

// File is one seed code file.
type File struct {
	Path    string
	Content []byte
}

// Template is a project template.
type Template struct {
	Account   string `json:",omitempty"` // "" for built-in templates
	Manifest  Manifest
	Body      string // the CloudFormation template
	Seed      []File `json:",omitempty"`
	BuiltIn   bool
	CreatedAt time.Time
}

// Name is the template's name (the ProductId that names it in CreateProject).
func (t Template) Name() string { return t.Manifest.Name }

// ParameterInfo is a template parameter as the catalog shows it.
type ParameterInfo struct {
	Name, Type, Description, Default string
	HasDefault                       bool
	AllowedValues                    []string
}

// Parameters lists the template's parameters, in name order, with the manifest's descriptions.
func (t Template) Parameters() []ParameterInfo {
	tpl, err := template.Parse([]byte(t.Body))
	if err != nil {
		return nil
	}
	doc := map[string]string{}
	for _, p := range t.Manifest.Parameters {
		doc[p.Name] = p.Description
	}
	var out []ParameterInfo
	for name, p := range tpl.Parameters {
		pi := ParameterInfo{Name: name, Type: p.Type, Description: doc[name], AllowedValues: p.AllowedValues}
		if pi.Description == "" {
			pi.Description = p.Description
		}
		if p.Default != nil {
			pi.Default, pi.HasDefault = *p.Default, true
		}
		out = append(out, pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func invalid(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("ValidationException")
}

// ParseTemplate reads a template from its files: manifest.json, template.yaml (or
// template.json), and everything under seed/. It checks the manifest, parses the
// CloudFormation template, and checks that the manifest documents only parameters the
// template declares. It is the one parser of templates a team adds, fuzzed.
func ParseTemplate(files []File) (Template, error) {
	var t Template
	var manifest []byte
	seedBytes := 0
	for _, f := range files {
		p := path.Clean(f.Path)
		if p != f.Path || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == ".." || p == "." {
			return Template{}, invalid("template file %q: paths are relative, clean and inside the template directory", f.Path)
		}
		switch {
		case p == ManifestFile:
			manifest = f.Content
		case p == TemplateFile || p == "template.json":
			if t.Body != "" {
				return Template{}, invalid("a template directory has one template.yaml or template.json, not both")
			}
			t.Body = string(f.Content)
		case strings.HasPrefix(p, SeedDir+"/"):
			seedBytes += len(f.Content)
			t.Seed = append(t.Seed, File{Path: strings.TrimPrefix(p, SeedDir+"/"), Content: f.Content})
		default:
			return Template{}, invalid("template file %q: a template directory holds manifest.json, template.yaml and seed/ only", f.Path)
		}
	}
	if manifest == nil {
		return Template{}, invalid("the template has no manifest.json")
	}
	if len(manifest) > MaxManifest {
		return Template{}, invalid("manifest.json is larger than %d bytes", MaxManifest)
	}
	if err := json.Unmarshal(manifest, &t.Manifest); err != nil {
		return Template{}, invalid("manifest.json: %v", err)
	}
	if !templateNameRE.MatchString(t.Manifest.Name) {
		return Template{}, invalid("manifest.json: Name %q must be 1 to 63 letters, digits, hyphens and underscores, starting with a letter or digit", t.Manifest.Name)
	}
	if len(t.Manifest.Description) > 1024 {
		return Template{}, invalid("manifest.json: Description is longer than 1024 characters")
	}
	if t.Body == "" {
		return Template{}, invalid("the template has no template.yaml")
	}
	if len(t.Body) > template.MaxBodySize {
		return Template{}, invalid("template.yaml is larger than %d bytes", template.MaxBodySize)
	}
	if len(t.Seed) > MaxSeedFiles || seedBytes > MaxSeedBytes {
		return Template{}, invalid("seed code is limited to %d files and %d bytes", MaxSeedFiles, MaxSeedBytes)
	}
	tpl, err := template.Parse([]byte(t.Body))
	if err != nil {
		return Template{}, invalid("template.yaml: %s", errs.Message(err))
	}
	for _, p := range t.Manifest.Parameters {
		if _, ok := tpl.Parameters[p.Name]; !ok {
			return Template{}, invalid("manifest.json documents parameter %q, which template.yaml does not declare", p.Name)
		}
	}
	if sc := t.Manifest.SeedCode; sc != nil {
		if _, ok := tpl.Outputs[sc.BucketOutput]; !ok {
			return Template{}, invalid("manifest.json: SeedCode.BucketOutput %q is not an output of template.yaml", sc.BucketOutput)
		}
		if strings.HasPrefix(sc.Prefix, "/") || strings.Contains(sc.Prefix, "..") || strings.Contains(sc.Archive, "/") {
			return Template{}, invalid("manifest.json: SeedCode.Prefix %q must be a relative key prefix", sc.Prefix)
		}
	} else if len(t.Seed) > 0 {
		return Template{}, invalid("the template has seed code but manifest.json has no SeedCode saying where it goes")
	}
	sort.Slice(t.Seed, func(i, j int) bool { return t.Seed[i].Path < t.Seed[j].Path })
	return t, nil
}

// BuiltIns reads the templates embedded in the binary.
func BuiltIns() ([]Template, error) {
	dirs, err := fs.ReadDir(builtin, "builtin")
	if err != nil {
		return nil, err
	}
	var out []Template
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		root := "builtin/" + d.Name()
		var files []File
		err := fs.WalkDir(builtin, root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := builtin.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, File{Path: strings.TrimPrefix(p, root+"/"), Content: b})
			return nil
		})
		if err != nil {
			return nil, err
		}
		t, err := ParseTemplate(files)
		if err != nil {
			return nil, errs.E(errs.Internal, "built-in template %s: %v", d.Name(), err)
		}
		t.BuiltIn = true
		out = append(out, t)
	}
	return out, nil
}

func (s *Service) templateARN(account, name string) string {
	return arn.SageMaker(s.region, account, "project-template", name)
}

func (s *Service) authorize(ctx context.Context, c identity.Call, action, resource string) error {
	_, err := s.authz.Authorize(ctx, c.Caller, identity.Action{
		Name: "sagemaker:" + action, Resource: resource, ResourceAccount: c.Caller.Account, Context: c.Context,
	})
	return err
}

// lookupTemplate finds a template by name: a built-in one, or the account's own.
func (s *Service) lookupTemplate(ctx context.Context, account, name string) (Template, error) {
	for _, t := range s.builtins {
		if t.Name() == name {
			return t, nil
		}
	}
	t, err := s.store.GetTemplate(ctx, account, name)
	if errs.Is(err, errs.NotFound) {
		return Template{}, errs.E(errs.NotFound, "Template %s does not exist in the catalog (slipway templates list shows it)", name).WithCode("ValidationException")
	}
	return t, err
}

// AddTemplate adds a team's template to the caller's account (sagemaker:CreateProjectTemplate
// on project-template/NAME).
func (s *Service) AddTemplate(ctx context.Context, c identity.Call, files []File) (Template, error) {
	t, err := ParseTemplate(files)
	if err != nil {
		return Template{}, err
	}
	if err := s.authorize(ctx, c, "CreateProjectTemplate", s.templateARN(c.Caller.Account, t.Name())); err != nil {
		return Template{}, err
	}
	for _, b := range s.builtins {
		if b.Name() == t.Name() {
			return Template{}, errs.E(errs.Conflict, "Template %s is built in and cannot be replaced; choose another name", t.Name()).WithCode("ResourceInUse")
		}
	}
	t.Account, t.CreatedAt = c.Caller.Account, s.now()
	err = s.store.Update(ctx, func(tx Tx) error { return tx.InsertTemplate(ctx, t) })
	if errs.Is(err, errs.Conflict) {
		return Template{}, errs.E(errs.Conflict, "Template %s already exists; delete it first to replace it", t.Name()).WithCode("ResourceInUse")
	}
	return t, err
}

// DescribeTemplate returns a template of the catalog (sagemaker:DescribeProjectTemplate).
func (s *Service) DescribeTemplate(ctx context.Context, c identity.Call, name string) (Template, error) {
	if err := s.authorize(ctx, c, "DescribeProjectTemplate", s.templateARN(c.Caller.Account, name)); err != nil {
		return Template{}, err
	}
	return s.lookupTemplate(ctx, c.Caller.Account, name)
}

// ListTemplates lists the built-in templates and the account's own, by name
// (sagemaker:ListProjectTemplates on *).
func (s *Service) ListTemplates(ctx context.Context, c identity.Call) ([]Template, error) {
	if err := s.authorize(ctx, c, "ListProjectTemplates", "*"); err != nil {
		return nil, err
	}
	own, err := s.store.ListTemplates(ctx, c.Caller.Account)
	if err != nil {
		return nil, err
	}
	out := append(append([]Template{}, s.builtins...), own...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// DeleteTemplate deletes one of the account's own templates (projects made from it keep
// their stacks).
func (s *Service) DeleteTemplate(ctx context.Context, c identity.Call, name string) error {
	if err := s.authorize(ctx, c, "DeleteProjectTemplate", s.templateARN(c.Caller.Account, name)); err != nil {
		return err
	}
	for _, b := range s.builtins {
		if b.Name() == name {
			return invalid("Template %s is built in and cannot be deleted", name)
		}
	}
	return s.store.Update(ctx, func(tx Tx) error {
		err := tx.DeleteTemplate(ctx, c.Caller.Account, name)
		if errs.Is(err, errs.NotFound) {
			return errs.E(errs.NotFound, "Template %s does not exist", name).WithCode("ValidationException")
		}
		return err
	})
}
