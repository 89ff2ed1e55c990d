package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// crashing is a server on one data directory that a test SIGKILLs and starts again, as a
// machine that loses power would: no shutdown, no drained work, whatever was in flight cut off.
// Each launch waits until the server answers, so a test's next call goes to a live server.
type crashing struct {
	t       *testing.T
	dataDir string
	opts    launchOptions // for every launch after the first
	args    []string
	*server
	kills int
}

// launchCrashing starts the first server on dataDir (waiting for its credentials file) and
// returns it; later launches (crash) use opts and args too.
func launchCrashing(t *testing.T, dataDir string, opts launchOptions, args ...string) *crashing {
	t.Helper()
	first := opts
	first.waitCredentials = true
	return &crashing{t: t, dataDir: dataDir, opts: opts, args: args, server: launch(t, dataDir, first, args...)}
}

// crash SIGKILLs the server, waits for it to die, and starts another on the same data
// directory.
func (c *crashing) crash() {
	c.t.Helper()
	c.server.kill()
	c.kills++
	c.server = launch(c.t, c.dataDir, c.opts, c.args...)
}

// config returns an SDK configuration for the current server as profile (of the credentials
// file the first server wrote).
func (c *crashing) config(profile string) aws.Config {
	c.t.Helper()
	return sdkConfig(c.URL, readProfile(c.t, c.Creds, profile))
}
