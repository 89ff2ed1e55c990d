package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-ml/slipway/internal/credfile"
)

// TestFirstStartResumesAfterKill kills the first start of a server right after each of its steps
// in turn (SLIPWAY_TEST_CRASH_AT_BOOTSTRAP_STEP makes the process SIGKILL itself there), starts
// it again on the same data directory, and checks that the organization works: three accounts,
// no duplicates, every profile of the credentials file authenticates and its admin may write.
// It goes on until a start outlives its crash point (all steps done), and requires at least 10.
// Finally it deletes the credentials file of a running organization: the next start writes it
// again with the same keys, their secrets unsealed from the store.
func TestFirstStartResumesAfterKill(t *testing.T) {
	t.Parallel()
	const parallel = 4
	var (
		mu       sync.Mutex
		lastStep = 1 << 30 // the first step at which the process no longer crashed
	)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for step := 1; step <= 60; step++ {
		mu.Lock()
		past := step > lastStep
		mu.Unlock()
		if past {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.Run(fmt.Sprintf("step%02d", step), func(t *testing.T) {
				dataDir := filepath.Join(t.TempDir(), "data")
				crashed, out := crashAt(t, dataDir, step)
				if !crashed {
					mu.Lock()
					lastStep = min(lastStep, step)
					mu.Unlock()
					return
				}
				if strings.Contains(out, "level=ERROR") {
					t.Errorf("the crashed start logged an error:\n%s", out)
				}
				s := startServerAt(t, dataDir)
				checkOrganization(t, s)
			})
		}()
	}
	wg.Wait()
	if lastStep < 11 {
		t.Fatalf("the first start has %d steps; the test needs at least 10 crash points", lastStep-1)
	}
	if lastStep == 1<<30 {
		t.Fatal("every start crashed: the crash hook never stopped firing")
	}
	t.Logf("killed the first start after each of its %d steps; each restart repaired it", lastStep-1)

	t.Run("missing credentials", func(t *testing.T) {
		dataDir := filepath.Join(t.TempDir(), "data")
		s := startServerAt(t, dataDir)
		before, err := credfile.ReadFile(s.Creds)
		if err != nil {
			t.Fatal(err)
		}
		s.Stop()
		if err := os.Remove(s.Creds); err != nil {
			t.Fatal(err)
		}
		s = startServerAt(t, dataDir)
		after, err := credfile.ReadFile(s.Creds)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range before {
			// The endpoint follows the address the new server listens on; the keys stay.
			p.EndpointURL = s.URL
			if after[name] != p {
				t.Errorf("profile %s written again as %+v; want the same key %+v", name, after[name], p)
			}
		}
		checkOrganization(t, s)
	})
}

// crashAt runs a first start that kills itself after step and reports whether it did; a start
// that outlives its crash point is stopped.
func crashAt(t *testing.T, dataDir string, step int) (crashed bool, output string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.CommandContext(ctx, slipwayBinary, "server", "--data-dir", dataDir, "--listen", addr, "--log-level", "debug")
	cmd.Env = append(os.Environ(), fmt.Sprintf("SLIPWAY_TEST_CRASH_AT_BOOTSTRAP_STEP=%d", step))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		select {
		case err := <-exited:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
					return true, out.String()
				}
			}
			t.Fatalf("the start with a crash at step %d ended with %v, not SIGKILL:\n%s", step, err, out.String())
		case <-time.After(50 * time.Millisecond):
			if strings.Contains(out.String(), "msg=serving") {
				cmd.Process.Signal(syscall.SIGTERM)
				<-exited
				return false, out.String()
			}
		}
	}
}

// checkOrganization checks that the default organization of a server is whole and usable.
func checkOrganization(t *testing.T, s *server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	profiles, err := credfile.ReadFile(s.Creds)
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != 3 {
		t.Fatalf("the credentials file has %d profiles, want 3", len(profiles))
	}
	for name, p := range profiles {
		c := sdkConfig(s.URL, aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey})
		who, err := sts.NewFromConfig(c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || *who.Account != p.Account {
			t.Fatalf("profile %s: GetCallerIdentity = %v, %v; want account %s", name, who, err, p.Account)
		}
		if _, err := sagemaker.NewFromConfig(c).CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("after-crash")}); err != nil {
			t.Fatalf("profile %s cannot write: %v", name, err)
		}
	}
	ds := profiles["data-science"]
	orgs := organizations.NewFromConfig(sdkConfig(s.URL, aws.Credentials{AccessKeyID: ds.AccessKeyID, SecretAccessKey: ds.SecretAccessKey}))
	accts, err := orgs.ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, a := range accts.Accounts {
		names[*a.Name]++
	}
	if len(accts.Accounts) != 3 || names["data-science"] != 1 || names["staging"] != 1 || names["production"] != 1 {
		t.Errorf("the organization's accounts are %v; want data-science, staging, production once each", names)
	}
	roots, err := orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ous, err := orgs.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	if err != nil || len(ous.OrganizationalUnits) != 2 {
		t.Errorf("the root holds %d OUs (%v); want staging and production", len(ous.OrganizationalUnits), err)
	}
}
