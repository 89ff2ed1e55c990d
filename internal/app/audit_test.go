package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/slipway-ml/slipway/internal/audit"
)

// TestAuditCommitsWithTheChange checks that a change made through the API carries its audit
// record in its own transaction (one record per call, found right after the response), and
// that when the audit chain cannot be appended to, a change fails while a read is answered
// but counted in /metrics and turns /healthz degraded.
func TestAuditCommitsWithTheChange(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	ds := sagemaker.NewFromConfig(s.cfg("data-science"))
	if _, err := ds.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("audited")}); err != nil {
		t.Fatal(err)
	}
	recs, err := s.app.Store.Audit().AuditRecords(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		var rec audit.Record
		json.Unmarshal(r.Body, &rec)
		if rec.Operation == "CreateModelPackageGroup" {
			n++
			if rec.HTTPStatus != 200 || rec.ErrorCode != "" {
				t.Errorf("the change's record = %+v", rec)
			}
			// Committed inside the change's transaction, it still says what was decided.
			if !strings.HasSuffix(rec.Resource, ":model-package-group/audited") || rec.Decision != "allow" || rec.Reason == "" {
				t.Errorf("the change's record lacks its authorization: resource %q decision %q reason %q", rec.Resource, rec.Decision, rec.Reason)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d records of CreateModelPackageGroup, want exactly 1", n)
	}

	// Break the chain's head behind the server's back.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(filepath.Dir(s.app.CredentialsPath()), "slipway.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM counters WHERE name = 'audit'`); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("unaudited")}); err == nil {
		t.Fatal("a change was made although its audit record could not be appended")
	}
	var groups int
	db.QueryRow(`SELECT COUNT(*) FROM model_package_groups WHERE name = 'unaudited'`).Scan(&groups)
	if groups != 0 {
		t.Fatal("the group whose audit record failed exists")
	}
	if _, err := ds.DescribeModelPackageGroup(ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("audited")}); err != nil {
		t.Fatalf("a read whose record fails must still be answered: %v", err)
	}
	// The read's record is committed (and fails) after its response is written: wait for it.
	var status int
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(s.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if status = resp.StatusCode; status != http.StatusOK {
			break
		}
	}
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "degraded") {
		t.Errorf("/healthz = %d %s, want 503 degraded", status, body)
	}
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "slipway_audit_record_failures_total 0") || !strings.Contains(string(body), "slipway_audit_record_failures_total") {
		t.Errorf("/metrics does not count the failed record:\n%s", grepLines(string(body), "audit"))
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
