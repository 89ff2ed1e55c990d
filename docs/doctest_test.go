// Package docs_test runs the documentation: every ```sh block of README.md and docs/*.md, in
// order, against a fresh Slipway server, checking the outputs the pages state. A page that
// drifts from the code fails with its file, line, command and output.
//
// The convention (docs/contributing.md tells it to writers):
//
//   - A page starts from nothing: a fresh working directory (with the repository's top-level
//     entries linked in, so internal/algorithms/sample/abalone.csv resolves), HOME inside it, no
//     AWS_* variables but AWS_DATA_PATH (waiter models that poll every second, quickWaiters),
//     PATH = a freshly built slipway, then /usr/bin (Debian's aws CLI v2 and python3) and /bin.
//   - A comment on the page chooses how it runs:
//     <!-- doctest: fresh -->           (the default) the page alone;
//     <!-- doctest: after PAGE.md -->   PAGE.md's blocks first, in the same shell and directory;
//     <!-- doctest: none -->            a page without commands (it may hold no ```sh block).
//   - Every ```sh block runs in order in one bash process (set -euo pipefail), so variables
//     and files carry from block to block. A command that fails stops the page.
//   - ```sh server  holds one `slipway server …` command line. People run it in another
//     terminal; the test starts it in the background and waits until /healthz answers.
//   - ```sh fails   holds commands the page expects to fail (the last one must exit non-zero).
//   - ```sh norun   is shown but never run (make test, go install, PostgreSQL set-ups).
//   - A ```text block right after a ```sh block (blank lines between at most) is its expected
//     output (stdout and stderr together; for a server block, the server's output): every
//     non-empty line must appear, in order, as a whole line of the output (leading and trailing
//     spaces aside); "..." inside a line matches any text, a line of just "..." matches nothing
//     in particular.
//   - Every 127.0.0.1:PORT on a page stands for a free loopback port the test picks, the same
//     one wherever it appears; SLIPWAY_LISTEN is set to the one standing for 127.0.0.1:9330,
//     the server's default.
//   - ```bash, ```shell and ```console blocks are refused: they would look runnable and not be.
package docs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var keep = flag.Bool("docs.keep", false, "keep each page's working directory and print where it is")

// block is one fenced code block of a page.
type block struct {
	kind   string // "run", "fails", "server", "norun"
	line   int    // line of the opening fence (1-based)
	code   string
	expect []expectLine
	page   string
}

type expectLine struct {
	line int
	text string
}

// page is a parsed page.
type page struct {
	name   string // e.g. "registry.md" or "README.md"
	mode   string // "fresh", "after", "none"
	after  string // the page mode "after" names
	blocks []block
}

var headerRE = regexp.MustCompile(`<!--\s*doctest:\s*(fresh|none|after\s+(\S+))\s*-->`)

// parse reads a page. It reports malformed pages as errors naming the line.
func parse(name, src string) (page, error) {
	p := page{name: name, mode: "fresh"}
	if m := headerRE.FindStringSubmatch(src); m != nil {
		switch {
		case m[1] == "fresh", m[1] == "none":
			p.mode = m[1]
		default:
			p.mode, p.after = "after", m[2]
		}
	}
	lines := strings.Split(src, "\n")
	type fence struct {
		lang, attr string
		line       int
		body       []string
	}
	var fences []fence
	// blankAfter[i]: only blank lines lie between fence i's end and fence i+1's start.
	var adjacent []bool
	lastEnd := -100
	for i := 0; i < len(lines); i++ {
		l := strings.TrimLeft(lines[i], " ")
		if !strings.HasPrefix(l, "```") {
			continue
		}
		indent := len(lines[i]) - len(l)
		info := strings.Fields(strings.TrimPrefix(l, "```"))
		f := fence{line: i + 1}
		if len(info) > 0 {
			f.lang = info[0]
		}
		if len(info) > 1 {
			f.attr = strings.Join(info[1:], " ")
		}
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == "```" {
				break
			}
			body := lines[j]
			if len(body) >= indent && strings.TrimSpace(body[:indent]) == "" {
				body = body[indent:]
			}
			f.body = append(f.body, body)
		}
		if j == len(lines) {
			return p, fmt.Errorf("%s:%d: the code block is never closed", name, i+1)
		}
		adj := len(fences) > 0
		for k := lastEnd + 1; adj && k < i; k++ {
			if strings.TrimSpace(lines[k]) != "" {
				adj = false
			}
		}
		fences = append(fences, f)
		adjacent = append(adjacent, adj)
		lastEnd = j
		i = j
	}
	for i, f := range fences {
		switch f.lang {
		case "bash", "shell", "console", "shell-session", "zsh":
			return p, fmt.Errorf("%s:%d: a ```%s block looks runnable but is not run; write ```sh (run by the docs test, output in a following ```text block) or ```text", name, f.line, f.lang)
		case "sh":
		default:
			continue
		}
		b := block{line: f.line, code: strings.Join(f.body, "\n"), page: name}
		switch f.attr {
		case "":
			b.kind = "run"
		case "fails", "server", "norun":
			b.kind = f.attr
		default:
			return p, fmt.Errorf("%s:%d: unknown ```sh attribute %q (want fails, server or norun)", name, f.line, f.attr)
		}
		if b.kind == "server" {
			cmd := strings.TrimSpace(stripComment(b.code))
			if strings.Contains(cmd, "\n") || !strings.Contains(cmd, "slipway server") {
				return p, fmt.Errorf("%s:%d: a ```sh server block holds one `slipway server …` command line", name, f.line)
			}
		}
		if i+1 < len(fences) && adjacent[i+1] && fences[i+1].lang == "text" {
			for k, l := range fences[i+1].body {
				if strings.TrimSpace(l) != "" {
					b.expect = append(b.expect, expectLine{line: fences[i+1].line + 1 + k, text: strings.TrimSpace(l)})
				}
			}
		}
		if p.mode == "none" && b.kind != "norun" {
			return p, fmt.Errorf("%s:%d: the page says doctest: none but holds a ```sh block", name, f.line)
		}
		p.blocks = append(p.blocks, b)
	}
	return p, nil
}

// stripComment removes a trailing "# comment" of each line (outside quotes, roughly: a # after
// a space).
func stripComment(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			l = ""
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// matchLine reports whether got matches the expected line want ("..." matches any text).
func matchLine(want, got string) bool {
	if want == "..." {
		return true
	}
	parts := strings.Split(want, "...")
	if len(parts) == 1 {
		return want == got
	}
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	got = got[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(got, p)
		if i < 0 {
			return false
		}
		got = got[i+len(p):]
	}
	return strings.HasSuffix(got, last) && len(got) >= len(last)
}

// matchOutput checks that every expected line appears in order in out; it returns the first
// one that does not.
func matchOutput(want []expectLine, out string) (expectLine, bool) {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		got = append(got, strings.TrimSpace(l))
	}
	j := 0
	for _, w := range want {
		if w.text == "..." {
			continue
		}
		for ; j < len(got) && !matchLine(w.text, got[j]); j++ {
		}
		if j == len(got) {
			return w, false
		}
		j++
	}
	return expectLine{}, true
}

var addrRE = regexp.MustCompile(`127\.0\.0\.1:(\d{2,5})\b`)

// ports maps every 127.0.0.1:PORT of the blocks to a free port.
func ports(t *testing.T, blocks []block) map[string]string {
	m := map[string]string{}
	add := func(s string) {
		for _, a := range addrRE.FindAllString(s, -1) {
			if _, ok := m[a]; !ok {
				m[a] = ""
			}
		}
	}
	add("127.0.0.1:9330")
	for _, b := range blocks {
		add(b.code)
		for _, e := range b.expect {
			add(e.text)
		}
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var held []net.Listener
	for _, k := range keys {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		m[k] = ln.Addr().String()
	}
	for _, ln := range held {
		ln.Close()
	}
	return m
}

func mapAddrs(m map[string]string, s string) string {
	return addrRE.ReplaceAllStringFunc(s, func(a string) string { return m[a] })
}

// script writes the bash program that runs blocks, one output file per block, and a trace on
// fd 3 (BEGIN n / RC n status / ERR scriptline status command). lineOf maps script lines to
// page lines.
func script(blocks []block, m map[string]string) (string, map[int]string) {
	var b strings.Builder
	lineOf := map[int]string{}
	n := 1
	emit := func(s string) {
		b.WriteString(s)
		b.WriteString("\n")
		n += strings.Count(s, "\n") + 1
	}
	emit(`set -euo pipefail`)
	emit(`exec 3>>"$DOCTEST_DIR/trace"`)
	emit(`trap 'echo "ERR $LINENO $? $BASH_COMMAND" >&3' ERR`)
	emit(`doctest_wait() { # doctest_wait ADDR PID LOG`)
	emit(`  for _ in $(seq 600); do`)
	// Only the server's own "listening" line says it holds the port: until it binds (after its
	// first start) another process may have taken the address the page was given.
	emit(`    if grep -qF "listening on http://$1" "$3" && curl -sf "http://$1/healthz" >/dev/null 2>&1; then return 0; fi`)
	emit(`    if ! kill -0 "$2" 2>/dev/null; then echo "the server exited:"; cat "$3"; return 1; fi`)
	emit(`    sleep 0.1`)
	emit(`  done`)
	emit(`  echo "the server did not answer on $1 within 60 s:"; cat "$3"; return 1`)
	emit(`}`)
	for i, blk := range blocks {
		code := mapAddrs(m, blk.code)
		out := fmt.Sprintf(`"$DOCTEST_DIR/out.%d"`, i)
		emit(fmt.Sprintf(`echo "BEGIN %d" >&3`, i))
		switch blk.kind {
		case "norun":
			continue
		case "server":
			cmd := stripComment(code)
			addr := "$SLIPWAY_LISTEN"
			if f := strings.Fields(cmd); true {
				for k := 0; k+1 < len(f); k++ {
					if f[k] == "--listen" {
						addr = f[k+1]
					}
				}
			}
			lineOf[n] = fmt.Sprintf("%s:%d", blk.page, blk.line+1)
			emit(fmt.Sprintf(`%s >%s 2>&1 &`, cmd, out))
			lineOf[n] = fmt.Sprintf("%s:%d", blk.page, blk.line+1)
			emit(fmt.Sprintf(`doctest_wait %s $! %s`, addr, out))
		case "run":
			emit(`{`)
			for k, l := range strings.Split(code, "\n") {
				lineOf[n] = fmt.Sprintf("%s:%d", blk.page, blk.line+1+k)
				emit(l)
			}
			emit(fmt.Sprintf(`} >%s 2>&1 </dev/null`, out))
		case "fails":
			emit(`set +e`)
			emit(`(`)
			emit(`set -e`)
			for k, l := range strings.Split(code, "\n") {
				lineOf[n] = fmt.Sprintf("%s:%d", blk.page, blk.line+1+k)
				emit(l)
			}
			emit(fmt.Sprintf(`) >%s 2>&1 </dev/null`, out))
			emit(fmt.Sprintf(`echo "RC %d $?" >&3`, i))
			emit(`set -e`)
		}
	}
	emit(`echo "END" >&3`)
	return b.String(), lineOf
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// TestMain removes the binary built for the pages.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// slipway builds the binary once for every page.
func slipway(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-doctest-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		// slipway-shim beside slipway launches the pages' jobs faster than `slipway executor-shim`.
		out, err := exec.Command("go", "build", "-o", dir+"/", "../cmd/slipway", "../cmd/slipway-shim").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

var (
	waitersOnce sync.Once
	waitersDir  string
	waitersErr  error
)

// quickWaiters returns a botocore data directory (for AWS_DATA_PATH) holding every waiter
// model of Debian's aws CLI and boto3 with its delay cut to one second and its attempts
// raised so that it waits as long in all. The CLI's own waiters poll every 30 to 120 s, so a
// page that waits for an endpoint or a job would spend most of its time asleep; with these the
// same commands run the same way, only polling faster.
func quickWaiters(t *testing.T) string {
	waitersOnce.Do(func() {
		waitersDir, waitersErr = os.MkdirTemp("", "slipway-doctest-waiters")
		if waitersErr != nil {
			return
		}
		for _, root := range []string{"/usr/lib/python3/dist-packages/awscli/botocore/data", "/usr/lib/python3/dist-packages/botocore/data"} {
			files, _ := filepath.Glob(filepath.Join(root, "*", "*", "waiters-2.json"))
			for _, f := range files {
				rel, _ := filepath.Rel(root, f)
				dst := filepath.Join(waitersDir, rel)
				if _, err := os.Stat(dst); err == nil {
					continue // the CLI's own, found first
				}
				b, err := os.ReadFile(f)
				if err != nil {
					waitersErr = err
					return
				}
				var m struct {
					Version int                                   `json:"version"`
					Waiters map[string]map[string]json.RawMessage `json:"waiters"`
				}
				if err := json.Unmarshal(b, &m); err != nil {
					waitersErr = fmt.Errorf("%s: %v", f, err)
					return
				}
				for _, w := range m.Waiters {
					var delay, attempts int
					json.Unmarshal(w["delay"], &delay)
					json.Unmarshal(w["maxAttempts"], &attempts)
					if delay > 1 {
						w["delay"], w["maxAttempts"] = json.RawMessage("1"), json.RawMessage(strconv.Itoa(delay*attempts))
					}
				}
				out, _ := json.Marshal(m)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					waitersErr = err
					return
				}
				if err := os.WriteFile(dst, out, 0o644); err != nil {
					waitersErr = err
					return
				}
			}
		}
	})
	if waitersErr != nil {
		t.Fatal(waitersErr)
	}
	return waitersDir
}

// pages returns README.md and docs/*.md, parsed, by name.
func pages(t *testing.T) map[string]page {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	out := map[string]page{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := parse(filepath.Base(f), string(src))
		if err != nil {
			t.Error(err)
			continue
		}
		out[p.name] = p
	}
	return out
}

// withPrereqs returns the blocks to run for p: its prerequisites' first (without their
// expected outputs, which their own runs check), then its own.
func withPrereqs(t *testing.T, all map[string]page, p page) []block {
	var chain []page
	seen := map[string]bool{}
	for q := p; ; {
		if seen[q.name] {
			t.Fatalf("%s: the doctest: after chain loops", p.name)
		}
		seen[q.name] = true
		chain = append([]page{q}, chain...)
		if q.mode != "after" {
			break
		}
		next, ok := all[q.after]
		if !ok {
			t.Fatalf("%s: doctest: after %s names no page", q.name, q.after)
		}
		q = next
	}
	var blocks []block
	for _, q := range chain {
		for _, b := range q.blocks {
			if q.name != p.name {
				b.expect = nil
			}
			blocks = append(blocks, b)
		}
	}
	return blocks
}

// TestDocs runs every page.
func TestDocs(t *testing.T) {
	for _, bin := range []string{"/usr/bin/aws", "/usr/bin/python3", "/usr/bin/curl", "/usr/bin/sqlite3", "/usr/bin/jq", "/bin/bash"} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("the docs test needs %s (scripts/test.sh installs it): %v", bin, err)
		}
	}
	all := pages(t)
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		p := all[name]
		if p.mode == "none" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runPage(t, repo, slipway(t), withPrereqs(t, all, p))
		})
	}
}

func runPage(t *testing.T, repo, bin string, blocks []block) {
	start := time.Now()
	work, err := os.MkdirTemp("", "slipway-doctest-")
	if err != nil {
		t.Fatal(err)
	}
	if *keep {
		t.Logf("working directory: %s", work)
	} else {
		t.Cleanup(func() { os.RemoveAll(work) })
	}
	ents, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch e.Name() {
		case ".git", "slipway-data", "bin", "prepped", "model", "evaluation.json":
			continue
		}
		if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(work, ".doctest")
	home := filepath.Join(work, ".home")
	for _, d := range []string{dir, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m := ports(t, blocks)
	src, lineOf := script(blocks, m)
	scriptPath := filepath.Join(dir, "page.sh")
	if err := os.WriteFile(scriptPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	// A page may take as long as the test may: go test's -timeout bounds it (a loaded machine
	// makes the aws CLI slow), less a minute to report what ran.
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/bash", scriptPath)
	cmd.Dir = work
	cmd.Env = []string{
		"PATH=" + bin + ":/usr/bin:/bin",
		"HOME=" + home,
		"LANG=C.UTF-8",
		"TMPDIR=" + os.TempDir(),
		"DOCTEST_DIR=" + dir,
		"SLIPWAY_LISTEN=" + m["127.0.0.1:9330"],
		"AWS_DATA_PATH=" + quickWaiters(t),
	}
	log, err := os.Create(filepath.Join(dir, "bash.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Start()
	if runErr == nil {
		runErr = cmd.Wait()
		// Stop what the page left running (its servers): the whole process group.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		time.Sleep(200 * time.Millisecond)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	trace := readTrace(t, filepath.Join(dir, "trace"))
	output := func(i int) string {
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("out.%d", i)))
		return string(b)
	}
	last := trace.last
	for i := 0; i <= last && i < len(blocks); i++ {
		b := blocks[i]
		if b.kind == "norun" {
			continue
		}
		if i == last && !trace.end {
			where, what := fmt.Sprintf("%s:%d", b.page, b.line), ""
			if trace.errLine > 0 {
				if w, ok := lineOf[trace.errLine]; ok {
					where = w
				}
				what = fmt.Sprintf("command %q exited with status %s\n", trace.errCmd, trace.errStatus)
			}
			t.Fatalf("%s: the block failed (%v)\n%soutput:\n%s\nbash:\n%s", where, runErr, what, indent(output(i)), indent(readFile(filepath.Join(dir, "bash.log"))))
		}
		if b.kind == "fails" && trace.rc[i] == "0" {
			t.Errorf("%s:%d: the block should fail but exited 0; output:\n%s", b.page, b.line, indent(output(i)))
		}
		for k := range b.expect {
			b.expect[k].text = mapAddrs(m, b.expect[k].text)
		}
		if miss, ok := matchOutput(b.expect, output(i)); !ok {
			t.Errorf("%s:%d: expected output line not found (command at %s:%d):\n    %s\noutput:\n%s", b.page, miss.line, b.page, b.line, miss.text, indent(output(i)))
		}
	}
	if !trace.end && last < 0 {
		t.Fatalf("the page did not run (%v):\n%s", runErr, readFile(filepath.Join(dir, "bash.log")))
	}
	t.Logf("%d blocks in %s", len(blocks), time.Since(start).Round(100*time.Millisecond))
}

type traceInfo struct {
	last                      int
	end                       bool
	rc                        map[int]string
	errLine                   int
	errStatus, errCmd         string
	errAfterLast, sawAnyBegin bool
}

func readTrace(t *testing.T, path string) traceInfo {
	ti := traceInfo{last: -1, rc: map[int]string{}}
	f, err := os.Open(path)
	if err != nil {
		return ti
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fs := strings.SplitN(sc.Text(), " ", 4)
		switch fs[0] {
		case "BEGIN":
			ti.last, _ = strconv.Atoi(fs[1])
			ti.errLine = 0
		case "RC":
			i, _ := strconv.Atoi(fs[1])
			ti.rc[i] = fs[2]
			ti.errLine = 0
		case "ERR":
			if len(fs) == 4 {
				ti.errLine, _ = strconv.Atoi(fs[1])
				ti.errStatus, ti.errCmd = fs[2], fs[3]
			}
		case "END":
			ti.end = true
		}
	}
	return ti
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 8000 {
		s = "…" + s[len(s)-8000:]
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
