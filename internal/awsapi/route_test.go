package awsapi

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// routeFile is a botocore model's HTTP bindings, as testdata/routes/extract.py writes them.
type routeFile struct {
	Service    string `json:"service"`
	Operations []struct {
		Name            string   `json:"name"`
		Method          string   `json:"method"`
		RequestURI      string   `json:"requestUri"`
		RequiredQuery   []string `json:"requiredQuery"`
		RequiredHeaders []string `json:"requiredHeaders"`
	} `json:"operations"`
}

// loadRouteOps builds the operations of a route file, with input members for the required
// query parameters and headers.
func loadRouteOps(t testing.TB, path string) map[string]*Operation {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rf routeFile
	if err := json.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	ops := map[string]*Operation{}
	for _, o := range rf.Operations {
		in := &Shape{Name: o.Name + "Request", Type: "structure"}
		for _, q := range o.RequiredQuery {
			in.Members = append(in.Members, &Member{Name: q, Location: "querystring", LocationName: q, Required: true})
		}
		for _, h := range o.RequiredHeaders {
			in.Members = append(in.Members, &Member{Name: h, Location: "header", LocationName: h, Required: true})
		}
		ops[o.Name] = &Operation{Name: o.Name, Method: o.Method, RequestURI: o.RequestURI, Input: in, path: parsePathTemplate(o.RequestURI)}
	}
	return ops
}

// requestFor builds the smallest request an SDK would send for op: its path with every label
// filled, its query literals, and its required query parameters and headers.
func requestFor(op *Operation) *httptestRequest {
	path, q, _ := strings.Cut(op.RequestURI, "?")
	var parts []string
	for _, seg := range strings.Split(path, "/") {
		switch {
		case strings.HasSuffix(seg, "+}"):
			parts = append(parts, "dir/sub/object.csv")
		case strings.HasPrefix(seg, "{"):
			parts = append(parts, "label-"+strings.ToLower(strings.Trim(seg, "{}")))
		default:
			parts = append(parts, seg)
		}
	}
	var query []string
	if q != "" {
		query = append(query, q)
	}
	hdr := map[string]string{}
	if op.Input != nil {
		for _, m := range op.Input.Members {
			switch m.Location {
			case "querystring":
				query = append(query, m.wireName()+"=1")
			case "header":
				hdr[m.wireName()] = "x"
			}
		}
	}
	target := strings.Join(parts, "/")
	if len(query) > 0 {
		target += "?" + strings.Join(query, "&")
	}
	return &httptestRequest{method: op.Method, target: target, header: hdr}
}

type httptestRequest struct {
	method, target string
	header         map[string]string
}

// routeServed is every served REST model plus S3's bindings (which the artifact store will
// serve): each operation's own request must route to it, unless its binding cannot be told
// apart from another's (listed, and then the tie is broken the same way every time).
func TestRouteEveryOperation(t *testing.T) {
	sets := map[string]map[string]*Operation{"s3": loadRouteOps(t, "testdata/routes/s3.json")}
	for _, name := range ModelNames() {
		m := mustModel(t, name)
		if m.Protocol == ProtocolRESTJSON {
			sets[name] = m.Operations
		}
	}
	if len(sets) < 2 {
		t.Fatalf("no served REST model found among %v", ModelNames())
	}
	// Pairs no request can tell apart in S3's model: deprecated operations and their
	// replacements, and the directory-bucket listing.
	wantAmbiguous := map[string][][2]string{
		"s3": {
			{"GetBucketLifecycle", "GetBucketLifecycleConfiguration"},
			{"GetBucketNotification", "GetBucketNotificationConfiguration"},
			{"ListBuckets", "ListDirectoryBuckets"},
			{"PutBucketLifecycle", "PutBucketLifecycleConfiguration"},
			{"PutBucketNotification", "PutBucketNotificationConfiguration"},
		},
	}
	for name, ops := range sets {
		t.Run(name, func(t *testing.T) {
			rr := newRouter(ops)
			amb := rr.ambiguous()
			for i := range amb {
				sort.Strings(amb[i][:])
			}
			sort.Slice(amb, func(i, j int) bool { return amb[i][0] < amb[j][0] })
			if want := wantAmbiguous[name]; !reflect.DeepEqual(amb, want) && !(len(amb) == 0 && len(want) == 0) {
				t.Errorf("ambiguous bindings = %v, want %v", amb, want)
			}
			twin := map[string]string{}
			for _, p := range amb {
				twin[p[0]], twin[p[1]] = p[1], p[0]
			}
			names := make([]string, 0, len(ops))
			for n := range ops {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				rq := requestFor(ops[n])
				r := httptest.NewRequest(rq.method, rq.target, nil)
				for k, v := range rq.header {
					r.Header.Set(k, v)
				}
				got, _ := rr.find(r)
				switch {
				case got == nil:
					t.Errorf("%s %s (%s): no route", rq.method, rq.target, n)
				case got.Name != n && got.Name != twin[n]:
					t.Errorf("%s %s headers %v: routed to %s, want %s", rq.method, rq.target, rq.header, got.Name, n)
				}
			}
		})
	}
}

// Requests S3 clients send, and the operation each must reach.
func TestRouteS3Cases(t *testing.T) {
	rr := newRouter(loadRouteOps(t, "testdata/routes/s3.json"))
	for _, tc := range []struct {
		method, target string
		header         map[string]string
		want           string
	}{
		{"GET", "/b/k", nil, "GetObject"},
		{"GET", "/b/dir/k.csv?tagging", nil, "GetObjectTagging"},
		{"GET", "/b/k?tagging=", nil, "GetObjectTagging"},
		{"PUT", "/b/k", nil, "PutObject"},
		{"PUT", "/b/k?x-id=PutObject", nil, "PutObject"},
		{"PUT", "/b/k", map[string]string{"X-Amz-Copy-Source": "/a/b"}, "CopyObject"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", nil, "UploadPart"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", map[string]string{"X-Amz-Copy-Source": "/a/b"}, "UploadPartCopy"},
		{"POST", "/b/k?uploads", nil, "CreateMultipartUpload"},
		{"POST", "/b/k?uploadId=u", nil, "CompleteMultipartUpload"},
		{"DELETE", "/b/k?uploadId=u", nil, "AbortMultipartUpload"},
		{"DELETE", "/b/k", nil, "DeleteObject"},
		{"GET", "/b/k?uploadId=u", nil, "ListParts"},
		{"GET", "/b?list-type=2", nil, "ListObjectsV2"},
		{"GET", "/b?list-type=2&prefix=a%2Fb&delimiter=%2F", nil, "ListObjectsV2"},
		{"GET", "/b?list-type=1", nil, "ListObjects"},
		{"GET", "/b", nil, "ListObjects"},
		{"GET", "/b?uploads", nil, "ListMultipartUploads"},
		{"POST", "/b?delete", nil, "DeleteObjects"},
		{"PUT", "/b", nil, "CreateBucket"},
		{"HEAD", "/b", nil, "HeadBucket"},
		{"HEAD", "/b/k", nil, "HeadObject"},
		{"GET", "/b?analytics&id=a", nil, "GetBucketAnalyticsConfiguration"},
		{"GET", "/b?analytics", nil, "ListBucketAnalyticsConfigurations"},
		{"GET", "/b?select&select-type=2", nil, "ListObjects"}, // unknown parameters are ignored
		{"POST", "/b/k?select&select-type=2", nil, "SelectObjectContent"},
		{"POST", "/b/k?select&select-type=3", nil, ""},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		got, labels := rr.find(r)
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tc.want {
			t.Errorf("%s %s %v → %q, want %q", tc.method, tc.target, tc.header, name, tc.want)
		}
		if got != nil && strings.Contains(got.RequestURI, "{Key+}") && labels["Key"] == "" {
			t.Errorf("%s %s: Key label not bound (%v)", tc.method, tc.target, labels)
		}
	}
}

// Building the router from a Go map, whose order changes from run to run, gives one order.
func TestRouterOrderIsDeterministic(t *testing.T) {
	ops := loadRouteOps(t, "testdata/routes/s3.json")
	order := func() []string {
		var names []string
		for _, rt := range newRouter(ops).routes {
			names = append(names, rt.op.Name)
		}
		return names
	}
	first := order()
	for range 50 {
		if got := order(); !reflect.DeepEqual(got, first) {
			t.Fatalf("route order changed between builds:\n%v\n%v", first, got)
		}
	}
}
