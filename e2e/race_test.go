package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create a database per test
)

// freshPostgres creates a database on the server of SLIPWAY_TEST_POSTGRES (an admin DSN) for one
// test, drops it at cleanup, and returns its DSN. Without the variable the test fails: the
// PostgreSQL half of the end-to-end tests never silently drops out (scripts/test.sh sets it).
func freshPostgres(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("SLIPWAY_TEST_POSTGRES")
	if admin == "" {
		t.Fatal("SLIPWAY_TEST_POSTGRES is not set: run make test, or export SLIPWAY_TEST_POSTGRES=$(scripts/pg-throwaway.sh start /tmp/pg)")
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("SLIPWAY_TEST_POSTGRES must be a postgres:// URL, got %q", admin)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("slipway_e2e_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		t.Fatalf("cannot create a database on SLIPWAY_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("cannot drop database %s: %v", name, err)
		}
		db.Close()
	})
	u.Path = "/" + name
	return u.String()
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestDeleteGroupRacesCreate races DeleteModelPackageGroup against CreateModelPackage on an empty
// group, round after round, on SQLite and PostgreSQL (SLIPWAY_TEST_POSTGRES). Whatever the
// interleaving, an acknowledged version must never outlive its group: a group holding versions
// cannot be deleted, so if a delete succeeded no create in that round may have succeeded; if the
// group survived, it holds exactly the acknowledged versions; and a group created again under the
// same name starts empty and numbers from 1.
func TestDeleteGroupRacesCreate(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"SQLite", func(*testing.T) []string { return nil }},
		{"PostgreSQL", func(t *testing.T) []string {
			return []string{"--database", freshPostgres(t)}
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			s := startServer(t, st.args(t)...)
			sm := sagemaker.NewFromConfig(sdkConfig(s.URL, readProfile(t, s.Creds, "data-science")))
			const rounds, creators, deleters = 8, 6, 2
			for round := range rounds {
				name := fmt.Sprintf("race-%d", round)
				if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(name)}); err != nil {
					t.Fatalf("CreateModelPackageGroup %s: %v", name, err)
				}
				var (
					mu      sync.Mutex
					created []string
					deleted int
					wg      sync.WaitGroup
				)
				start := make(chan struct{})
				for i := range creators + deleters {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						if i < creators {
							out, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String(name)})
							if err == nil {
								mu.Lock()
								created = append(created, aws.ToString(out.ModelPackageArn))
								mu.Unlock()
							} else if c := apiCode(err); c != "ValidationException" {
								t.Errorf("round %d: CreateModelPackage: %v (want success or ValidationException: group gone)", round, err)
							}
							return
						}
						_, err := sm.DeleteModelPackageGroup(ctx, &sagemaker.DeleteModelPackageGroupInput{ModelPackageGroupName: aws.String(name)})
						if err == nil {
							mu.Lock()
							deleted++
							mu.Unlock()
						} else if c := apiCode(err); c != "ConflictException" && c != "ValidationException" {
							t.Errorf("round %d: DeleteModelPackageGroup: %v (want success, ConflictException or ValidationException)", round, err)
						}
					}()
				}
				close(start)
				wg.Wait()

				if deleted > 0 && len(created) > 0 {
					t.Errorf("round %d: the group was deleted although %d versions were acknowledged in it: %v", round, len(created), created)
				}
				if deleted == 0 {
					var listed []string
					pages := sagemaker.NewListModelPackagesPaginator(sm, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(name)})
					for pages.HasMorePages() {
						p, err := pages.NextPage(ctx)
						if err != nil {
							t.Fatalf("round %d: ListModelPackages: %v", round, err)
						}
						for _, m := range p.ModelPackageSummaryList {
							listed = append(listed, aws.ToString(m.ModelPackageArn))
						}
					}
					sort.Strings(listed)
					sort.Strings(created)
					if fmt.Sprint(listed) != fmt.Sprint(created) {
						t.Errorf("round %d: the group lists %v, but the acknowledged versions are %v", round, listed, created)
					}
					continue
				}
				// Deleted: the name is free again, and a new group under it starts empty.
				if _, err := sm.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String(name)}); err != nil {
					t.Fatalf("round %d: CreateModelPackageGroup again: %v", round, err)
				}
				l, err := sm.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(name)})
				if err != nil {
					t.Fatalf("round %d: ListModelPackages of the new group: %v", round, err)
				}
				if n := len(l.ModelPackageSummaryList); n != 0 {
					t.Errorf("round %d: the group created again lists %d versions of the deleted one", round, n)
				}
				out, err := sm.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String(name)})
				if err != nil {
					t.Errorf("round %d: CreateModelPackage in the group created again: %v", round, err)
				} else if got, want := aws.ToString(out.ModelPackageArn), fmt.Sprintf("model-package/%s/1", name); !strings.HasSuffix(got, want) {
					t.Errorf("round %d: the first version of the group created again is %s, want …%s", round, got, want)
				}
			}
		})
	}
}

// TestAccessKeyLimitUnderConcurrency creates access keys for one user from many clients at once,
// round after round, on SQLite and PostgreSQL (SLIPWAY_TEST_POSTGRES): IAM allows two keys
// per user, so exactly two calls succeed, the others fail with LimitExceeded, and the user has two
// keys.
func TestAccessKeyLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	for _, st := range []string{"SQLite", "PostgreSQL"} {
		t.Run(st, func(t *testing.T) {
			t.Parallel()
			var args []string
			if st == "PostgreSQL" {
				args = []string{"--database", freshPostgres(t)}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			s := startServer(t, args...)
			client := iam.NewFromConfig(sdkConfig(s.URL, readProfile(t, s.Creds, "data-science")))
			const rounds, callers = 5, 12
			for round := range rounds {
				user := fmt.Sprintf("many-keys-%d", round)
				if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
					t.Fatalf("CreateUser: %v", err)
				}
				var (
					mu    sync.Mutex
					codes = map[string]int{}
					wg    sync.WaitGroup
				)
				start := make(chan struct{})
				for range callers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
						c := "ok"
						if err != nil {
							c = apiCode(err)
						}
						mu.Lock()
						codes[c]++
						mu.Unlock()
					}()
				}
				close(start)
				wg.Wait()
				if want := map[string]int{"ok": 2, "LimitExceeded": callers - 2}; fmt.Sprint(codes) != fmt.Sprint(want) {
					t.Errorf("round %d: %d concurrent CreateAccessKey calls answered %v, want %v", round, callers, codes, want)
				}
				keys, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
				if err != nil {
					t.Fatalf("ListAccessKeys: %v", err)
				}
				if n := len(keys.AccessKeyMetadata); n != 2 {
					t.Errorf("round %d: the user has %d access keys, want 2", round, n)
				}
			}
		})
	}
}
