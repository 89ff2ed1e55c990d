// Package config holds the server's configuration: defaults, flags and validation.
package config

import (
	"flag"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
)

// Config configures a Slipway server.
type Config struct {
	DataDir  string // where the SQLite database, master key and credentials live
	Listen   string // host:port of the API
	Database string // "" = SQLite in DataDir; postgres://… = PostgreSQL
	OrgFile  string // YAML organization to create on first start; "" = the default organization
	Region   string // the region the API claims to be
	LogLevel string // debug | info | warn | error

	// MasterKeyFile names the file holding the master key (32 bytes, raw, hex or base64); ""
	// = DataDir/master.key, created on first start. Every server of one database needs the same
	// key.
	MasterKeyFile string
	// MasterKey is the master key itself (hex or base64), from SLIPWAY_MASTER_KEY only: a key on
	// a command line would show in the process list.
	MasterKey string

	// CrashAtBootstrapStep, from SLIPWAY_TEST_CRASH_AT_BOOTSTRAP_STEP, makes the server kill
	// itself (SIGKILL) right after step N of its first start commits: the crash test of the
	// resumable first start. 0 = never.
	CrashAtBootstrapStep int
}

// Default returns the embedded default configuration.
func Default() Config {
	return Config{
		DataDir:  "./slipway-data",
		Listen:   "127.0.0.1:9330",
		Region:   "us-east-1",
		LogLevel: "info",
	}
}

// RegisterFlags binds c's fields to flags of fs, with c's values as defaults. Environment
// variables SLIPWAY_DATA_DIR, SLIPWAY_LISTEN, SLIPWAY_DATABASE, SLIPWAY_ORG, SLIPWAY_REGION,
// SLIPWAY_LOG_LEVEL and SLIPWAY_MASTER_KEY_FILE override the defaults; SLIPWAY_MASTER_KEY (no
// flag) sets the key itself.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterDataFlags(fs)
	fs.StringVar(&c.Listen, "listen", env("SLIPWAY_LISTEN", c.Listen), "address the API listens on")
	fs.StringVar(&c.OrgFile, "org", env("SLIPWAY_ORG", c.OrgFile), "YAML file describing the organization to create on first start")
	fs.StringVar(&c.Region, "region", env("SLIPWAY_REGION", c.Region), "the region the API serves")
	fs.StringVar(&c.LogLevel, "log-level", env("SLIPWAY_LOG_LEVEL", c.LogLevel), "debug, info, warn or error")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("SLIPWAY_MASTER_KEY_FILE", c.MasterKeyFile),
		"file holding the master key that seals secrets (default DATA_DIR/master.key, created on first start); every server of one database needs the same key")
	c.MasterKey = env("SLIPWAY_MASTER_KEY", c.MasterKey)
	if n, err := strconv.Atoi(os.Getenv("SLIPWAY_TEST_CRASH_AT_BOOTSTRAP_STEP")); err == nil {
		c.CrashAtBootstrapStep = n
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
	if c.MasterKeyFile != "" {
		if c.MasterKeyFile, err = filepath.Abs(c.MasterKeyFile); err != nil {
			return errs.E(errs.Invalid, "--master-key-file: %v", err)
		}
	}
	return nil
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
