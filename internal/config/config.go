// Package config holds the server's configuration: defaults, flags and validation.
package config

import (
	"flag"
	"net"
	"os"
	"path/filepath"
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
// variables SLIPWAY_DATA_DIR, SLIPWAY_LISTEN, SLIPWAY_DATABASE, SLIPWAY_ORG, SLIPWAY_REGION
// override the defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return def
	}
	fs.StringVar(&c.DataDir, "data-dir", env("SLIPWAY_DATA_DIR", c.DataDir), "directory for the database, keys and credentials")
	fs.StringVar(&c.Listen, "listen", env("SLIPWAY_LISTEN", c.Listen), "address the API listens on")
	fs.StringVar(&c.Database, "database", env("SLIPWAY_DATABASE", c.Database), "PostgreSQL DSN (postgres://…); default SQLite in the data directory")
	fs.StringVar(&c.OrgFile, "org", env("SLIPWAY_ORG", c.OrgFile), "YAML file describing the organization to create on first start")
	fs.StringVar(&c.Region, "region", env("SLIPWAY_REGION", c.Region), "the region the API serves")
	fs.StringVar(&c.LogLevel, "log-level", env("SLIPWAY_LOG_LEVEL", c.LogLevel), "debug, info, warn or error")
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
	return nil
}

// DatabaseDSN returns the store DSN: the PostgreSQL DSN, or the SQLite file in the data dir.
func (c *Config) DatabaseDSN() string {
	if c.Database != "" {
		return c.Database
	}
	return filepath.Join(c.DataDir, "slipway.db")
}
