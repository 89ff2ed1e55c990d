package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/slipway-ml/slipway/internal/credfile"
)

// buildBinary builds slipway once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "slipway")
	// slipway-shim beside it launches the jobs faster than `slipway executor-shim`.
	out, err := exec.Command("go", "build", "-o", dir+"/", ".", "../slipway-shim").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer starts `slipway server` and waits for /healthz.
func startServer(t *testing.T, bin, dir, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "server", "--data-dir", dir, "--listen", addr, "--log-level", "warn")
	logPath := filepath.Join(dir, fmt.Sprintf("server-%d.log", time.Now().UnixNano()))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		// The address was free when freeAddr looked; only the server's own line says it holds
		// it now (another process may have taken it first, and would answer /healthz).
		if out, _ := os.ReadFile(logPath); !strings.Contains(string(out), "Slipway is listening on http://"+addr+"\n") {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not become healthy")
	return nil
}

func profile(t *testing.T, dir, name string) (id, secret string) {
	profiles, err := credfile.ReadFile(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	return profiles[name].AccessKeyID, profiles[name].SecretAccessKey
}

// TestSIGKILLLosesNothing kills the server with SIGKILL while 8 clients register model versions,
// restarts it on the same data directory, and checks that every acknowledged version is there,
// versions stay 1..N without gaps, new versions continue after them, and the audit chain
// verifies.
func TestSIGKILLLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	srv := startServer(t, bin, dir, addr)
	id, secret := profile(t, dir, "data-science")
	client := sagemaker.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String("http://" + addr), RetryMaxAttempts: 1,
	})
	ctx := context.Background()
	if _, err := client.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := client.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("crash")})
				if err != nil {
					return // the server died under us
				}
				mu.Lock()
				acked[*out.ModelPackageArn] = true
				mu.Unlock()
			}
		}()
	}
	// Kill mid-stream: once some versions are acknowledged (however slow the machine is).
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 30 {
			break
		}
	}
	srv.Process.Signal(syscall.SIGKILL)
	srv.Wait()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no version was acknowledged before the kill")
	}

	startServer(t, bin, dir, addr)
	var versions []int32
	pg := sagemaker.NewListModelPackagesPaginator(client, &sagemaker.ListModelPackagesInput{
		ModelPackageGroupName: aws.String("crash"), SortBy: "CreationTime", SortOrder: "Ascending", MaxResults: aws.Int32(100)})
	present := map[string]bool{}
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.ModelPackageSummaryList {
			versions = append(versions, *p.ModelPackageVersion)
			present[*p.ModelPackageArn] = true
		}
	}
	for arn := range acked {
		if !present[arn] {
			t.Errorf("acknowledged %s is gone after the restart", arn)
		}
	}
	seen := map[int32]bool{}
	for _, v := range versions {
		seen[v] = true
	}
	for v := int32(1); v <= int32(len(versions)); v++ {
		if !seen[v] {
			t.Fatalf("versions after the crash are not 1..%d: %d is missing", len(versions), v)
		}
	}
	next, err := client.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("crash")})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("/crash/%d", len(versions)+1); !strings.HasSuffix(*next.ModelPackageArn, want) {
		t.Errorf("the first version after the restart is %s, want …%s", *next.ModelPackageArn, want)
	}
	t.Logf("%d versions acknowledged before SIGKILL, %d present after restart", len(acked), len(versions))

	out, err := exec.Command(bin, "audit", "verify", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit chain intact") {
		t.Errorf("audit verify after the crash: %v\n%s", err, out)
	}
}
