package app_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// TestMasterKeyIsCheckedAgainstTheDatabase opens one PostgreSQL database as a server with a key file,
// then as servers given the same key in every accepted form (they start) and as servers with
// another key or none (they refuse, saying which flag gives the key).
func TestMasterKeyIsCheckedAgainstTheDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := []byte("0123456789abcdef0123456789abcdef")
	keyFile := filepath.Join(dir, "shared.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := storetest.PostgresDSN(t)
	open := func(dataDir string, set func(*config.Config)) (*app.App, error) {
		cfg := config.Default()
		cfg.DataDir = filepath.Join(dir, dataDir)
		cfg.Database = dsn
		set(&cfg)
		a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
		if a != nil {
			a.Close()
		}
		return a, err
	}
	first := func(c *config.Config) { c.MasterKeyFile = keyFile }
	if _, err := open("first", first); err != nil {
		t.Fatal(err)
	}
	if _, err := credfile.ReadFile(filepath.Join(dir, "first", "credentials")); err != nil {
		t.Fatalf("the first server wrote no credentials: %v", err)
	}
	hexFile := filepath.Join(dir, "hex.key")
	os.WriteFile(hexFile, []byte(hex.EncodeToString(key)+"\n"), 0o600)
	for name, set := range map[string]func(*config.Config){
		"same file":      first,
		"hex file":       func(c *config.Config) { c.MasterKeyFile = hexFile },
		"base64 env":     func(c *config.Config) { c.MasterKey = base64.StdEncoding.EncodeToString(key) },
		"hex env":        func(c *config.Config) { c.MasterKey = hex.EncodeToString(key) },
		"surrounding ws": func(c *config.Config) { c.MasterKey = "  " + hex.EncodeToString(key) + "\n" },
	} {
		t.Run(name, func(t *testing.T) {
			dd := "same-" + strings.ReplaceAll(name, " ", "-")
			if _, err := open(dd, set); err != nil {
				t.Fatalf("a server with the same key refused to start: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, dd, "credentials")); err == nil {
				t.Errorf("a server that did not create the organization wrote a credentials file")
			}
		})
	}
	for name, set := range map[string]func(*config.Config){
		"another key": func(c *config.Config) { c.MasterKey = strings.Repeat("ab", 32) },
		"no key":      func(c *config.Config) {},
		"short key":   func(c *config.Config) { c.MasterKey = "abcd" },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := open("other-"+strings.ReplaceAll(name, " ", "-"), set)
			if err == nil {
				t.Fatal("the server started")
			}
			if !strings.Contains(err.Error(), "master key") || (name != "short key" && !strings.Contains(err.Error(), "--master-key-file")) {
				t.Errorf("the refusal does not say what to do: %v", err)
			}
		})
	}
}
