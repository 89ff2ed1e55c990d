// Command pipelines measures the pipelines engine's orchestration overhead: a definition of -n
// trivial processing steps (each runs /bin/true as a job), as a chain (each step depends on the
// one before) and as fan-out/fan-in layers of -width steps (each step depends on every step of
// the layer before), run on a Slipway server in this process (SQLite, local executor, loopback
// HTTP). The reference, measured in the same run, is the ceiling: -n fork/execs of /bin/true in
// a loop. It prints each wall time, its ratio to the ceiling and the overhead per step; -trace
// adds where a step's time goes (medians of its phases), -cpuprofile a CPU profile.
//
//	go run ./bench/pipelines [-n 1000] [-width 100] [-shapes chain,fan] [-trace] [-cpuprofile file]
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
	"runtime/pprof"
	"sort"
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
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the executions (server and client) to this file")
	flag.BoolVar(&trace, "trace", false, "print where a step's time goes (medians over the steps, from the steps' and jobs' timestamps)")
	flag.Parse()
	if err := run(*n, *width, strings.Split(*shapes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "bench/pipelines:", err)
		os.Exit(1)
	}
}

var (
	cpuProfile string
	trace      bool
)

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

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
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
		if trace {
			if err := timeline(ctx, sm, *out.PipelineExecutionArn); err != nil {
				return err
			}
		}
	}
	return nil
}

// timeline prints the medians of a step's phases, from the steps' and their jobs' timestamps
// (milliseconds): step start → job created → job started (its attempt recorded, the workers
// about to start) → job ended → step ended → the next step started (the step whose start
// follows this one's end most closely).
func timeline(ctx context.Context, sm *sagemaker.Client, execution string) error {
	var steps []smtypes.PipelineExecutionStep
	p := sagemaker.NewListPipelineExecutionStepsPaginator(sm, &sagemaker.ListPipelineExecutionStepsInput{PipelineExecutionArn: aws.String(execution)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		steps = append(steps, page.PipelineExecutionSteps...)
	}
	phases := []string{"step start → job created", "job created → job started", "job started → job ended", "job ended → step ended", "step ended → next step start"}
	gaps := make([][]float64, len(phases))
	starts := make([]time.Time, 0, len(steps))
	for _, s := range steps {
		starts = append(starts, aws.ToTime(s.StartTime))
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	for _, s := range steps {
		if s.Metadata == nil || s.Metadata.ProcessingJob == nil {
			continue
		}
		name := aws.ToString(s.Metadata.ProcessingJob.Arn)
		name = name[strings.LastIndex(name, "/")+1:]
		d, err := sm.DescribeProcessingJob(ctx, &sagemaker.DescribeProcessingJobInput{ProcessingJobName: aws.String(name)})
		if err != nil {
			return err
		}
		t := []time.Time{aws.ToTime(s.StartTime), aws.ToTime(d.CreationTime), aws.ToTime(d.ProcessingStartTime), aws.ToTime(d.ProcessingEndTime), aws.ToTime(s.EndTime)}
		for i := 0; i+1 < len(t); i++ {
			gaps[i] = append(gaps[i], ms(t[i+1].Sub(t[i])))
		}
		if i := sort.Search(len(starts), func(i int) bool { return !starts[i].Before(t[4]) }); i < len(starts) {
			gaps[4] = append(gaps[4], ms(starts[i].Sub(t[4])))
		}
	}
	for i, g := range gaps {
		sort.Float64s(g)
		if len(g) == 0 {
			continue
		}
		fmt.Printf("  %-32s p50 %7.1f ms  p90 %7.1f ms  (%d steps)\n", phases[i], g[len(g)/2], g[len(g)*9/10], len(g))
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
