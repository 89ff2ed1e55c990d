package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes of slipway, for every subcommand.
const (
	exitOK      = 0 // done
	exitFailure = 1 // the command ran and failed (a server that cannot start, a broken audit chain…)
	exitUsage   = 2 // the command line is wrong: unknown command or flag, missing argument
)

// helpText is what -h prints for one subcommand: its usage line, a description, its flags (from
// the flag set), extra sections such as environment variables, and at least one example.
type helpText struct {
	usage   string // "slipway server [flags]"
	desc    string // what the command does, in a few sentences
	extra   string // optional section printed after the flags (environment variables…)
	example string // one or more command lines, with comments
}

// format writes the whole help text, listing fs's flags.
func (h helpText) format(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n", h.usage)
	if h.desc != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(h.desc))
	}
	if fs != nil {
		var flags strings.Builder
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			name = placeholder(f.Name, name)
			left := "--" + f.Name
			if name != "" {
				left += " " + name
			}
			fmt.Fprintf(&flags, "  %s\n        %s", left, usage)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				fmt.Fprintf(&flags, " (default %s)", f.DefValue)
			}
			flags.WriteString("\n")
		})
		if flags.Len() > 0 {
			fmt.Fprintf(&b, "\nflags:\n%s", flags.String())
		}
	}
	if h.extra != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimRight(h.extra, "\n"))
	}
	if h.example != "" {
		b.WriteString("\nexample:\n")
		for _, l := range strings.Split(strings.Trim(h.example, "\n"), "\n") {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	io.WriteString(w, b.String())
}

// placeholder names a flag's value in help: the backquoted word of its usage, or one derived
// from its name (--data-dir DIR, --model-dir DIR, --seed N).
func placeholder(flagName, name string) string {
	switch name {
	case "", "bool":
		return ""
	case "string", "value":
		parts := strings.Split(flagName, "-")
		return strings.ToUpper(parts[len(parts)-1])
	case "int", "uint", "int64", "uint64":
		return "N"
	case "float":
		return "X"
	case "duration":
		return "DURATION"
	}
	return name
}

// helpWriter is a flag set's output: the flag package writes only its error messages there
// (usage is ours), so a write means the command line was wrong.
type helpWriter struct {
	stderr  io.Writer
	errored bool
}

func (w *helpWriter) Write(p []byte) (int, error) {
	w.errored = true // the error comes back from Parse; Run prints it once
	return len(p), nil
}

// newCommand returns the flag set of a subcommand. -h or --help prints h (with the flags) on
// stdout and the command exits 0; a wrong flag prints the error and the usage line on stderr
// and the command exits 2 (parseFlags wraps the error in errUsage).
func newCommand(name string, h helpText, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	hw := &helpWriter{stderr: stderr}
	fs.SetOutput(hw)
	fs.Usage = func() {
		if !hw.errored {
			h.format(stdout, fs)
		}
	}
	return fs
}

// commandPath returns the words of a usage line after the program name up to the first flag or
// placeholder: "slipway algo prep --input …" → "algo prep".
func commandPath(usage string) string {
	var words []string
	for _, w := range strings.Fields(usage)[1:] {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "<") || strings.ToUpper(w) == w || strings.Contains(w, "|") {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// newFlags returns a flag set whose help is only a usage line (stderr) and its flags. Prefer
// newCommand, whose help has a description and an example.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	return newCommand(name, helpText{usage: synopsis}, stderr, stderr)
}

// wantsHelp reports whether args ask for help rather than name a command.
func wantsHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help")
}
