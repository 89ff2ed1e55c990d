package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEndpointURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:9330": "http://127.0.0.1:9330",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		":9330":          "http://127.0.0.1:9330",
		"[::]:9330":      "http://127.0.0.1:9330",
		"[::1]:9330":     "http://[::1]:9330",
		"host.lan:9330":  "http://host.lan:9330",
		"127.0.0.1:0":    "",
	} {
		c := Config{Listen: listen}
		if got := c.EndpointURL(); got != want {
			t.Errorf("EndpointURL(%q) = %q, want %q", listen, got, want)
		}
	}
}

func TestDefaultsFlagsAndValidation(t *testing.T) {
	t.Setenv("SLIPWAY_LISTEN", "127.0.0.1:9999")
	t.Setenv("SLIPWAY_MASTER_KEY_FILE", "shared.key")
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--data-dir", "d"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.MasterKeyFile != filepath.Join(filepath.Dir(c.DataDir), "shared.key") || !filepath.IsAbs(c.DataDir) || c.DatabaseDSN() != filepath.Join(c.DataDir, "slipway.db") {
		t.Errorf("config = %+v", c)
	}
	for name, mutate := range map[string]func(*Config){
		"empty data dir":  func(c *Config) { c.DataDir = "" },
		"bad listen":      func(c *Config) { c.Listen = "9330" },
		"bad database":    func(c *Config) { c.Database = "mysql://x" },
		"bad log level":   func(c *Config) { c.LogLevel = "loud" },
		"empty region":    func(c *Config) { c.Region = "" },
		"two keys":        func(c *Config) { c.MasterKey, c.MasterKeyFile = "00", "key" },
		"relative python": func(c *Config) { c.Python = "python3" },
		"missing images":  func(c *Config) { c.ImagesFile = "/nonexistent/images.yaml" },
	} {
		t.Run(name, func(t *testing.T) {
			c := Default()
			mutate(&c)
			if err := c.Validate(); err == nil {
				t.Error("Validate accepted it")
			} else if !strings.Contains(err.Error(), "--") {
				t.Errorf("error %q does not name the flag", err)
			}
		})
	}
}

func TestImagesFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "images.yaml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := Default()
	c.ImagesFile = write("images:\n  - image: \"123456789012.dkr.ecr.*.amazonaws.com/mine:*\"\n    command: [/usr/local/bin/mine, --x]\n    env: {A: \"1\"}\n")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Images) != 1 || c.Images[0].Command[1] != "--x" || c.Images[0].Env["A"] != "1" {
		t.Errorf("images = %+v", c.Images)
	}
	for _, bad := range []string{
		"images:\n  - image: x\n    command: [relative]\n",
		"images:\n  - image: x\n    cmd: [/bin/x]\n",
		"images: {}\n",
	} {
		c := Default()
		c.ImagesFile = write(bad)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--images") {
			t.Errorf("%q: Validate = %v", bad, err)
		}
	}
}
