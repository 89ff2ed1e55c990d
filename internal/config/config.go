// Package config holds the server's configuration: defaults, flags and validation.
package config

import (
	"bytes"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/images"
)

// Config configures a Slipway server.
type Config struct {
	DataDir  string // where the SQLite database, master key and credentials live
	Listen   string // host:port of the API
	Database string // "" = SQLite in DataDir; postgres://… = PostgreSQL
	OrgFile  string // YAML organization to create on first start; "" = the default organization
	Region   string // the region the API claims to be
	LogLevel string // debug | info | warn | error
	// Blob is where object bytes live: "" or "file:" = files under DataDir/blobs;
	// "s3://bucket/prefix?endpoint=…&region=…" = an S3-compatible store.
	Blob string

	// MasterKeyFile names the file holding the master key (32 bytes, raw, hex or base64); ""
	// = DataDir/master.key, created on first start. Every server of one database needs the same
	// key.
	MasterKeyFile string
	// MasterKey is the master key itself (hex or base64), from SLIPWAY_MASTER_KEY only: a key on
	// a command line would show in the process list.
	MasterKey string

	// JobProxyListen is the loopback host:port of the HTTPS proxy that lets SDKs too old to read
	// AWS_ENDPOINT_URL, inside jobs, reach this server (port 0: any free port); "off" = none.
	JobProxyListen string
	// JobCredentialsTTL is how long the sessions handed to jobs last (0 = one hour). A test
	// knob (no flag): tests shorten it to see SDKs refresh.
	JobCredentialsTTL time.Duration
	// SlipwayBinary is the program the built-in images run (`slipway container …`) and, with
	// ExecutorShim empty, the jobs' supervisor (`slipway executor-shim`); "" = this executable.
	// No flag: tests that run in a test binary point it at a built slipway.
	SlipwayBinary string
	// ExecutorShim overrides the command that supervises each job (see executor/local).
	ExecutorShim []string

	// ImagesFile names a YAML file whose `images:` list maps container image URIs to local
	// commands (images.Mapping: image pattern, command, env); "" = the built-in images only.
	ImagesFile string
	// Python is the interpreter that runs script-mode jobs (SageMaker's scikit-learn image, the
	// XGBoost image with sagemaker_program or a ContainerEntrypoint).
	Python string
	// Images are the mappings read from ImagesFile by Validate.
	Images []images.Mapping

	// LambdasFile names a YAML file whose `lambdas:` list maps Lambda function ARNs to the local
	// commands pipelines' Lambda steps run (docs/pipelines.md); Lambdas is what Validate read.
	LambdasFile string
	Lambdas     []LambdaFunction
	// WebhookAllow lists where API destinations may call (CIDRs, addresses, host names,
	// *.domain), comma-separated; "" = nowhere. Parsed by package egress when the server starts.
	WebhookAllow string
	// CallbackTimeout is how long a pipeline's Callback step waits for its answer (0 = 7 days).
	CallbackTimeout time.Duration
	// AuditWindow is how long allowed invocations (the data plane) are counted before their
	// aggregates are appended to the audit trail, one record per distinct call (audit.Aggregator):
	// what a killed server can lose of their counts. 0 = one record per invocation, as for
	// every other call.
	AuditWindow time.Duration

	// CrashAtBootstrapStep, from SLIPWAY_TEST_CRASH_AT_BOOTSTRAP_STEP, makes the server kill
	// itself (SIGKILL) right after step N of its first start commits: the crash test of the
	// resumable first start. 0 = never.
	CrashAtBootstrapStep int
	// ReconcileLeaseTTL, from SLIPWAY_TEST_RECONCILE_LEASE_TTL (a Go duration), shortens the
	// reconcile runtimes' leases (default 30 s) so that a crash test's restarted server takes
	// over a killed one's work within seconds. 0 = the default. No flag: a short lease only
	// suits one server on a quiet machine.
	ReconcileLeaseTTL time.Duration
}

// Default returns the embedded default configuration.
func Default() Config {
	return Config{
		DataDir:  "./slipway-data",
		Listen:   "127.0.0.1:9330",
		Region:   "us-east-1",
		LogLevel: "info",

		JobProxyListen: "127.0.0.1:0",
		Python:         images.DefaultPython,
		AuditWindow:    time.Second,
	}
}

// RegisterFlags binds c's fields to flags of fs, with c's values as defaults. Environment
// variables SLIPWAY_DATA_DIR, SLIPWAY_LISTEN, SLIPWAY_DATABASE, SLIPWAY_ORG, SLIPWAY_REGION,
// SLIPWAY_LOG_LEVEL, SLIPWAY_MASTER_KEY_FILE, SLIPWAY_IMAGES and SLIPWAY_PYTHON override the defaults; SLIPWAY_MASTER_KEY (no
// flag) sets the key itself.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterDataFlags(fs)
	fs.StringVar(&c.Blob, "blob", env("SLIPWAY_BLOB", c.Blob), "where object bytes live: file: (default, under the data directory) or s3://bucket/prefix?endpoint=…&region=…")
	fs.StringVar(&c.Listen, "listen", env("SLIPWAY_LISTEN", c.Listen), "address the API listens on")
	fs.StringVar(&c.OrgFile, "org", env("SLIPWAY_ORG", c.OrgFile), "YAML file describing the organization to create on first start")
	fs.StringVar(&c.Region, "region", env("SLIPWAY_REGION", c.Region), "the region the API serves")
	fs.StringVar(&c.LogLevel, "log-level", env("SLIPWAY_LOG_LEVEL", c.LogLevel), "debug, info, warn or error")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("SLIPWAY_MASTER_KEY_FILE", c.MasterKeyFile),
		"file holding the master key that seals secrets (default DATA_DIR/master.key, created on first start); every server of one database needs the same key")
	fs.StringVar(&c.JobProxyListen, "job-proxy-listen", env("SLIPWAY_JOB_PROXY_LISTEN", c.JobProxyListen),
		`loopback address of the HTTPS proxy that lets old SDKs inside jobs reach this server ("off": none)`)
	fs.StringVar(&c.ImagesFile, "images", env("SLIPWAY_IMAGES", c.ImagesFile), "YAML file mapping container images to local commands (its `images:` list; see docs/images.md)")
	fs.StringVar(&c.LambdasFile, "lambdas", env("SLIPWAY_LAMBDAS", c.LambdasFile), "YAML file mapping Lambda function ARNs to local commands for pipelines' Lambda steps (its `lambdas:` list; see docs/pipelines.md)")
	fs.StringVar(&c.WebhookAllow, "webhook-allow", env("SLIPWAY_WEBHOOK_ALLOW", c.WebhookAllow),
		"comma-separated CIDRs, addresses and host names (*.example.com) EventBridge API destinations may call; empty: none (see docs/event-rules.md)")
	fs.DurationVar(&c.CallbackTimeout, "callback-timeout", c.CallbackTimeout, "how long a pipeline's Callback step waits for its answer (0: 7 days)")
	fs.StringVar(&c.Python, "python", env("SLIPWAY_PYTHON", c.Python), "the Python interpreter of script-mode jobs")
	fs.DurationVar(&c.AuditWindow, "audit-window", c.AuditWindow,
		"how long allowed invocations are counted before their aggregate audit records are appended (at most what a killed server loses of them); 0: one record per invocation")
	c.MasterKey = env("SLIPWAY_MASTER_KEY", c.MasterKey)
	if n, err := strconv.Atoi(os.Getenv("SLIPWAY_TEST_CRASH_AT_BOOTSTRAP_STEP")); err == nil {
		c.CrashAtBootstrapStep = n
	}
	if d, err := time.ParseDuration(os.Getenv("SLIPWAY_TEST_RECONCILE_LEASE_TTL")); err == nil && d > 0 {
		c.ReconcileLeaseTTL = d
	}
}

// RegisterDataFlags binds only where the data is (--data-dir, --database, and their
// environment variables): the flags of offline commands, which read a database without serving.
func (c *Config) RegisterDataFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", env("SLIPWAY_DATA_DIR", c.DataDir), "directory for the database, keys and credentials")
	fs.StringVar(&c.Database, "database", env("SLIPWAY_DATABASE", c.Database), "PostgreSQL DSN (postgres://…); default SQLite in the data directory")
}

// env returns the environment variable name, or def when it is not set.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// Validate checks the configuration and fills derived values.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errs.E(errs.Invalid, "--data-dir must not be empty")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return errs.E(errs.Invalid, "--data-dir %q: %v", c.DataDir, err)
	}
	c.DataDir = abs
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return errs.E(errs.Invalid, "--listen %q must be host:port: %v", c.Listen, err)
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return errs.E(errs.Invalid, "--database must be a postgres:// DSN (leave it empty for SQLite)")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return errs.E(errs.Invalid, "--log-level %q must be debug, info, warn or error", c.LogLevel)
	}
	if c.Region == "" {
		return errs.E(errs.Invalid, "--region must not be empty")
	}
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		return errs.E(errs.Invalid, "--master-key-file and SLIPWAY_MASTER_KEY are both set; give the key one way")
	}
	if c.JobProxyListen != "off" {
		host, _, err := net.SplitHostPort(c.JobProxyListen)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return errs.E(errs.Invalid, "--job-proxy-listen %q must be a loopback host:port (e.g. 127.0.0.1:0) or off", c.JobProxyListen)
		}
	}
	if c.JobCredentialsTTL < 0 || c.JobCredentialsTTL > 12*time.Hour {
		return errs.E(errs.Invalid, "the job credentials' lifetime %v must be at most 12 h", c.JobCredentialsTTL)
	}
	if c.MasterKeyFile != "" {
		if c.MasterKeyFile, err = filepath.Abs(c.MasterKeyFile); err != nil {
			return errs.E(errs.Invalid, "--master-key-file: %v", err)
		}
	}
	if c.Python == "" {
		c.Python = images.DefaultPython
	}
	if !filepath.IsAbs(c.Python) {
		return errs.E(errs.Invalid, "--python %q must be an absolute path", c.Python)
	}
	if c.ImagesFile != "" {
		m, err := ReadImages(c.ImagesFile)
		if err != nil {
			return err
		}
		c.Images = m
	}
	if c.LambdasFile != "" {
		if c.Lambdas, err = ReadLambdas(c.LambdasFile); err != nil {
			return err
		}
	}
	if c.AuditWindow < 0 || c.AuditWindow > time.Hour {
		return errs.E(errs.Invalid, "--audit-window %v must be between 0 and 1h", c.AuditWindow)
	}
	if c.CallbackTimeout < 0 {
		return errs.E(errs.Invalid, "--callback-timeout %v must not be negative", c.CallbackTimeout)
	}
	return nil
}

// ReadImages reads the `images:` list of a YAML file, validating every mapping.
func ReadImages(path string) ([]images.Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.E(errs.Invalid, "--images %s: %v", path, err)
	}
	var doc struct {
		Images []images.Mapping `yaml:"images"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, errs.E(errs.Invalid, "--images %s: want a YAML document with an images: list of {image, command, env}: %v", path, err)
	}
	for i, m := range doc.Images {
		if err := m.Validate(); err != nil {
			return nil, errs.E(errs.Invalid, "--images %s: entry %d: %v", path, i+1, err)
		}
	}
	return doc.Images, nil
}

// EndpointURL is the URL clients on this machine reach the API at: the --listen address, with
// a wildcard host (0.0.0.0, ::, empty) replaced by 127.0.0.1. "" when the port is chosen at
// listen time (port 0).
func (c *Config) EndpointURL() string {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "0" {
		return ""
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// StoreHint says which flag chooses the store, for errors about opening it.
func (c *Config) StoreHint() string {
	if c.Database != "" {
		return "check --database (SLIPWAY_DATABASE)"
	}
	return "is --data-dir (SLIPWAY_DATA_DIR) the data directory you meant, and writable?"
}

// DatabaseDSN returns the store DSN: the PostgreSQL DSN, or the SQLite file in the data dir.
func (c *Config) DatabaseDSN() string {
	if c.Database != "" {
		return c.Database
	}
	return filepath.Join(c.DataDir, "slipway.db")
}
