// Command jobs measures job launch overhead: from a CreateProcessingJob call to the job's own
// process running, for a trivial command, over -n jobs created one after another on a Slipway
// server in this process (SQLite, local executor, loopback HTTP). It prints p50/p90/p99 and,
// as the reference measured in the same run, the time to start the same command with os/exec.
//
//	go run ./bench/jobs [-n 200]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/slipway-ml/slipway/internal/app"
	"github.com/slipway-ml/slipway/internal/config"
	"github.com/slipway-ml/slipway/internal/credfile"
)

func main() {
	n := flag.Int("n", 200, "jobs to launch")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench/jobs:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "slipway-bench-jobs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Jobs run the real binaries, as `make build` installs them: slipway and its shim.
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/slipway", "./cmd/slipway-shim")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build slipway (run from the repository root): %w", err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Listen = filepath.Join(dir, "data"), l.Addr().String()
	cfg.SlipwayBinary = filepath.Join(bin, "slipway")
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		return err
	}
	a.Start(ctx)
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(l)
	defer func() { srv.Close(); a.Close() }()
	url := "http://" + l.Addr().String()
	a.Listening(url)
	profiles, err := credfile.ReadFile(a.CredentialsPath())
	if err != nil {
		return err
	}
	p := profiles["data-science"]
	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")}
	role, err := iam.NewFromConfig(awsCfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bench"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		return err
	}
	sm := sagemaker.NewFromConfig(awsCfg)
	marks := filepath.Join(dir, "marks")
	if err := os.MkdirAll(marks, 0o755); err != nil {
		return err
	}

	var launch, direct []time.Duration
	for i := range n {
		name := fmt.Sprintf("launch-%d", i)
		mark := filepath.Join(marks, name)
		began := time.Now()
		_, err := sm.CreateProcessingJob(ctx, &sagemaker.CreateProcessingJobInput{
			ProcessingJobName: aws.String(name), RoleArn: role.Role.Arn,
			AppSpecification: &smtypes.AppSpecification{
				ImageUri:            aws.String("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
				ContainerEntrypoint: []string{"/bin/sh", "-c", "date +%s%N > " + mark}},
			ProcessingResources: &smtypes.ProcessingResources{ClusterConfig: &smtypes.ProcessingClusterConfig{
				InstanceType: smtypes.ProcessingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(1)}},
		})
		if err != nil {
			return err
		}
		started, err := waitMark(mark, 60*time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		launch = append(launch, started.Sub(began))

		// The reference: the same command started directly.
		ref := mark + ".direct"
		began = time.Now()
		if err := exec.Command("/bin/sh", "-c", "date +%s%N > "+ref).Start(); err != nil {
			return err
		}
		started, err = waitMark(ref, 10*time.Second)
		if err != nil {
			return err
		}
		direct = append(direct, started.Sub(began))
	}
	fmt.Printf("%d jobs: CreateProcessingJob -> the job's process running\n", n)
	report("slipway job launch", launch)
	report("os/exec of the same command", direct)
	return nil
}

// waitMark waits for the file the command writes and returns the time the command wrote in it.
func waitMark(path string, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		raw, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(raw), "\n") {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
			if err != nil {
				return time.Time{}, err
			}
			return time.Unix(0, ns), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("the command did not run within %v", limit)
		}
		time.Sleep(time.Millisecond)
	}
}

func report(name string, d []time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	fmt.Printf("%-30s p50 %8.1f ms  p90 %8.1f ms  p99 %8.1f ms\n", name,
		ms(q(0.50)), ms(q(0.90)), ms(q(0.99)))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
