// Command gen extracts the operations Slipway serves, and every shape they reach, from botocore's
// service models into compact JSON files (internal/awsapi/models/<service>.json) that package
// awsapi embeds, so that builds and CI never need botocore.
//
// Run it from the module root after editing the operation lists below:
//
//	go run ./internal/awsapi/models/gen [-botocore DIR] [-out internal/awsapi/models]
//
// With -service NAME -ops "Op1 Op2" it extracts just those operations of one service, as the
// codec tests' S3 subset in internal/awsapi/testdata/models was made:
//
//	go run ./internal/awsapi/models/gen -service s3 -out internal/awsapi/testdata/models \
//	    -ops "CreateBucket PutObject GetObject HeadObject ListObjectsV2 DeleteObjects PutBucketTagging GetBucketTagging CreateMultipartUpload"
//
// Without -botocore it asks the python3 on PATH where botocore lives.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// services lists, per botocore service directory, the operations to extract. Adding an operation
// or a service is a one-line change here followed by `go run ./internal/awsapi/models/gen`.
var services = []struct {
	Name string   // botocore's directory name, also the output file name
	Ops  []string // operations to extract
}{
	{"sagemaker", strings.Fields(strings.Join([]string{
		// model registry
		"CreateModelPackageGroup DescribeModelPackageGroup ListModelPackageGroups DeleteModelPackageGroup PutModelPackageGroupPolicy GetModelPackageGroupPolicy DeleteModelPackageGroupPolicy CreateModelPackage DescribeModelPackage ListModelPackages UpdateModelPackage DeleteModelPackage AddTags ListTags DeleteTags",
		// jobs
		"CreateProcessingJob DescribeProcessingJob ListProcessingJobs StopProcessingJob CreateTrainingJob DescribeTrainingJob ListTrainingJobs StopTrainingJob CreateTransformJob DescribeTransformJob ListTransformJobs StopTransformJob",
		// serving
		"CreateModel DescribeModel ListModels DeleteModel CreateEndpointConfig DescribeEndpointConfig ListEndpointConfigs DeleteEndpointConfig CreateEndpoint DescribeEndpoint ListEndpoints UpdateEndpoint UpdateEndpointWeightsAndCapacities DeleteEndpoint",
		// pipelines
		"CreatePipeline DescribePipeline UpdatePipeline DeletePipeline ListPipelines ListPipelineVersions StartPipelineExecution DescribePipelineExecution ListPipelineExecutions ListPipelineExecutionSteps ListPipelineParametersForExecution DescribePipelineDefinitionForExecution StopPipelineExecution RetryPipelineExecution UpdatePipelineExecution SendPipelineExecutionStepSuccess SendPipelineExecutionStepFailure",
		// projects
		"CreateProject DescribeProject ListProjects UpdateProject DeleteProject",
	}, " "))},
	{"iam", strings.Fields("CreateUser GetUser CreateRole GetRole ListRoles DeleteRole PutRolePolicy GetRolePolicy DeleteRolePolicy ListRolePolicies PutUserPolicy GetUserPolicy DeleteUserPolicy CreateAccessKey ListAccessKeys DeleteAccessKey CreatePolicy GetPolicy DeletePolicy ListPolicies AttachRolePolicy DetachRolePolicy ListAttachedRolePolicies AttachUserPolicy DetachUserPolicy ListUsers DeleteUser ListUserPolicies ListAttachedUserPolicies CreateServiceLinkedRole DeleteServiceLinkedRole GetServiceLinkedRoleDeletionStatus")},
	{"sts", strings.Fields("AssumeRole GetCallerIdentity")},
	{"organizations", strings.Fields("DescribeOrganization ListRoots CreateOrganizationalUnit DescribeOrganizationalUnit ListOrganizationalUnitsForParent CreateAccount DescribeCreateAccountStatus ListAccounts ListAccountsForParent DescribeAccount MoveAccount CreatePolicy AttachPolicy DetachPolicy ListPolicies DescribePolicy ListTargetsForPolicy ListParents")},
	{"sagemaker-runtime", strings.Fields("InvokeEndpoint")},
	{"cloudwatch", strings.Fields("PutMetricData GetMetricStatistics GetMetricData ListMetrics PutMetricAlarm DescribeAlarms DescribeAlarmsForMetric DeleteAlarms SetAlarmState DescribeAlarmHistory")},
	{"logs", strings.Fields("CreateLogGroup CreateLogStream DeleteLogGroup DescribeLogGroups DescribeLogStreams PutLogEvents GetLogEvents FilterLogEvents")},
	{"events", strings.Fields("PutRule DescribeRule ListRules DeleteRule EnableRule DisableRule PutTargets RemoveTargets ListTargetsByRule PutEvents TestEventPattern CreateEventBus DescribeEventBus ListEventBuses DeleteEventBus PutPermission RemovePermission TagResource UntagResource ListTagsForResource CreateConnection DescribeConnection ListConnections UpdateConnection DeleteConnection DeauthorizeConnection CreateApiDestination DescribeApiDestination ListApiDestinations UpdateApiDestination DeleteApiDestination")},
	{"cloudformation", strings.Fields("CreateStack DescribeStacks DescribeStackEvents DescribeStackResources DescribeStackResource ListStacks ListStackResources DeleteStack UpdateStack ValidateTemplate GetTemplate GetTemplateSummary ListExports CreateChangeSet DescribeChangeSet ExecuteChangeSet DeleteChangeSet ListChangeSets CreateStackSet UpdateStackSet DeleteStackSet DescribeStackSet ListStackSets CreateStackInstances UpdateStackInstances DeleteStackInstances DescribeStackSetOperation ListStackSetOperations ListStackSetOperationResults ListStackInstances DescribeStackInstance")},
	{"codebuild", strings.Fields("CreateProject UpdateProject BatchGetProjects ListProjects DeleteProject StartBuild BatchGetBuilds ListBuildsForProject StopBuild")},
	{"codepipeline", strings.Fields("CreatePipeline GetPipeline UpdatePipeline DeletePipeline ListPipelines StartPipelineExecution GetPipelineExecution ListPipelineExecutions GetPipelineState PutApprovalResult ListActionExecutions StopPipelineExecution EnableStageTransition DisableStageTransition RetryStageExecution")},
	{"s3", strings.Fields("CreateBucket HeadBucket ListBuckets DeleteBucket GetBucketLocation PutObject GetObject HeadObject DeleteObject DeleteObjects CopyObject ListObjectsV2 ListObjects CreateMultipartUpload UploadPart UploadPartCopy CompleteMultipartUpload AbortMultipartUpload ListParts ListMultipartUploads PutObjectTagging GetObjectTagging DeleteObjectTagging PutBucketPolicy GetBucketPolicy DeleteBucketPolicy")},
}

// dropped are model keys that carry prose only.
var dropped = map[string]bool{"documentation": true, "documentationUrl": true, "examples": true, "deprecatedMessage": true}

func main() {
	botocore := flag.String("botocore", "", "botocore package directory (default: ask python3)")
	out := flag.String("out", filepath.Join("internal", "awsapi", "models"), "output directory")
	service := flag.String("service", "", "extract only this botocore service (with -ops), e.g. for test data")
	ops := flag.String("ops", "", "with -service: the operations to extract, space-separated")
	flag.Parse()
	if *service != "" {
		services = services[:0]
		services = append(services, struct {
			Name string
			Ops  []string
		}{*service, strings.Fields(*ops)})
	}
	if err := run(*botocore, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(botocore, out string) error {
	if botocore == "" {
		b, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			return fmt.Errorf("cannot locate botocore with python3 (use -botocore): %w", err)
		}
		botocore = strings.TrimSpace(string(b))
	}
	for _, s := range services {
		model, err := readModel(filepath.Join(botocore, "data", s.Name))
		if err != nil {
			return err
		}
		b, err := extract(model, s.Ops)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		if err := os.WriteFile(filepath.Join(out, s.Name+".json"), b, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d operations, %d bytes\n", s.Name, len(s.Ops), len(b))
	}
	return nil
}

// readModel reads the newest API version's service-2.json(.gz) under dir.
func readModel(dir string) (map[string]any, error) {
	versions, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, v := range versions {
		if v.IsDir() {
			names = append(names, v.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no API versions", dir)
	}
	sort.Strings(names)
	base := filepath.Join(dir, names[len(names)-1], "service-2.json")
	var r io.Reader
	if f, err := os.Open(base); err == nil {
		defer f.Close()
		r = f
	} else {
		f, err := os.Open(base + ".gz")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	var m map[string]any
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	return m, nil
}

// extract returns the compact model holding ops and every shape they reach, one operation or
// shape per line so that regenerated files diff well.
func extract(model map[string]any, ops []string) ([]byte, error) {
	allOps, _ := model["operations"].(map[string]any)
	allShapes, _ := model["shapes"].(map[string]any)
	keepOps := map[string]any{}
	keepShapes := map[string]any{}
	var visit func(name string) error
	visit = func(name string) error {
		if _, ok := keepShapes[name]; ok {
			return nil
		}
		s, ok := allShapes[name].(map[string]any)
		if !ok {
			return fmt.Errorf("shape %s not found", name)
		}
		clean := strip(s).(map[string]any)
		keepShapes[name] = clean
		for _, ref := range shapeRefs(clean) {
			if err := visit(ref); err != nil {
				return err
			}
		}
		return nil
	}
	for _, op := range ops {
		o, ok := allOps[op].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("operation %s not found", op)
		}
		clean := strip(o).(map[string]any)
		keepOps[op] = clean
		for _, k := range []string{"input", "output"} {
			if ref, ok := clean[k].(map[string]any); ok {
				if err := visit(ref["shape"].(string)); err != nil {
					return nil, err
				}
			}
		}
		errList, _ := clean["errors"].([]any)
		for _, e := range errList {
			if err := visit(e.(map[string]any)["shape"].(string)); err != nil {
				return nil, err
			}
		}
	}
	var buf bytes.Buffer
	meta, _ := json.Marshal(strip(model["metadata"]))
	fmt.Fprintf(&buf, "{\"metadata\":%s,\n\"operations\":{", meta)
	writeSorted(&buf, keepOps)
	buf.WriteString("},\n\"shapes\":{")
	writeSorted(&buf, keepShapes)
	buf.WriteString("}}\n")
	return buf.Bytes(), nil
}

func writeSorted(buf *bytes.Buffer, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(m[k])
		fmt.Fprintf(buf, "\n%s:%s", kb, vb)
	}
	buf.WriteByte('\n')
}

// shapeRefs lists the shapes a shape refers to: members, list member, map key and value.
func shapeRefs(s map[string]any) []string {
	var refs []string
	add := func(v any) {
		if m, ok := v.(map[string]any); ok {
			if n, ok := m["shape"].(string); ok {
				refs = append(refs, n)
			}
		}
	}
	if members, ok := s["members"].(map[string]any); ok {
		for _, m := range members {
			add(m)
		}
	}
	add(s["member"])
	add(s["key"])
	add(s["value"])
	return refs
}

// strip removes prose from a model value, recursively.
func strip(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if dropped[k] {
				continue
			}
			out[k] = strip(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = strip(x)
		}
		return out
	}
	return v
}
