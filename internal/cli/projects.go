package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/slipwayclient"
)

var projectsHelp = map[string]helpText{
	"create": {
		usage: "slipway projects create NAME --template TEMPLATE [--param KEY=VALUE]... [flags]",
		desc: `Creates a SageMaker project from a template of the catalog (slipway templates list):
CreateProject with ServiceCatalogProvisioningDetails.ProductId = TEMPLATE and the parameters.
The server checks the parameters against the template and makes the project's stack as you;
--wait waits until the project is CreateCompleted (or fails).`,
		example: `slipway projects create abalone --template multi-account-deployment \
    --param StagingOrganizationalUnitIds=ou-ab12-11111111 \
    --param ProductionOrganizationalUnitIds=ou-ab12-22222222 --wait`,
	},
	"list": {
		usage:   "slipway projects list [flags]",
		desc:    `Lists the account's projects (ListProjects), newest first.`,
		example: `slipway projects list --profile data-science`,
	},
	"show": {
		usage: "slipway projects show NAME [flags]",
		desc: `Shows a project (DescribeProject): its status, template and parameters, and its stack's
outputs (DescribeStacks of the stack SC-ACCOUNT-pp-ID), such as the artifact bucket that holds
the seed code.`,
		example: `slipway projects show abalone --output json`,
	},
	"delete": {
		usage: "slipway projects delete NAME [flags]",
		desc: `Deletes a project (DeleteProject): its seed code, its stack and every resource the stack
made. --wait waits until it is gone.`,
		example: `slipway projects delete abalone --wait`,
	},
}

var templatesHelp = map[string]helpText{
	"add": {
		usage: "slipway templates add DIR [flags]",
		desc: `Adds a project template to your account's catalog. DIR holds manifest.json (Name,
Description, Parameters: [{Name, Description}], SeedCode: {BucketOutput, Prefix, Archive}),
template.yaml (a CloudFormation template) and seed/ (the seed code, uploaded to the bucket the
stack output BucketOutput names when a project is created).`,
		example: `slipway templates add ./my-template`,
	},
	"list": {
		usage:   "slipway templates list [flags]",
		desc:    `Lists the catalog: the built-in templates and your account's own.`,
		example: `slipway templates list`,
	},
	"show": {
		usage:   "slipway templates show NAME [flags]",
		desc:    `Shows a template: its description, parameters (type, default, allowed values) and seed code.`,
		example: `slipway templates show multi-account-deployment`,
	},
	"delete": {
		usage:   "slipway templates delete NAME [flags]",
		desc:    `Deletes one of your account's templates (built-in ones stay; projects made from it keep their stacks).`,
		example: `slipway templates delete my-template`,
	},
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseInterleaved parses flags that may come before, between or after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
}

// subcommand picks the subcommand of a group and its help; "-h" alone shows the first's.
func subcommand(group string, args []string, helps map[string]helpText, order []string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("%w: want a subcommand: %s", errUsage, strings.Join(order, ", "))
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return order[0], []string{"-h"}, nil
	}
	if _, ok := helps[args[0]]; !ok {
		return "", nil, fmt.Errorf("%w: unknown subcommand %q: want %s", errUsage, args[0], strings.Join(order, ", "))
	}
	return args[0], args[1:], nil
}

func runProjects(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, rest, err := subcommand("projects", args, projectsHelp, []string{"create", "list", "show", "delete"})
	if err != nil {
		return err
	}
	fs := newCommand("projects "+sub, projectsHelp[sub], stdout, stderr)
	var cf clientFlags
	cf.register(fs)
	output := fs.String("output", "text", "text for people, json for scripts")
	var template string
	var params multiFlag
	var wait bool
	var description string
	if sub == "create" {
		fs.StringVar(&template, "template", "multi-account-deployment", "the catalog template (ProductId)")
		fs.Var(&params, "param", "a template parameter KEY=VALUE (repeat the flag)")
		fs.StringVar(&description, "description", "", "the project's description")
	}
	if sub == "create" || sub == "delete" {
		fs.BoolVar(&wait, "wait", false, "wait until the operation is done")
	}
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("%w: --output is text or json", errUsage)
	}
	if sub == "list" && len(pos) != 0 || sub != "list" && len(pos) != 1 {
		return fmt.Errorf("%w: %s", errUsage, projectsHelp[sub].usage)
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	sm := sagemaker.NewFromConfig(cfg)
	switch sub {
	case "create":
		d := &smtypes.ServiceCatalogProvisioningDetails{ProductId: aws.String(template)}
		for _, p := range params {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return fmt.Errorf("%w: --param %q is not KEY=VALUE", errUsage, p)
			}
			d.ProvisioningParameters = append(d.ProvisioningParameters, smtypes.ProvisioningParameter{Key: aws.String(k), Value: aws.String(v)})
		}
		in := &sagemaker.CreateProjectInput{ProjectName: aws.String(pos[0]), ServiceCatalogProvisioningDetails: d}
		if description != "" {
			in.ProjectDescription = aws.String(description)
		}
		out, err := sm.CreateProject(ctx, in)
		if err != nil {
			return err
		}
		if !wait {
			return emit(stdout, *output, map[string]string{"ProjectArn": aws.ToString(out.ProjectArn), "ProjectId": aws.ToString(out.ProjectId)},
				fmt.Sprintf("project %s (%s) created; slipway projects show %s follows it\n", pos[0], aws.ToString(out.ProjectId), pos[0]))
		}
		p, err := waitProjectStatus(ctx, sm, pos[0], smtypes.ProjectStatusCreateCompleted, smtypes.ProjectStatusCreateFailed)
		if err != nil {
			return err
		}
		if err := showProject(ctx, cfg, sm, stdout, *output, p); err != nil {
			return err
		}
		if p.ProjectStatus != smtypes.ProjectStatusCreateCompleted {
			return fmt.Errorf("project %s is %s", pos[0], p.ProjectStatus)
		}
		return nil
	case "list":
		var all []smtypes.ProjectSummary
		pg := sagemaker.NewListProjectsPaginator(sm, &sagemaker.ListProjectsInput{})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return err
			}
			all = append(all, page.ProjectSummaryList...)
		}
		if *output == "json" {
			return emit(stdout, "json", map[string]any{"ProjectSummaryList": all}, "")
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tSTATUS\tCREATED")
		for _, p := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", aws.ToString(p.ProjectName), aws.ToString(p.ProjectId), p.ProjectStatus, aws.ToTime(p.CreationTime).UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "show":
		p, err := sm.DescribeProject(ctx, &sagemaker.DescribeProjectInput{ProjectName: aws.String(pos[0])})
		if err != nil {
			return err
		}
		return showProject(ctx, cfg, sm, stdout, *output, p)
	case "delete":
		if _, err := sm.DeleteProject(ctx, &sagemaker.DeleteProjectInput{ProjectName: aws.String(pos[0])}); err != nil {
			return err
		}
		if wait {
			deadline := time.Now().Add(10 * time.Minute)
			for {
				p, err := sm.DescribeProject(ctx, &sagemaker.DescribeProjectInput{ProjectName: aws.String(pos[0])})
				if err != nil {
					break // gone
				}
				if p.ProjectStatus == smtypes.ProjectStatusDeleteFailed {
					return fmt.Errorf("project %s: DeleteFailed: %s", pos[0], statusMessage(p))
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("project %s is still %s", pos[0], p.ProjectStatus)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		return emit(stdout, *output, map[string]string{"ProjectName": pos[0], "Deleted": fmt.Sprint(wait)},
			map[bool]string{true: "project " + pos[0] + " deleted\n", false: "project " + pos[0] + " is being deleted\n"}[wait])
	}
	return nil
}

func statusMessage(p *sagemaker.DescribeProjectOutput) string {
	if p.ServiceCatalogProvisionedProductDetails == nil {
		return ""
	}
	return aws.ToString(p.ServiceCatalogProvisionedProductDetails.ProvisionedProductStatusMessage)
}

func waitProjectStatus(ctx context.Context, sm *sagemaker.Client, name string, want ...smtypes.ProjectStatus) (*sagemaker.DescribeProjectOutput, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		p, err := sm.DescribeProject(ctx, &sagemaker.DescribeProjectInput{ProjectName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		for _, w := range want {
			if p.ProjectStatus == w {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("project %s is still %s", name, p.ProjectStatus)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// showProject prints a project and its stack's outputs.
func showProject(ctx context.Context, cfg aws.Config, sm *sagemaker.Client, w io.Writer, output string, p *sagemaker.DescribeProjectOutput) error {
	outputs := map[string]string{}
	if d := p.ServiceCatalogProvisionedProductDetails; d != nil && d.ProvisionedProductId != nil {
		account := ""
		if parts := strings.Split(aws.ToString(p.ProjectArn), ":"); len(parts) > 4 {
			account = parts[4]
		}
		cf := cloudformation.NewFromConfig(cfg)
		st, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("SC-" + account + "-" + aws.ToString(d.ProvisionedProductId))})
		if err == nil && len(st.Stacks) == 1 {
			for _, o := range st.Stacks[0].Outputs {
				outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
			}
		}
	}
	if output == "json" {
		return emit(w, "json", map[string]any{"Project": p, "StackOutputs": outputs}, "")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "project\t%s (%s)\n", aws.ToString(p.ProjectName), aws.ToString(p.ProjectId))
	fmt.Fprintf(tw, "status\t%s\n", p.ProjectStatus)
	if m := statusMessage(p); m != "" {
		fmt.Fprintf(tw, "reason\t%s\n", m)
	}
	if d := p.ServiceCatalogProvisioningDetails; d != nil {
		fmt.Fprintf(tw, "template\t%s\n", aws.ToString(d.ProductId))
		for _, q := range d.ProvisioningParameters {
			fmt.Fprintf(tw, "  %s\t%s\n", aws.ToString(q.Key), aws.ToString(q.Value))
		}
	}
	fmt.Fprintf(tw, "created\t%s\n", aws.ToTime(p.CreationTime).UTC().Format(time.RFC3339))
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		fmt.Fprintln(tw, "outputs\t")
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%s\n", k, outputs[k])
		}
	}
	return tw.Flush()
}

// emit writes v as indented JSON, or text for people.
func emit(w io.Writer, output string, v any, text string) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(w, text)
	return err
}

func runTemplates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, rest, err := subcommand("templates", args, templatesHelp, []string{"add", "list", "show", "delete"})
	if err != nil {
		return err
	}
	fs := newCommand("templates "+sub, templatesHelp[sub], stdout, stderr)
	var cf clientFlags
	cf.register(fs)
	output := fs.String("output", "text", "text for people, json for scripts")
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("%w: --output is text or json", errUsage)
	}
	if sub == "list" && len(pos) != 0 || sub != "list" && len(pos) != 1 {
		return fmt.Errorf("%w: %s", errUsage, templatesHelp[sub].usage)
	}
	var files []slipwayclient.TemplateFile
	if sub == "add" {
		if files, err = readTemplateDir(pos[0]); err != nil {
			return err
		}
	}
	cfg, err := cf.config()
	if err != nil {
		return err
	}
	c := slipwayclient.New(cfg)
	switch sub {
	case "add":
		name, arn, err := c.AddProjectTemplate(ctx, files)
		if err != nil {
			return err
		}
		return emit(stdout, *output, map[string]string{"TemplateName": name, "TemplateArn": arn}, fmt.Sprintf("template %s added (%d files)\n", name, len(files)))
	case "list":
		ts, err := c.ListProjectTemplates(ctx)
		if err != nil {
			return err
		}
		if *output == "json" {
			return emit(stdout, "json", map[string]any{"ProjectTemplates": ts}, "")
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSOURCE\tDESCRIPTION")
		for _, t := range ts {
			src := "added " + t.Created().Format(time.RFC3339)
			if t.BuiltIn {
				src = "built-in"
			}
			desc := t.Description
			if len(desc) > 70 {
				desc = desc[:67] + "..."
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.TemplateName, src, desc)
		}
		return tw.Flush()
	case "show":
		t, err := c.DescribeProjectTemplate(ctx, pos[0])
		if err != nil {
			return err
		}
		if *output == "json" {
			return emit(stdout, "json", t, "")
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "template\t%s\n", t.TemplateName)
		fmt.Fprintf(tw, "built-in\t%v\n", t.BuiltIn)
		fmt.Fprintf(tw, "description\t%s\n", t.Description)
		fmt.Fprintln(tw, "parameters\t")
		for _, p := range t.Parameters {
			extra := ""
			if p.DefaultValue != nil {
				extra = " (default " + *p.DefaultValue + ")"
			}
			if len(p.AllowedValues) > 0 {
				extra += " one of " + strings.Join(p.AllowedValues, ", ")
			}
			fmt.Fprintf(tw, "  %s\t%s%s: %s\n", p.Name, p.Type, extra, p.Description)
		}
		if len(t.SeedCode) > 0 {
			fmt.Fprintf(tw, "seed code\tto the bucket of output %s, under %s/\n", t.SeedCodeBucketOutput, t.SeedCodePrefix)
			for _, f := range t.SeedCode {
				fmt.Fprintf(tw, "  %s\t%d bytes\n", f.Path, f.Size)
			}
		}
		return tw.Flush()
	case "delete":
		if err := c.DeleteProjectTemplate(ctx, pos[0]); err != nil {
			return err
		}
		return emit(stdout, *output, map[string]string{"TemplateName": pos[0]}, "template "+pos[0]+" deleted\n")
	}
	return nil
}

// readTemplateDir reads a template directory's files (regular files only, paths with /).
func readTemplateDir(dir string) ([]slipwayclient.TemplateFile, error) {
	var files []slipwayclient.TemplateFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, slipwayclient.TemplateFile{Path: filepath.ToSlash(rel), Content: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the template directory: %w", err)
	}
	return files, nil
}
