package builds

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/builds/buildspec"
)

// quote quotes s for sh: a single-quoted word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// phaseScript is the sh script that runs one phase: it restores the environment and working
// directory the previous phase left, runs each command with eval in this one shell (so a
// command's exports and cd reach the next), stops at the first failing command, runs the
// finally commands whatever happened, and saves the environment, the working directory and
// the exported variables. It records, in STATE, the index of the command running (cur) and,
// when one fails, its index and exit status (failed); a command that exits the shell leaves
// only cur.
func phaseScript(state, srcDir string, ph buildspec.Phase, exported []string, succeeding bool) string {
	var b strings.Builder
	q := quote
	b.WriteString("# Written by Slipway's build engine.\n")
	b.WriteString("__S=" + q(state) + "\n")
	b.WriteString(`if [ -f "$__S/env" ]; then . "$__S/env"; fi` + "\n")
	// The engine's view of the build wins over what the previous phase saved.
	if succeeding {
		b.WriteString("export CODEBUILD_BUILD_SUCCEEDING=1\n")
	} else {
		b.WriteString("export CODEBUILD_BUILD_SUCCEEDING=0\n")
	}
	b.WriteString(`if [ -f "$__S/cwd" ]; then cd "$(cat "$__S/cwd")" || cd ` + q(srcDir) + `; else cd ` + q(srcDir) + `; fi` + "\n")
	b.WriteString("__fail=0\nrm -f \"$__S/cur\" \"$__S/failed\"\n")
	run := func(i int, c string, always bool) {
		b.WriteString("__c=" + q(c) + "\n")
		if !always {
			b.WriteString("if [ $__fail -eq 0 ]; then\n")
		} else {
			b.WriteString("if true; then\n")
		}
		b.WriteString("echo " + strconv.Itoa(i) + " > \"$__S/cur\"\n")
		b.WriteString(`printf '[Container] %s Running command %s\n' "$(date -u '+%Y/%m/%d %H:%M:%S')" "$__c"` + "\n")
		b.WriteString("eval \"$__c\"\n__rc=$?\n")
		b.WriteString("if [ $__rc -ne 0 ] && [ $__fail -eq 0 ]; then echo \"" + strconv.Itoa(i) + " $__rc\" > \"$__S/failed\"; __fail=1; fi\n")
		b.WriteString("fi\n")
	}
	for i, c := range ph.Commands {
		run(i, c, false)
	}
	for i, c := range ph.Finally {
		run(len(ph.Commands)+i, c, true)
	}
	b.WriteString(`export -p > "$__S/env.new" && mv "$__S/env.new" "$__S/env"` + "\n")
	b.WriteString(`pwd > "$__S/cwd"` + "\n")
	if len(exported) > 0 {
		b.WriteString(`: > "$__S/exported.new"` + "\n")
		for _, name := range exported {
			b.WriteString(`if [ -n "${` + name + `+x}" ]; then printf '%s=%s\0' ` + name + ` "$` + name + `" >> "$__S/exported.new"; fi` + "\n")
		}
		b.WriteString(`mv "$__S/exported.new" "$__S/exported"` + "\n")
	}
	b.WriteString("exit $__fail\n")
	return b.String()
}

// phaseOutcome reads what a phase's script recorded: the failing command's index and exit
// status, or the index of the command that was running when the shell ended.
func phaseOutcome(state string) (failed, status int, ok bool) {
	if b, err := os.ReadFile(filepath.Join(state, "failed")); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			i, e1 := strconv.Atoi(f[0])
			rc, e2 := strconv.Atoi(f[1])
			if e1 == nil && e2 == nil {
				return i, rc, true
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(state, "cur")); err == nil {
		if i, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return i, -1, true
		}
	}
	return 0, 0, false
}

// readExported reads the exported variables the last phase saved.
func readExported(state string, names []string) []EnvVar {
	b, err := os.ReadFile(filepath.Join(state, "exported"))
	if err != nil {
		return nil
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		for i, c := range data {
			if c == 0 {
				return i + 1, data[:i], nil
			}
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			got[k] = v
		}
	}
	var out []EnvVar
	for _, n := range names {
		if v, ok := got[n]; ok {
			out = append(out, EnvVar{Name: n, Value: v})
		}
	}
	return out
}
