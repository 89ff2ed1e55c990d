// Command pipelines measures the pipelines engine's orchestration overhead: a definition of -n
// trivial processing steps (each runs /bin/true as a job), as a chain (each step depends on the
// one before) and as fan-out/fan-in layers of -width steps (each step depends on every step of
// the layer before), run on a Slipway server in this process (SQLite, local executor, loopback
// HTTP). The reference, measured in the same run, is the ceiling: -n fork/execs of /bin/true in
// a loop. It prints each wall time, its ratio to the ceiling and the overhead per step.
//
//	go run ./bench/pipelines [-n 1000] [-width 100] [-shapes chain,fan]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	n := flag.Int("n", 1000, "steps per definition")
	width := flag.Int("width", 100, "steps per layer of the fan-out/fan-in definition")
	shapes := flag.String("shapes", "chain,fan", "definitions to run")
	flag.Parse()
	if err := run(*n, *width, strings.Split(*shapes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "bench/pipelines:", err)
		os.Exit(1)
	}
}

func run(n, width int, shapes []string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "slipway-bench-pipelines-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
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
	ic := iam.NewFromConfig(awsCfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bench"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		return err
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("bench"), PolicyName: aws.String("run"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"},
			{"Effect":"Allow","Action":"iam:PassRole","Resource":"` + *role.Role.Arn + `"}]}`)}); err != nil {
		return err
	}
	sm := sagemaker.NewFromConfig(awsCfg)

	// The ceiling: the same trivial process, n times, one after another.
	began := time.Now()
	for range n {
		if err := exec.Command("/bin/true").Run(); err != nil {
			return err
		}
	}
	ceiling := time.Since(began)
	fmt.Printf("ceiling: %d fork/exec of /bin/true: %v (%.2f ms each)\n", n, ceiling.Round(time.Millisecond), ms(ceiling)/float64(n))

	for _, shape := range shapes {
		def, err := definition(shape, n, width, *role.Role.Arn)
		if err != nil {
			return err
		}
		name := "bench-" + shape
		if _, err := sm.CreatePipeline(ctx, &sagemaker.CreatePipelineInput{PipelineName: aws.String(name), RoleArn: role.Role.Arn,
			PipelineDefinition: aws.String(def), ClientRequestToken: aws.String(strings.Repeat("b", 32) + shape)}); err != nil {
			return err
		}
		began := time.Now()
		out, err := sm.StartPipelineExecution(ctx, &sagemaker.StartPipelineExecutionInput{PipelineName: aws.String(name),
			ClientRequestToken: aws.String(strings.Repeat("s", 32) + shape)})
		if err != nil {
			return err
		}
		var st smtypes.PipelineExecutionStatus
		for {
			d, err := sm.DescribePipelineExecution(ctx, &sagemaker.DescribePipelineExecutionInput{PipelineExecutionArn: out.PipelineExecutionArn})
			if err != nil {
				return err
			}
			if st = d.PipelineExecutionStatus; st != smtypes.PipelineExecutionStatusExecuting {
				if st != smtypes.PipelineExecutionStatusSucceeded {
					return fmt.Errorf("%s: %s (%s)", name, st, aws.ToString(d.FailureReason))
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		took := time.Since(began)
		fmt.Printf("%-6s %d steps: %v = %.2f× the ceiling; %.1f ms per step, %.1f ms per step above the ceiling\n",
			shape, n, took.Round(time.Millisecond), float64(took)/float64(ceiling), ms(took)/float64(n), (ms(took)-ms(ceiling))/float64(n))
	}
	return nil
}

// definition returns a chain of n steps, or n steps in layers of width where each step
// depends on every step of the layer before.
func definition(shape string, n, width int, role string) (string, error) {
	step := func(name string, deps []string) map[string]any {
		s := map[string]any{"Name": name, "Type": "Processing", "Arguments": map[string]any{
			"RoleArn":             role,
			"AppSpecification":    map[string]any{"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", "ContainerEntrypoint": []string{"/bin/true"}},
			"ProcessingResources": map[string]any{"ClusterConfig": map[string]any{"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
		}}
		if len(deps) > 0 {
			s["DependsOn"] = deps
		}
		return s
	}
	var steps []any
	switch shape {
	case "chain":
		for i := range n {
			var deps []string
			if i > 0 {
				deps = []string{fmt.Sprintf("S%d", i-1)}
			}
			steps = append(steps, step(fmt.Sprintf("S%d", i), deps))
		}
	case "fan":
		var prev []string
		for i := 0; i < n; i += width {
			var layer []string
			for j := i; j < min(n, i+width); j++ {
				name := fmt.Sprintf("S%d", j)
				steps = append(steps, step(name, prev))
				layer = append(layer, name)
			}
			prev = layer
		}
	default:
		return "", fmt.Errorf("unknown shape %q: want chain or fan", shape)
	}
	b, err := json.Marshal(map[string]any{"Version": "2020-12-01", "Steps": steps})
	return string(b), err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
