package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/internal/atomicfile"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/org"
	"github.com/slipway-ml/slipway/internal/randid"
	"github.com/slipway-ml/slipway/internal/store"
)

// masterKey returns the master key the configuration names: SLIPWAY_MASTER_KEY, the file of
// --master-key-file, or DATA_DIR/master.key. The last is created (32 random bytes, mode 0600)
// only when the database has no key yet: a server joining a database that another server created
// must be given that server's key, not a new one. It also says where the key came from.
func masterKey(ctx context.Context, cfg config.Config, st *store.Store) (key []byte, source string, err error) {
	switch {
	case cfg.MasterKey != "":
		key, err = parseMasterKey([]byte(cfg.MasterKey))
		return key, "SLIPWAY_MASTER_KEY", err
	case cfg.MasterKeyFile != "":
		data, err := os.ReadFile(cfg.MasterKeyFile)
		if err != nil {
			return nil, "", errs.E(errs.Invalid, "cannot read the master key file: %v", err)
		}
		key, err = parseMasterKey(data)
		if err != nil {
			return nil, "", errs.E(errs.Invalid, "%s: %s", cfg.MasterKeyFile, errs.Message(err))
		}
		return key, cfg.MasterKeyFile, nil
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	data, err := os.ReadFile(path)
	if err == nil {
		key, err = parseMasterKey(data)
		if err != nil {
			return nil, "", errs.E(errs.Invalid, "%s: %s", path, errs.Message(err))
		}
		return key, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", errs.E(errs.Internal, "cannot read the master key", err)
	}
	if check, err := st.State(ctx, stateKeyCheck); err != nil {
		return nil, "", err
	} else if check != "" {
		return nil, "", errs.E(errs.Invalid, "this database was created by another Slipway server and this server has no master key: "+
			"give it the first server's key (that server's DATA_DIR/master.key, or the file its --master-key-file names) "+
			"with --master-key-file FILE or SLIPWAY_MASTER_KEY_FILE=FILE")
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, "", errs.E(errs.Internal, "cannot make a master key", err)
	}
	if err := atomicfile.Write(path, key, 0o600); err != nil {
		return nil, "", err
	}
	return key, path, nil
}

// parseMasterKey reads a master key: 32 raw bytes, or 64 hex digits, or base64 of 32 bytes
// (white space around the text form is ignored, so `openssl rand -hex 32 > key` makes one).
func parseMasterKey(data []byte) ([]byte, error) {
	if len(data) == 32 {
		return data, nil
	}
	text := strings.TrimSpace(string(data))
	if k, err := hex.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errs.E(errs.Invalid, "a master key is 32 bytes: raw, 64 hex digits or base64 (make one with: openssl rand -hex 32)")
}

// The names under which servers of one database record what they agree on.
const (
	stateKeyCheck      = "master_key_check" // derive(key, "key check"), hex
	stateBootstrap     = "bootstrap"        // "done" once the organization and credentials exist
	stateBootstrapper  = "bootstrap_owner"  // the id of the server that creates the organization
	stateBootstrapSpec = "bootstrap_spec"   // the organization it creates, JSON
)

// checkMasterKey records the key's check value in a database that has none, and refuses a key
// whose check value differs from the recorded one: such a server could open no secret.
func checkMasterKey(ctx context.Context, st *store.Store, key []byte, source string) error {
	mine := hex.EncodeToString(derive(key, "key check")[:16])
	recorded, err := st.ClaimState(ctx, stateKeyCheck, mine)
	if err != nil {
		return err
	}
	if recorded != mine {
		return errs.E(errs.Invalid, "the master key from %s is not the key this database's secrets are sealed with: "+
			"every server of one database needs the same key. Start this server with the first server's key "+
			"(its DATA_DIR/master.key, or the file its --master-key-file names): --master-key-file FILE or SLIPWAY_MASTER_KEY_FILE=FILE", source)
	}
	return nil
}

// serverID returns this server's id, kept in DATA_DIR/server.id (made on first start): it tells
// the server that creates the organization from the others.
func serverID(dir string) (string, error) {
	path := filepath.Join(dir, "server.id")
	data, err := os.ReadFile(path)
	if err == nil && len(bytes.TrimSpace(data)) > 0 {
		return string(bytes.TrimSpace(data)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", errs.E(errs.Internal, "cannot read the server id", err)
	}
	id := randid.UUID()
	if err := atomicfile.Write(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
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

// bootstrap makes sure the organization exists and, on the server that created it, that the
// credentials file does. It is a sequence of idempotent steps, each committed before the next:
// claim the bootstrap (one server per database wins; the others wait for it to finish), record
// the organization spec, create or complete the organization and every account's admin, write
// the credentials file, record "done". A server killed anywhere in between runs it again on its
// next start and completes it; a missing credentials file is written again, with the admins'
// secrets unsealed from the store (or new keys, said so in the log, when they cannot be).
func (a *App) bootstrap(ctx context.Context) error {
	state, err := a.Store.State(ctx, stateBootstrap)
	if err != nil {
		return err
	}
	id, err := serverID(a.cfg.DataDir)
	if err != nil {
		return err
	}
	a.step("server id")
	owner, err := a.Store.ClaimState(ctx, stateBootstrapper, id)
	if err != nil {
		return err
	}
	if state == "done" {
		if owner != id {
			return nil // another server created the organization and holds its credentials file
		}
		if _, err := os.Stat(a.CredentialsPath()); err == nil {
			return nil
		}
		a.log.Warn("the credentials file is missing; writing it again", "path", a.CredentialsPath())
	} else if owner != id {
		return a.awaitBootstrap(ctx, owner)
	} else {
		a.step("bootstrap claimed")
	}
	spec, err := a.bootstrapSpec(ctx)
	if err != nil {
		return err
	}
	accounts, err := a.Org.Bootstrap(ctx, spec, a.step)
	if err != nil {
		return fmt.Errorf("cannot create the organization: %w", err)
	}
	mgmt := accounts[0].ID
	profiles := make([]credfile.Profile, len(accounts))
	for i, acct := range accounts {
		c, err := a.Identity.BootstrapAccount(ctx, acct.ID, mgmt, a.step)
		if err != nil {
			return fmt.Errorf("cannot create the admin of account %s: %w", acct.Name, err)
		}
		if c.Reissued {
			a.log.Warn("the admin's secret could not be recovered; issued a new access key", "account", acct.Name, "access_key_id", c.Key.ID)
		}
		profiles[i] = credfile.Profile{Name: acct.Name, Account: acct.ID, AccessKeyID: c.Key.ID,
			SecretAccessKey: c.Key.Secret, Region: a.cfg.Region, EndpointURL: a.cfg.EndpointURL()}
	}
	var b bytes.Buffer
	header := "Slipway credentials: one profile per account, for the admin user of each.\n" +
		"Use with: aws --endpoint-url " + a.cfg.EndpointURL() + " --profile NAME …\n" +
		"(endpoint_url below is read by the AWS CLI v2 >= 2.13 and botocore >= 1.31; older clients need --endpoint-url.)"
	if err := credfile.Encode(&b, header, profiles); err != nil {
		return err
	}
	path := a.CredentialsPath()
	if err := atomicfile.Write(path, b.Bytes(), 0o600); err != nil {
		return err
	}
	a.step("credentials file")
	if state != "done" {
		if err := a.Store.SetState(ctx, stateBootstrap, "done"); err != nil {
			return err
		}
		a.step("bootstrap done")
		a.log.Info("created the organization", "accounts", len(accounts), "credentials", path)
	}
	return nil
}

// bootstrapSpec returns the organization the bootstrap creates: the one recorded by the first
// attempt, so a resumed first start completes that organization whatever --org now says.
func (a *App) bootstrapSpec(ctx context.Context) (org.Spec, error) {
	if recorded, err := a.Store.State(ctx, stateBootstrapSpec); err != nil || recorded != "" {
		var was org.Spec
		if err == nil && json.Unmarshal([]byte(recorded), &was) != nil {
			err = errs.E(errs.Internal, "cannot decode the recorded organization spec")
		}
		return was, err
	}
	spec := org.DefaultSpec()
	if a.cfg.OrgFile != "" {
		var err error
		if spec, err = LoadOrgSpec(a.cfg.OrgFile); err != nil {
			return org.Spec{}, err
		}
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return org.Spec{}, errs.E(errs.Internal, "cannot encode the organization spec", err)
	}
	recorded, err := a.Store.ClaimState(ctx, stateBootstrapSpec, string(data))
	if err != nil {
		return org.Spec{}, err
	}
	if recorded == string(data) {
		a.step("organization spec")
		return spec, nil
	}
	var was org.Spec
	if err := json.Unmarshal([]byte(recorded), &was); err != nil {
		return org.Spec{}, errs.E(errs.Internal, "cannot decode the recorded organization spec", err)
	}
	return was, nil
}

// awaitBootstrap waits for the server that claimed the bootstrap to finish it.
func (a *App) awaitBootstrap(ctx context.Context, owner string) error {
	a.log.Info("waiting for the server creating the organization", "server_id", owner)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		state, err := a.Store.State(ctx, stateBootstrap)
		if err != nil || state == "done" {
			return err
		}
		if time.Now().After(deadline) {
			return errs.E(errs.Unavailable, "the organization is not created yet: server %s claimed its creation and has not finished; "+
				"start that server (its data directory holds server.id %s) again so it completes", owner, owner)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// step marks the end of one step of the first start. With CrashAtBootstrapStep it kills the
// process there, as a power cut would (no deferred function runs, nothing is flushed).
func (a *App) step(what string) {
	a.steps++
	a.log.Debug("first start", "step", a.steps, "done", what)
	if a.steps == a.cfg.CrashAtBootstrapStep {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
