package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
	"github.com/slipway-ml/slipway/internal/org"
)

// loadMasterKey reads DATA_DIR/master.key, creating it (32 random bytes, mode 0600) on first start.
func loadMasterKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "master.key")
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, errs.E(errs.Invalid, "%s holds %d bytes; a master key is 32 bytes", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, errs.E(errs.Internal, "cannot read the master key", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, errs.E(errs.Internal, "cannot make a master key", err)
	}
	if err := atomicfile.Write(path, key, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// LoadOrgSpec reads an organization YAML file.
//
//	management: {name: data-science, id: "111111111111"}
//	units:
//	  - name: staging
//	    accounts: [{name: staging-a}, {name: staging-b}]
//	  - name: production
//	    accounts: [{name: production}]
func LoadOrgSpec(path string) (org.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return org.Spec{}, errs.E(errs.Invalid, "cannot read the organization file: %v", err)
	}
	var spec org.Spec
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return org.Spec{}, errs.E(errs.Invalid, "%s: %v", path, err)
	}
	if spec.Management.Name == "" {
		return org.Spec{}, errs.E(errs.Invalid, "%s: management.name is required", path)
	}
	if err := spec.Validate(); err != nil {
		return org.Spec{}, errs.E(errs.Invalid, "%s: %s", path, errs.Message(err))
	}
	return spec, nil
}

// bootstrap creates the organization and every account's admin credentials, then writes the
// shared-credentials file. It runs only when the store holds no organization.
func (a *App) bootstrap(ctx context.Context, spec org.Spec) error {
	accounts, err := a.Org.Bootstrap(ctx, spec)
	if err != nil {
		return fmt.Errorf("cannot create the organization: %w", err)
	}
	mgmt := accounts[0].ID
	var creds []identity.AccountCredentials
	for _, acct := range accounts {
		c, err := a.Identity.BootstrapAccount(ctx, acct.ID, mgmt)
		if err != nil {
			return fmt.Errorf("cannot create the admin of account %s: %w", acct.Name, err)
		}
		creds = append(creds, c)
	}
	profiles := make([]credfile.Profile, len(accounts))
	for i, acct := range accounts {
		profiles[i] = credfile.Profile{Name: acct.Name, Account: acct.ID, AccessKeyID: creds[i].Key.ID,
			SecretAccessKey: creds[i].Key.Secret, Region: a.cfg.Region}
	}
	var b bytes.Buffer
	header := "Slipway credentials: one profile per account, for the admin user of each.\n" +
		"Use with: aws --endpoint-url http://" + a.cfg.Listen + " --profile NAME …"
	if err := credfile.Encode(&b, header, profiles); err != nil {
		return err
	}
	path := a.CredentialsPath()
	if err := atomicfile.Write(path, b.Bytes(), 0o600); err != nil {
		return err
	}
	a.log.Info("created the organization", "accounts", len(accounts), "credentials", path)
	return nil
}
