package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/slipway-ml/slipway/internal/audit"
	"github.com/slipway-ml/slipway/internal/registry"
)

// TestEngineChangeCommitsItsAuditRecord approves a model package as an engine acting as a role
// session, through Log.Engine: the change leaves exactly one audit record, naming the session
// as principal and the engine as user agent, with the decision that allowed it. When the audit
// chain cannot be appended to, the engine's next approval fails and the package stays pending:
// the record commits in the change's transaction, not after it.
func TestEngineChangeCommitsItsAuditRecord(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	const engine = "deploy.slipway.internal"
	ic := iam.NewFromConfig(s.cfg("data-science"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + engine + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("approver"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("approver"), PolicyName: aws.String("approve"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:UpdateModelPackage","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	ds := sagemaker.NewFromConfig(s.cfg("data-science"))
	if _, err := ds.CreateModelPackageGroup(ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("engine-approved")}); err != nil {
		t.Fatal(err)
	}
	var arns []string
	for range 2 {
		p, err := ds.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("engine-approved")})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(p.ModelPackageArn))
	}

	c, err := s.app.Identity.EngineSession(ctx, "arn:aws:iam::"+s.account["data-science"]+":role/approver", engine)
	if err != nil {
		t.Fatal(err)
	}
	record := func(op string) audit.Record {
		return audit.Record{Time: time.Now(), Account: c.Account, PrincipalARN: c.ARN, UserAgent: engine, Service: "sagemaker", Operation: op}
	}
	approve := func(arn string) error {
		return s.app.Audit.Engine(ctx, record("UpdateModelPackage"), func(ctx context.Context) error {
			_, err := s.app.Registry.UpdatePackage(ctx, registry.Call{Caller: c}, registry.UpdateInput{ARN: arn, ApprovalStatus: registry.Approved})
			return err
		})
	}
	if err := approve(arns[0]); err != nil {
		t.Fatal(err)
	}
	// A refused change commits nothing: Log.Engine records the refusal once, by group commit.
	err = s.app.Audit.Engine(ctx, record("DeleteModelPackage"), func(ctx context.Context) error {
		return s.app.Registry.DeletePackage(ctx, registry.Call{Caller: c}, arns[1])
	})
	if err == nil {
		t.Fatal("the engine deleted a package its role may not delete")
	}
	recs, err := s.app.Store.Audit().AuditRecords(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var mine, refused []audit.Record
	for _, r := range recs {
		var rec audit.Record
		if err := json.Unmarshal(r.Body, &rec); err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.UserAgent == engine && rec.Operation == "UpdateModelPackage":
			mine = append(mine, rec)
		case rec.UserAgent == engine && rec.Operation == "DeleteModelPackage":
			refused = append(refused, rec)
		}
	}
	if len(refused) != 1 || refused[0].Decision != "deny" || refused[0].ErrorCode != "AccessDenied" || refused[0].PrincipalARN != c.ARN {
		t.Errorf("records of the engine's refused DeleteModelPackage = %+v; want one denial of the session", refused)
	}
	if len(mine) != 1 {
		t.Fatalf("%d records of the engine's UpdateModelPackage, want exactly 1: %+v", len(mine), mine)
	}
	if r := mine[0]; r.PrincipalARN != c.ARN || r.Account != c.Account || r.Resource != arns[0] || r.Decision != "allow" || r.Reason == "" || r.HTTPStatus != 200 || r.ErrorCode != "" {
		t.Errorf("the engine's record = %+v; want the session %s allowed on %s, status 200", r, c.ARN, arns[0])
	}

	// Break the chain's head behind the server's back: the record cannot be appended.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(filepath.Dir(s.app.CredentialsPath()), "slipway.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM counters WHERE name = 'audit'`); err != nil {
		t.Fatal(err)
	}
	if err := approve(arns[1]); err == nil {
		t.Fatal("the engine's approval succeeded although its audit record could not be appended")
	}
	var status string
	if err := db.QueryRow(`SELECT approval_status FROM model_packages WHERE arn = $1`, arns[1]).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != string(registry.Pending) {
		t.Errorf("the package whose audit record failed is %s, want it still PendingManualApproval", status)
	}
}
