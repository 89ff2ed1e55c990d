// Package deps checks the import rules of ARCHITECTURE.md as an allow-list by layer: every
// package of the module is classified, and a layer may import only the layers it lists. A new
// package fails the test until it is classified here.

package deps

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/slipway-ml/slipway/"

// The layers, from the bottom.
const (
	leaf    = "leaf"    // no Slipway dependency but other leaves: errors, ARNs, the policy language, ids, files
	domain  = "domain"  // business logic: no transport, no SQL, no wire adapter
	wire    = "wire"    // AWS wire protocols: SigV4, codecs, one adapter per service
	storage = "storage" // SQL persistence of the domains
	backend = "backend" // implementations of a domain's interface over the OS: executor/local
	conf    = "config"  // the server's configuration
	root    = "root"    // the composition root
	edge    = "edge"    // the command line: a client of the API (and offline readers)
	mainPkg = "main"    // cmd/slipway
	tool    = "tool"    // generators run by hand
	test    = "test"    // test support, end-to-end tests and benchmarks
)

// layers classifies every package of the module, by path from the module root.
var layers = map[string]string{
	"internal/errs":       leaf,
	"internal/arn":        leaf,
	"internal/iam":        leaf,
	"internal/randid":     leaf,
	"internal/atomicfile": leaf,
	"internal/credfile":   leaf,
	"internal/clock":      leaf,
	"internal/images":     leaf, // image URI → local runtime table: pure, read by config and the jobs engine

	"internal/org":                     domain,
	"internal/identity":                domain,
	"internal/registry":                domain,
	"internal/pipeline":                domain, // pipelines, executions: the API domain and the execution engine
	"internal/pipeline/definition":     domain, // pipeline definitions: parse, validate, resolve, plan; imports nothing of Slipway
	"internal/jobs":                    domain,
	"internal/events":                  domain,
	"internal/events/pattern":          leaf, // the event pattern language: pure
	"internal/events/schedule":         leaf, // rate and cron schedule expressions: pure
	"internal/events/rules":            domain,
	"internal/events/webhooks":         domain,  // connections, API destinations, and the delivery to them (calls go through a Sender)
	"internal/events/egress":           backend, // the operator's allow-list of outbound addresses and the HTTP client that keeps to it
	"internal/awsapi/eventsapi":        wire,
	"internal/audit":                   domain,
	"internal/algorithms/dataset":      domain,
	"internal/algorithms/evaluate":     domain,
	"internal/algorithms/linear":       domain,
	"internal/algorithms/metric":       domain,
	"internal/algorithms/prep":         domain,
	"internal/algorithms/sample":       domain,
	"internal/algorithms/xgboost":      domain,
	"internal/algorithms/container":    domain, // built-in images' entrypoints: files in, files out (no network)
	"internal/batch":                   domain, // the batch-transform data path: readers, writers and a predict callback
	"internal/inference":               domain, // payload codecs and in-process model runtimes: bytes in, bytes out
	"internal/serving":                 domain, // models, endpoint configs, endpoints: the API domain and the endpoint engine
	"internal/reconcile":               domain, // the background-work runtime: no transport, no SQL of its own
	"internal/logs":                    domain,
	"internal/awsapi/logsapi":          wire,
	"internal/jobcreds":                domain,
	"internal/awsapi/containercreds":   wire,
	"internal/awsproxy":                wire,   // the loopback HTTPS proxy for old SDKs: transport only
	"internal/executor":                domain, // the Executor interface and its Spec, Handle, Exit
	"internal/executor/local":          backend,
	"internal/serving/fleet":           backend, // endpoints' instance pools and routing; the container runtime speaks HTTP to model servers
	"internal/stacks":                  domain,  // CloudFormation stacks and their engine
	"internal/stacks/template":         domain,  // the template engine: pure
	"internal/stacksets":               domain,  // CloudFormation stack sets and their engine
	"internal/awsapi/cfnapi":           wire,
	"internal/alarms":                  domain, // CloudWatch metrics and alarms, and their evaluator
	"internal/awsapi/cloudwatchapi":    wire,
	"internal/awsapi/codepipelineapi":  wire,
	"internal/console":                 wire,   // the web console: HTTP over the domain services, like a wire adapter
	"internal/delivery":                domain, // deploy pipelines (CodePipeline) and their engine
	"internal/builds":                  domain, // build projects (CodeBuild) and their engine
	"internal/builds/buildspec":        domain, // the buildspec parser: pure
	"internal/awsapi/codebuildapi":     wire,
	"internal/projects":                domain, // SageMaker Projects: the template catalog, projects and their engine
	"internal/executor/executortest":   test,
	"internal/artifacts":               domain,
	"internal/awsapi/s3api":            wire,
	"internal/awsapi":                  wire,
	"internal/awsapi/sigv4":            wire,
	"internal/awsapi/apicall":          wire,
	"internal/awsapi/iamapi":           wire,
	"internal/awsapi/orgsapi":          wire,
	"internal/awsapi/sagemakerapi":     wire,
	"internal/awsapi/runtimeapi":       wire,
	"internal/awsapi/models/gen":       tool,
	"internal/store":                   storage,
	"internal/blob":                    storage, // bytes on disk or on an S3-compatible service (net/http): consumers declare their own interface
	"internal/config":                  conf,
	"internal/app":                     root,
	"internal/cli":                     edge,
	"internal/slipwayclient":           edge, // the CLI's signed client of Slipway's own operations
	"cmd/slipway":                      mainPkg,
	"cmd/slipway-shim":                 mainPkg,
	"internal/store/storetest":         test,
	"internal/store/pgtest":            test,
	"internal/blob/blobtest":           test,
	"internal/reconcile/reconciletest": test,
	"internal/deps":                    test,
	"e2e":                              test,
	"docs":                             test, // the docs test: runs every page
	"bench/server":                     test,
	"bench/blob":                       test,
	"bench/jobs":                       test,
	"bench/invoke":                     test,
	"bench/pipelines":                  test,
	"bench/xgbpredict":                 test,
	"bench/xgbtrain":                   test,
}

// mayImport lists, for each layer, the layers its packages may import.
var mayImport = map[string][]string{
	leaf:    {leaf},
	domain:  {leaf, domain},
	wire:    {leaf, domain, wire},
	storage: {leaf, domain},
	conf:    {leaf},
	backend: {leaf, domain},
	root:    {leaf, domain, wire, storage, conf, backend},
	edge:    {leaf, domain, root, conf, storage, backend, edge}, // edge: the CLI and its API client; storage only from offline.go: see TestCLIReachesServersThroughTheAPI; backend: the job shim
	mainPkg: {edge, backend},                                    // backend: cmd/slipway-shim runs the executor's shim alone
	tool:    {leaf},
	test:    {leaf, domain, wire, storage, conf, root, edge, mainPkg, test, backend},
}

// leafImports narrows the leaves that depend on other leaves to exactly those.
var leafImports = map[string][]string{
	"internal/errs":       nil,
	"internal/randid":     nil,
	"internal/arn":        {"internal/errs"},
	"internal/iam":        {"internal/errs", "internal/arn"},
	"internal/atomicfile": {"internal/errs"},
	"internal/credfile":   {"internal/errs"},
	"internal/clock":      nil,
	"internal/images":     {"internal/errs"},
}

// forbiddenStd are standard packages a layer may not reach, even indirectly.
var forbiddenStd = map[string][]string{
	leaf:   {"net/http", "database/sql"},
	domain: {"net/http", "database/sql"},
}

type pkg struct {
	imports []string // direct imports
	deps    []string // every dependency, transitively
}

func list(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		pkgs[strings.TrimPrefix(f[0], module)] = pkg{imports: strings.Fields(f[1]), deps: strings.Fields(f[2])}
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := list(t)
	var names []string
	for name := range pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		layer, ok := layers[name]
		if !ok {
			t.Errorf("package %s is not classified: add it to layers in internal/deps/deps_test.go", name)
			continue
		}
		allowed := map[string]bool{}
		for _, l := range mayImport[layer] {
			allowed[l] = true
		}
		for _, imp := range pkgs[name].imports {
			rel, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if !allowed[layers[rel]] {
				t.Errorf("%s (%s) imports %s (%s); a %s package may import only %v", name, layer, rel, orUnclassified(layers[rel]), layer, mayImport[layer])
			}
		}
		for _, d := range pkgs[name].deps {
			for _, bad := range forbiddenStd[layer] {
				if d == bad {
					t.Errorf("%s (%s) depends on %s", name, layer, bad)
				}
			}
		}
		if want, ok := leafImports[name]; ok {
			for _, imp := range pkgs[name].imports {
				if rel, ours := strings.CutPrefix(imp, module); ours && !contains(want, rel) {
					t.Errorf("leaf %s imports %s; it may import only %v", name, rel, want)
				}
			}
		}
	}
	for name := range layers {
		if _, ok := pkgs[name]; !ok {
			t.Errorf("package %s is classified but does not exist: remove it from layers", name)
		}
	}
}

// TestCLIReachesServersThroughTheAPI checks the CLI's files: only offline.go may import the
// store (the narrow read-only interface of offline commands), and no file reaches into the
// composition root's parts (a.Store, a.Registry …): the CLI talks to a server over HTTP.
func TestCLIReachesServersThroughTheAPI(t *testing.T) {
	files, err := filepath.Glob("../cli/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CLI sources: %v", err)
	}
	parts := map[string]bool{"Store": true, "Org": true, "Identity": true, "Registry": true, "Audit": true, "API": true}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		appName := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == module+"internal/store" && filepath.Base(path) != "offline.go" {
				t.Errorf("%s imports the store; offline reads go through offline.go's dataReader", path)
			}
			if p == module+"internal/app" {
				appName = "app"
			}
		}
		if appName == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && parts[sel.Sel.Name] {
				if id, ok := sel.X.(*ast.Ident); !ok || id.Name != appName {
					t.Errorf("%s reaches into the server's %s; use the API (or offline.go's dataReader)", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}

func orUnclassified(l string) string {
	if l == "" {
		return "unclassified"
	}
	return l
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
