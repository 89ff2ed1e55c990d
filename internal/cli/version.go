package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

var versionHelp = helpText{
	usage: "slipway version",
	desc: `Prints the module version of this binary (a release tag, or "(devel)" for a build from a
checkout), the version-control commit it was built from (with "+dirty" when the checkout had
uncommitted changes) and the Go version that built it.`,
	example: "slipway version",
}

// runVersion prints what this binary is: module version, commit, Go version.
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("slipway version", versionHelp, stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	version, commit := "(unknown)", "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			commit = rev
			if modified == "true" {
				commit += "+dirty"
			}
		}
	}
	fmt.Fprintf(stdout, "slipway %s\ncommit %s\n%s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
