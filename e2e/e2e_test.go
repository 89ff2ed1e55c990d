// Package e2e proves Slipway end to end with clients nobody here wrote: it builds the slipway
// binary once, starts a real server per test on a loopback port with a fresh data directory, and
//
//   - TestCLIStory runs testdata/cli_story.sh with the AWS CLI v2 (Debian's /usr/bin/aws),
//   - TestBoto3Story runs testdata/boto3_story.py with boto3 (Debian's /usr/bin/python3),
//
// through the model registry, IAM, STS, Organizations and SigV4 story, then checks the audit chain
// with `slipway audit verify`; TestRestartKeepsState restarts a server on its data directory
// (aws-sdk-go-v2); TestPresignedGetCallerIdentity checks query-string SigV4;
// TestDeleteGroupRacesCreate and TestAccessKeyLimitUnderConcurrency race writers on SQLite and on
// PostgreSQL; TestServersShareOnePostgres runs two servers on one database and a third with the
// wrong master key; TestFirstStartResumesAfterKill kills a first start after each of its steps.
// PostgreSQL tests take a database of their own on the server SLIPWAY_TEST_POSTGRES names (an
// admin DSN; scripts/test.sh starts one). A server that logs an error (level=ERROR) or a data
// race (under -race the servers are race-built) fails its test.
//
// Prerequisites (the tests fail, not skip, without them):
//
//	apt-get install awscli python3-boto3 curl postgresql

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slipwayBinary is the path of the slipway binary TestMain built for this test run.
var slipwayBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slipway-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	slipwayBinary = filepath.Join(dir, "slipway")
	// slipway-shim beside slipway: the servers supervise their jobs with it, which launches a
	// job several times faster than `slipway executor-shim` (see docs/executor.md).
	args := []string{"build", "-o", dir + "/"}
	if raceEnabled {
		args = append(args, "-race") // a data race in a server then fails its test (exit status 66)
	}
	build := exec.Command("go", append(args, "github.com/slipway-ml/slipway/cmd/slipway", "github.com/slipway-ml/slipway/cmd/slipway-shim")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot build slipway:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running slipway server process.
type server struct {
	URL     string // http://127.0.0.1:PORT
	DataDir string
	Creds   string // DataDir/credentials
	stop    func()
	kill    func() // SIGKILL, then wait: a crash, not a shutdown
}

// Stop stops the server (SIGTERM, then wait) and fails the test unless it exits cleanly. It is
// safe to call more than once; the test's cleanup calls it too.
func (s *server) Stop() { s.stop() }

// syncBuffer is a bytes.Buffer safe for the process's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts `slipway server` on a free loopback port with a fresh data directory; see
// startServerAt.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	return startServerAt(t, filepath.Join(t.TempDir(), "data"), extraArgs...)
}

// startServerAt starts `slipway server` on a free loopback port with dataDir, waits until
// /healthz answers 200 and the credentials file exists, and stops the server (SIGTERM, then
// wait) when the test ends. The server's stderr goes to the test log if the test failed.
func startServerAt(t *testing.T, dataDir string, extraArgs ...string) *server {
	t.Helper()
	return launch(t, dataDir, launchOptions{waitCredentials: true}, extraArgs...)
}

// launchOptions says how launch starts a server.
type launchOptions struct {
	waitCredentials bool     // wait for DataDir/credentials too (only the first server writes it)
	env             []string // added to the test's environment
	listen          string   // the address to listen on ("": a free port)
}

// launch starts `slipway server` as startServerAt says, with options.
func launch(t *testing.T, dataDir string, o launchOptions, extraArgs ...string) *server {
	t.Helper()
	addr := o.listen
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	args := append([]string{"server", "--data-dir", dataDir, "--listen", addr}, extraArgs...)
	cmd := exec.Command(slipwayBinary, args...)
	cmd.Env = append(os.Environ(), o.env...)
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start slipway: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("slipway server did not exit cleanly after SIGTERM: %v", err)
				}
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-exited
				t.Errorf("slipway server still running 15 s after SIGTERM; killed it")
			}
		})
	}
	t.Cleanup(func() {
		stop()
		// An internal error is a server bug whatever the client saw.
		var internal []string
		for _, line := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, "WARNING: DATA RACE") {
				internal = append(internal, line)
			}
		}
		if len(internal) > 0 {
			t.Errorf("the slipway server logged %d errors:\n%s", len(internal), strings.Join(internal, "\n"))
		}
		if t.Failed() {
			logTail(t, "slipway server ("+addr+") stderr", stderr.String(), 64<<10)
		}
	})

	kill := func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-exited
		})
	}
	s := &server{URL: "http://" + addr, DataDir: dataDir, Creds: filepath.Join(dataDir, "credentials"), stop: stop, kill: kill}
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case err := <-exited:
			once.Do(func() {})
			t.Fatalf("slipway server exited before it was ready (%v); stderr:\n%s", err, stderr.String())
		default:
		}
		// The port was free when freePort looked, but another process may take it before this
		// server binds it (the server binds only once its first start is done). Only this
		// server's own line says that it holds the port; until then /healthz may be another's.
		if strings.Contains(stderr.String(), "Slipway is listening on "+s.URL+"\n") && healthy(client, s.URL) {
			if _, err := os.Stat(s.Creds); err == nil || !o.waitCredentials {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("slipway server not ready (GET /healthz = 200 and %s written) within 60 s", s.Creds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func healthy(c *http.Client, base string) bool {
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// logTail logs the last max bytes of text under a heading.
func logTail(t *testing.T, heading, text string, max int) {
	if len(text) > max {
		text = "…" + text[len(text)-max:]
	}
	t.Logf("%s:\n%s", heading, text)
}

// requireExecutable fails the test unless path is an executable file.
func requireExecutable(t *testing.T, path, install string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("%s is required (%s): %v", path, install, err)
	}
}

// clientEnv is the environment for an AWS client talking to s: only what the clients need, so
// nothing from the developer's own AWS setup leaks in.
func clientEnv(t *testing.T, s *server) []string {
	home := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"TMPDIR=" + t.TempDir(),
		"SLIPWAY_ENDPOINT=" + s.URL,
		"AWS_SHARED_CREDENTIALS_FILE=" + s.Creds,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"AWS_CLI_AUTO_PROMPT=off",
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS=1",
	}
}

// runScript runs a story script, streaming its output into the test log line by line, and returns
// its combined output and exit error. It kills the script after timeout.
func runScript(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var out strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	start := time.Now()
	err := cmd.Run()
	pw.Close()
	<-done
	t.Logf("%s took %v", filepath.Base(args[len(args)-1]), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %v: %w", timeout, err)
	}
	return out.String(), err
}

// TestCLIStory runs testdata/cli_story.sh with the AWS CLI v2 against a fresh server.
func TestCLIStory(t *testing.T) {
	t.Parallel()
	requireExecutable(t, "/usr/bin/aws", "apt-get install awscli")
	requireExecutable(t, "/usr/bin/python3", "apt-get install python3-boto3")
	requireExecutable(t, "/usr/bin/curl", "apt-get install curl")
	s := startServer(t)
	script, err := filepath.Abs("testdata/cli_story.sh")
	if err != nil {
		t.Fatal(err)
	}
	env := append(clientEnv(t, s), "AWS=/usr/bin/aws", "PYTHON=/usr/bin/python3", "STORY_WORK="+t.TempDir())
	out, err := runScript(t, slowdown*240*time.Second, env, "/bin/bash", script)
	checkSummary(t, "cli_story.sh", out, err)
	if n := verifyAudit(t, s); n == 0 {
		t.Errorf("the audit trail holds no records after the CLI story")
	}
}

// TestBoto3Story runs testdata/boto3_story.py with Debian's boto3 against a fresh server.
func TestBoto3Story(t *testing.T) {
	t.Parallel()
	requireExecutable(t, "/usr/bin/python3", "apt-get install python3-boto3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import boto3, botocore").CombinedOutput(); err != nil {
		t.Fatalf("/usr/bin/python3 cannot import boto3 (apt-get install python3-boto3): %v\n%s", err, out)
	}
	s := startServer(t)
	script, err := filepath.Abs("testdata/boto3_story.py")
	if err != nil {
		t.Fatal(err)
	}
	out, err := runScript(t, slowdown*240*time.Second, clientEnv(t, s), "/usr/bin/python3", "-u", script)
	checkSummary(t, "boto3_story.py", out, err)
	m := regexp.MustCompile(`(?m)^successful API calls: (\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("boto3_story.py did not say how many calls succeeded")
	}
	succeeded, _ := strconv.Atoi(m[1])
	if records := verifyAudit(t, s); records < succeeded {
		t.Errorf("the audit trail holds %d records, fewer than the %d calls that succeeded: every call must be audited", records, succeeded)
	}
}

// verifyAudit stops s, runs `slipway audit verify` on its data directory and returns the number of
// records in the verified chain.
func verifyAudit(t *testing.T, s *server) int {
	t.Helper()
	s.Stop()
	out, err := exec.Command(slipwayBinary, "audit", "verify", "--data-dir", s.DataDir).CombinedOutput()
	if err != nil {
		t.Errorf("slipway audit verify: %v\n%s", err, out)
		return 0
	}
	m := regexp.MustCompile(`(\d+) records`).FindSubmatch(out)
	if m == nil {
		t.Errorf("slipway audit verify said %q; want \"… N records\"", out)
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	t.Logf("slipway audit verify: %s", bytes.TrimSpace(out))
	return n
}

var summaryLine = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)

// checkSummary fails the test unless the script exited 0 and its last summary line says that
// something passed and nothing failed.
func checkSummary(t *testing.T, name, out string, runErr error) {
	t.Helper()
	m := summaryLine.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		t.Fatalf("%s printed no \"N passed, N failed\" line (exit: %v)", name, runErr)
	}
	last := m[len(m)-1]
	passed, _ := strconv.Atoi(last[1])
	failed, _ := strconv.Atoi(last[2])
	if failed > 0 || passed == 0 {
		t.Errorf("%s: %d passed, %d failed; the failures are marked FAIL or ERROR above", name, passed, failed)
	}
	var exitErr *exec.ExitError
	if runErr != nil && !(errors.As(runErr, &exitErr) && failed > 0) {
		t.Errorf("%s: %v", name, runErr)
	}
}
