package e2e

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipway-ml/slipway/internal/credfile"
)

// TestServersShareOnePostgres runs the documented multi-server setup: two `slipway server`
// processes, each with its own data directory, on one PostgreSQL database and one master key
// file. What is written through one is read, authorized and audited through the other; only
// the first writes a credentials file; a third server with another master key refuses to start
// and says what to do.
func TestServersShareOnePostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dsn := freshPostgres(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, []byte("6d5a1c0f9e8b7a6958473625140f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServerAt(t, filepath.Join(dir, "a"), "--database", dsn, "--master-key-file", keyFile)
	b := launch(t, filepath.Join(dir, "b"), launchOptions{env: []string{"SLIPWAY_MASTER_KEY_FILE=" + keyFile}}, "--database", dsn)
	if _, err := os.Stat(b.Creds); err == nil {
		t.Errorf("the second server wrote %s; only the server that created the organization does", b.Creds)
	}

	ds, stg := readProfile(t, a.Creds, "data-science"), readProfile(t, a.Creds, "staging")
	smA, smB := sagemaker.NewFromConfig(sdkConfig(a.URL, ds)), sagemaker.NewFromConfig(sdkConfig(b.URL, ds))
	stgB := sagemaker.NewFromConfig(sdkConfig(b.URL, stg))

	// A write through A is read through B.
	if _, err := smA.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	pkg, err := smA.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := smB.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: pkg.ModelPackageArn})
	if err != nil || got.ModelApprovalStatus != smtypes.ModelApprovalStatusPendingManualApproval {
		t.Fatalf("B describes the package A created: %v, %v", got, err)
	}

	// Authorization on B follows what was written through A: staging is denied until A puts the
	// group's policy, then allowed.
	if _, err := stgB.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: pkg.ModelPackageArn}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("staging through B before the policy: %v, want AccessDeniedException", err)
	}
	stgAccount := readAccount(t, a.Creds, "staging")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + stgAccount + `:root"},` +
		`"Action":"sagemaker:DescribeModelPackage","Resource":"*"}]}`
	if _, err := smA.PutModelPackageGroupPolicy(ctx, &sagemaker.PutModelPackageGroupPolicyInput{ModelPackageGroupName: aws.String("shared"), ResourcePolicy: &policy}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // B may serve from a read cache for a moment
	for {
		_, err := stgB.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: pkg.ModelPackageArn})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("staging through B after A put the policy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A user and key created through B authenticate through A, and the reverse; the secret is
	// sealed by one server and opened by the other.
	iamB := iam.NewFromConfig(sdkConfig(b.URL, ds))
	if _, err := iamB.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("reader")}); err != nil {
		t.Fatal(err)
	}
	key, err := iamB.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("reader")})
	if err != nil {
		t.Fatal(err)
	}
	reader := aws.Credentials{AccessKeyID: *key.AccessKey.AccessKeyId, SecretAccessKey: *key.AccessKey.SecretAccessKey}
	who, err := sts.NewFromConfig(sdkConfig(a.URL, reader)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || !strings.HasSuffix(*who.Arn, ":user/reader") {
		t.Fatalf("A authenticates the key B issued: %v, %v", who, err)
	}
	// The user has no policy: B denies it what A denies it.
	_, err = sagemaker.NewFromConfig(sdkConfig(b.URL, reader)).ListModelPackageGroups(ctx, &sagemaker.ListModelPackageGroupsInput{})
	if apiCode(err) != "AccessDeniedException" {
		t.Errorf("a user without policies through B: %v, want AccessDeniedException", err)
	}

	// B's calls are in the one audit chain, with the request ids B answered with.
	out, err := smB.ListModelPackages(ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	reqID, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	if !ok || reqID == "" {
		t.Fatal("B's answer carries no request id")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline = time.Now().Add(10 * time.Second) // the audit log commits in groups
	for {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE records LIKE '%' || $1 || '%'`, reqID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's request %s is not in the audit log", reqID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.Stop()
	b.Stop()
	verify, err := exec.Command(slipwayBinary, "audit", "verify", "--database", dsn, "--data-dir", filepath.Join(dir, "a")).CombinedOutput()
	if err != nil || !strings.Contains(string(verify), "intact") {
		t.Errorf("slipway audit verify of the shared database: %v\n%s", err, verify)
	}

	// A third server with another key refuses to start and says which flag gives the key.
	for name, args := range map[string][]string{
		"another key": {"--master-key-file", writeFile(t, filepath.Join(dir, "other.key"), strings.Repeat("ab", 32))},
		"no key":      nil,
	} {
		cmd := exec.CommandContext(ctx, slipwayBinary, append([]string{"server", "--data-dir", filepath.Join(dir, "c-"+strings.ReplaceAll(name, " ", "-")),
			"--listen", "127.0.0.1:0", "--database", dsn}, args...)...)
		msg, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%s: the third server exited with %v; want status 1\n%s", name, err, msg)
		}
		if !strings.Contains(string(msg), "master key") || !strings.Contains(string(msg), "--master-key-file") {
			t.Errorf("%s: the third server's refusal does not say what to do:\n%s", name, msg)
		}
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAccount returns the account id of a profile of a credentials file.
func readAccount(t *testing.T, path, profile string) string {
	t.Helper()
	profiles, err := credfile.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if profiles[profile].Account == "" {
		t.Fatalf("%s has no account id for profile %s", path, profile)
	}
	return profiles[profile].Account
}
