// Package cli implements the slipway command line. Each subcommand lives in its own file and is
// listed in commands; the CLI reaches a running server only through its AWS-compatible API.
//
// Every subcommand has one flag set (newCommand) whose -h prints a description, the flags and an
// example on stdout. Exit codes: 0 done, 1 the command failed, 2 the command line is wrong.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one subcommand of slipway. A hidden command works but is not listed by help (the
// entrypoints the server itself runs).
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	hidden  bool
}

// commands lists every subcommand. Files add theirs here, by name.
func commands() map[string]command {
	return map[string]command{
		"algo":    {summary: "built-in algorithms: prep, train, evaluate, predict", run: runAlgo},
		"server":  {summary: "run the control plane (AWS-compatible API)", run: runServer},
		"demo":    {summary: "the whole story on a fresh server: project, model build, approval, staging, production", run: runDemo},
		"audit":   {summary: "verify the audit trail's hash chain (offline: reads a data directory, no server)", run: runAudit},
		"version": {summary: "print the version, commit and Go version of this binary", run: runVersion},
		"logs":    {summary: "print (and --follow) a job's log lines from the server's CloudWatch Logs API", run: runLogs},

		"pipelines":   {summary: "watch a pipeline execution's steps as they run; explain a step's cache hit or miss", run: runPipelines},
		"deployments": {summary: "deploy pipelines: list them, watch an execution, approve or reject a waiting approval", run: runDeployments},
		"models":      {summary: "the model registry: list, show, approve, reject versions; their lineage", run: runModels},
		"projects":    {summary: "create, list, show and delete SageMaker projects made from catalog templates", run: runProjects},
		"templates":   {summary: "the project template catalog: add a team's template, list, show, delete", run: runTemplates},
		"console":     {summary: "print a one-time sign-in link to the web console for a profile's principal", run: runConsole},

		"build":         {run: runBuild, hidden: true},        // a deploy pipeline's Build and Test steps (slipway build -h)
		"container":     {run: runContainer, hidden: true},    // the built-in images' entrypoints, run inside jobs
		"executor-shim": {run: runExecutorShim, hidden: true}, // the supervisor of one job, started by the server
	}
}

// errUsage marks an error whose message is a usage text; Run prints it and exits with status 2.
var errUsage = errors.New("usage")

// Run runs the command line args (without the program name) and returns the process exit code:
// 0 done, 1 the command failed, 2 the command line is wrong.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		printUsage(stderr, cmds)
		return exitUsage
	}
	if wantsHelp(args) {
		if len(args) > 1 { // slipway help CMD = slipway CMD -h
			return Run(ctx, []string{args[1], "-h"}, stdout, stderr)
		}
		printUsage(stdout, cmds)
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "slipway: unknown command %q\n\n", args[0])
		printUsage(stderr, cmds)
		return exitUsage
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		if errors.Is(err, errUsage) {
			msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
			fmt.Fprintf(stderr, "slipway %s: %s\nRun \"slipway %s -h\" for its flags and an example.\n", args[0], msg, args[0])
			return exitUsage
		}
		fmt.Fprintf(stderr, "slipway %s: %v\n", args[0], err)
		return exitFailure
	}
	return exitOK
}

func printUsage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n, c := range cmds {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: slipway <command> [flags]\n\nSlipway is a self-hosted MLOps control plane that speaks the AWS APIs.\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, cmds[n].summary)
	}
	b.WriteString(`
Run "slipway <command> -h" (or "slipway help <command>") for a command's flags and an example.
Exit status: 0 done, 1 the command failed, 2 the command line is wrong.

example:
  slipway server --data-dir ./slipway-data   # start a server; credentials in ./slipway-data/credentials
`)
	io.WriteString(w, b.String())
}
