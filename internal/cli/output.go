package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/smithy-go"
)

// This file holds what the commands for people (models, deployments) share: the --output flag,
// aligned tables, relative times, argument parsing with flags anywhere, and access-denied errors
// told as a sentence.

// outputFlag is --output: text (aligned tables for people, the default) or json (for scripts).
type outputFlag struct{ format string }

func (o *outputFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&o.format, "output", "text", "text (aligned tables, relative times) or json (for scripts)")
}

func (o *outputFlag) check() error {
	if o.format != "text" && o.format != "json" {
		return fmt.Errorf("%w: --output %q: want text or json", errUsage, o.format)
	}
	return nil
}

func (o *outputFlag) json() bool { return o.format == "json" }

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes a header and rows in aligned columns (two spaces between them).
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// ago is how long before now t was, in the largest whole unit: "5s ago", "3m ago", "2h ago",
// "4d ago"; "-" for no time.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// duration is a duration rounded for people: 850ms, 4.2s, 3m12s.
func duration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// parseArgs parses fs's flags wherever they stand among the positional arguments and returns
// the positional ones. -h is flag.ErrHelp; any other parse error is a usage error.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
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

// refused turns an access-denied answer into a sentence saying who may not do what and why (the
// server's reason); other errors are returned as they are.
func refused(err error, what string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "AccessDenied" || ae.ErrorCode() == "AccessDeniedException") {
		return fmt.Errorf("you are not allowed to %s: %s", what, ae.ErrorMessage())
	}
	return err
}

// subcommands dispatches `slipway NAME SUB …` to its subcommand; -h, --help or help alone prints
// the command's overview.
func subcommands(name string, overview helpText, subs map[string]func([]string) error, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want a subcommand: %s", errUsage, overviewNames(subs))
	}
	switch args[0] {
	case "-h", "--help", "help":
		overview.format(stdout, nil)
		return nil
	}
	run, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q: want %s", errUsage, args[0], overviewNames(subs))
	}
	return run(args[1:])
}

func overviewNames(subs map[string]func([]string) error) string {
	var names []string
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// orElse returns s, or def when s is empty.
func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// clientCommand is a subcommand that speaks to the server: its flag set with the client flags
// and --output registered (a subcommand adds its own flags to fs after them).
type clientCommand struct {
	fs *flag.FlagSet
	cf clientFlags
	of outputFlag
}

func newClientCommand(name string, h helpText, stdout, stderr io.Writer) *clientCommand {
	c := &clientCommand{fs: newCommand(name, h, stdout, stderr)}
	c.cf.register(c.fs)
	c.of.register(c.fs)
	return c
}

// parse reads args (flags may come anywhere among the positional arguments), checks --output,
// and returns the positional arguments.
func (c *clientCommand) parse(args []string) ([]string, error) {
	pos, err := parseArgs(c.fs, args)
	if err != nil {
		return nil, err
	}
	return pos, c.of.check()
}

// oneVersion reads the single GROUP/VERSION argument of a subcommand.
func oneVersion(pos []string) (string, int32, error) {
	if len(pos) != 1 {
		return "", 0, fmt.Errorf("%w: want one model version, GROUP/VERSION", errUsage)
	}
	return groupVersion(pos[0])
}
