// Package cli implements the slipway command line. Each subcommand lives in its own file and is
// listed in commands; the CLI reaches a running server only through its AWS-compatible API.
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

// command is one subcommand of slipway.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand. Files add theirs here, by name.
func commands() map[string]command {
	return map[string]command{
		"algo":   {summary: "built-in algorithms: prep, train, evaluate, predict", run: runAlgo},
		"server": {summary: "run the control plane (AWS-compatible API)", run: runServer},
		"demo":   {summary: "run the story end to end on a fresh server: train, register, isolate, approve", run: runDemo},
		"audit":  {summary: "verify the audit trail's hash chain (offline: reads a data directory, no server)", run: runAudit},
		"logs":   {summary: "print (and --follow) a job's log lines from the server's CloudWatch Logs API", run: runLogs},

		"container":     {run: runContainer},    // hidden (no summary): the built-in images' entrypoints, run inside jobs
		"executor-shim": {run: runExecutorShim}, // hidden (no summary): the supervisor of one job, started by the server
	}
}

// errUsage marks an error whose message is a usage text; Run prints it and exits with status 2.
var errUsage = errors.New("usage")

// Run runs the command line args (without the program name) and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "slipway: unknown command %q\n\n", args[0])
		printUsage(stderr, cmds)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "slipway %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func printUsage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		if cmds[n].summary == "" {
			continue // a hidden subcommand
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: slipway <command> [arguments]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, cmds[n].summary)
	}
	io.WriteString(w, b.String())
}
