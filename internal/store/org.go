package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/events"
	"github.com/slipway-ml/slipway/internal/org"
)

// OrgStore persists the organization: a view of the shared database.
type OrgStore Store

var _ org.Store = (*OrgStore)(nil)

// Org returns the organization's store.
func (s *Store) Org() *OrgStore { return (*OrgStore)(s) }

func (s *OrgStore) base() *Store { return (*Store)(s) }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "%s does not exist", what)
	}
	return internal("store", err)
}

func conflictOr(err error, what string) error {
	if isUniqueViolation(err) {
		return errs.E(errs.Conflict, "%s exists already", what, err)
	}
	return internal("store", err)
}

// CreateOrganization creates the organization, its management account (under the root) and the
// FullAWSAccess policy attached to the root and the management account, in one transaction.
func (s *OrgStore) CreateOrganization(ctx context.Context, o org.Organization, mgmt org.Account, full org.Policy) error {
	err := s.base().write(ctx, []string{"organizations", "accounts", "org_policies", "org_policy_targets"}, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.E(errs.Conflict, "an organization exists already")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, arn, management_account, root_id, created_at) VALUES ($1,$2,$3,$4,$5)`,
			o.ID, o.ARN, o.ManagementAccount, o.RootID, micros(o.CreatedAt)); err != nil {
			return err
		}
		if err := insertAccount(ctx, tx, mgmt); err != nil {
			return err
		}
		if err := insertPolicy(ctx, tx, full); err != nil {
			return err
		}
		for _, t := range []string{o.RootID, mgmt.ID} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO org_policy_targets (policy_id, target_id) VALUES ($1,$2)`, full.ID, t); err != nil {
				return err
			}
		}
		return nil
	})
	return conflictOr(err, "the organization")
}

// GetOrganization returns the organization.
func (s *OrgStore) GetOrganization(ctx context.Context) (org.Organization, error) {
	return cachedRead(s.base(), "org", func() (org.Organization, error) { return s.getOrganization(ctx) })
}

func (s *OrgStore) getOrganization(ctx context.Context) (org.Organization, error) {
	var o org.Organization
	var created int64
	err := s.base().queryRow(ctx, `SELECT id, arn, management_account, root_id, created_at FROM organizations`).
		Scan(&o.ID, &o.ARN, &o.ManagementAccount, &o.RootID, &created)
	o.CreatedAt = fromMicros(created)
	if err != nil {
		return o, notFound(err, "the organization")
	}
	return o, nil
}

// CreateUnit inserts an OU.
func (s *OrgStore) CreateUnit(ctx context.Context, u org.Unit) error {
	_, err := s.base().exec(ctx, []string{"org_units"}, `INSERT INTO org_units (id, arn, name, parent_id, created_at) VALUES ($1,$2,$3,$4,0)`,
		u.ID, u.ARN, u.Name, u.ParentID)
	if err != nil {
		return conflictOr(err, "the organizational unit "+u.Name)
	}
	return nil
}

const unitCols = `id, arn, name, parent_id`

func scanUnit(sc interface{ Scan(...any) error }) (org.Unit, error) {
	var u org.Unit
	err := sc.Scan(&u.ID, &u.ARN, &u.Name, &u.ParentID)
	return u, err
}

// GetUnit returns an OU.
func (s *OrgStore) GetUnit(ctx context.Context, id string) (org.Unit, error) {
	return cachedRead(s.base(), "unit/"+id, func() (org.Unit, error) {
		u, err := scanUnit(s.base().queryRow(ctx, `SELECT `+unitCols+` FROM org_units WHERE id = $1`, id))
		if err != nil {
			return u, notFound(err, "organizational unit "+id)
		}
		return u, nil
	})
}

// ListUnits lists the OUs directly under a parent, by name.
func (s *OrgStore) ListUnits(ctx context.Context, parentID string) ([]org.Unit, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+unitCols+` FROM org_units WHERE parent_id = $1 ORDER BY name`, parentID)
	if err != nil {
		return nil, internal("store.ListUnits", err)
	}
	defer rows.Close()
	var out []org.Unit
	for rows.Next() {
		u, err := scanUnit(rows)
		if err != nil {
			return nil, internal("store.ListUnits", err)
		}
		out = append(out, u)
	}
	return out, internal("store.ListUnits", rows.Err())
}

func insertAccount(ctx context.Context, tx *sql.Tx, a org.Account) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, arn, name, email, parent_id, status, joined_method, joined_at, create_request_id)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		a.ID, a.ARN, a.Name, a.Email, a.ParentID, a.Status, a.JoinedMethod, micros(a.JoinedAt), a.CreateRequestID)
	return err
}

// CreateAccount inserts an account.
func (s *OrgStore) CreateAccount(ctx context.Context, a org.Account, ev events.Event) error {
	err := s.base().update(ctx, func(t *Tx) error {
		t.wrote("accounts")
		if err := insertAccount(ctx, t.tx, a); err != nil {
			return err
		}
		return t.AppendEvent(ctx, ev)
	})
	if err != nil {
		return conflictOr(err, "an account with this id, name or email")
	}
	return nil
}

const accountCols = `id, arn, name, email, parent_id, status, joined_method, joined_at, create_request_id`

func scanAccount(sc interface{ Scan(...any) error }) (org.Account, error) {
	var a org.Account
	var joined int64
	err := sc.Scan(&a.ID, &a.ARN, &a.Name, &a.Email, &a.ParentID, &a.Status, &a.JoinedMethod, &joined, &a.CreateRequestID)
	a.JoinedAt = fromMicros(joined)
	return a, err
}

func (s *OrgStore) getAccountWhere(ctx context.Context, where, arg, what string) (org.Account, error) {
	return cachedRead(s.base(), "account/"+where+"/"+arg, func() (org.Account, error) {
		a, err := scanAccount(s.base().queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE `+where+` = $1`, arg))
		if err != nil {
			return a, notFound(err, what)
		}
		return a, nil
	})
}

// GetAccount returns an account by id.
func (s *OrgStore) GetAccount(ctx context.Context, id string) (org.Account, error) {
	return s.getAccountWhere(ctx, "id", id, "account "+id)
}

// GetAccountByName returns an account by name.
func (s *OrgStore) GetAccountByName(ctx context.Context, name string) (org.Account, error) {
	return s.getAccountWhere(ctx, "name", name, "account "+name)
}

// GetAccountByRequest returns the account a CreateAccount request made.
func (s *OrgStore) GetAccountByRequest(ctx context.Context, id string) (org.Account, error) {
	return s.getAccountWhere(ctx, "create_request_id", id, "create account request "+id)
}

// ListAccounts lists accounts (all, or those directly under parentID), by name.
func (s *OrgStore) ListAccounts(ctx context.Context, parentID string) ([]org.Account, error) {
	q := `SELECT ` + accountCols + ` FROM accounts WHERE parent_id = $1 OR $1 = '' ORDER BY name`
	rows, err := s.db.QueryContext(ctx, q, parentID)
	if err != nil {
		return nil, internal("store.ListAccounts", err)
	}
	defer rows.Close()
	var out []org.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, internal("store.ListAccounts", err)
		}
		out = append(out, a)
	}
	return out, internal("store.ListAccounts", rows.Err())
}

// MoveAccount moves an account if it is still under from, and commits ev with the move.
func (s *OrgStore) MoveAccount(ctx context.Context, id, from, to string, ev events.Event) error {
	return s.base().update(ctx, func(t *Tx) error {
		t.wrote("accounts")
		res, err := t.tx.ExecContext(ctx, `UPDATE accounts SET parent_id = $1 WHERE id = $2 AND parent_id = $3`, to, id, from)
		if err != nil {
			return internal("store.MoveAccount", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "account %s is not in %s", id, from)
		}
		return t.AppendEvent(ctx, ev)
	})
}

func insertPolicy(ctx context.Context, tx *sql.Tx, p org.Policy) error {
	managed := 0
	if p.AWSManaged {
		managed = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO org_policies (id, arn, name, description, type, content, aws_managed) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		p.ID, p.ARN, p.Name, p.Description, p.Type, p.Content, managed)
	return err
}

// CreatePolicy inserts an organization policy.
func (s *OrgStore) CreatePolicy(ctx context.Context, p org.Policy) error {
	if err := s.base().write(ctx, []string{"org_policies"}, func(tx *sql.Tx) error { return insertPolicy(ctx, tx, p) }); err != nil {
		return conflictOr(err, "policy "+p.Name)
	}
	return nil
}

const policyCols = `id, arn, name, description, type, content, aws_managed`

func scanOrgPolicy(sc interface{ Scan(...any) error }) (org.Policy, error) {
	var p org.Policy
	var managed int
	err := sc.Scan(&p.ID, &p.ARN, &p.Name, &p.Description, &p.Type, &p.Content, &managed)
	p.AWSManaged = managed != 0
	return p, err
}

// GetPolicy returns an organization policy.
func (s *OrgStore) GetPolicy(ctx context.Context, id string) (org.Policy, error) {
	p, err := scanOrgPolicy(s.db.QueryRowContext(ctx, `SELECT `+policyCols+` FROM org_policies WHERE id = $1`, id))
	if err != nil {
		return p, notFound(err, "policy "+id)
	}
	return p, nil
}

func (s *OrgStore) queryOrgPolicies(ctx context.Context, q string, arg string) ([]org.Policy, error) {
	rows, err := s.db.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, internal("store.policies", err)
	}
	defer rows.Close()
	var out []org.Policy
	for rows.Next() {
		p, err := scanOrgPolicy(rows)
		if err != nil {
			return nil, internal("store.policies", err)
		}
		out = append(out, p)
	}
	return out, internal("store.policies", rows.Err())
}

// ListPolicies lists the policies of a type, by name.
func (s *OrgStore) ListPolicies(ctx context.Context, typ string) ([]org.Policy, error) {
	return s.queryOrgPolicies(ctx, `SELECT `+policyCols+` FROM org_policies WHERE type = $1 ORDER BY name`, typ)
}

// ListPoliciesForTarget lists the policies attached to a root, OU or account.
func (s *OrgStore) ListPoliciesForTarget(ctx context.Context, target string) ([]org.Policy, error) {
	return cachedRead(s.base(), "scps/"+target, func() ([]org.Policy, error) { return s.listPoliciesForTarget(ctx, target) })
}

func (s *OrgStore) listPoliciesForTarget(ctx context.Context, target string) ([]org.Policy, error) {
	return s.queryOrgPolicies(ctx, `SELECT p.id, p.arn, p.name, p.description, p.type, p.content, p.aws_managed
		FROM org_policies p JOIN org_policy_targets t ON t.policy_id = p.id WHERE t.target_id = $1 ORDER BY p.name`, target)
}

// AttachPolicy attaches a policy to a target.
func (s *OrgStore) AttachPolicy(ctx context.Context, policyID, target string) error {
	_, err := s.base().exec(ctx, []string{"org_policy_targets"}, `INSERT INTO org_policy_targets (policy_id, target_id) VALUES ($1,$2)`, policyID, target)
	if err != nil {
		return conflictOr(err, "the attachment")
	}
	return nil
}

// DetachPolicy detaches a policy from a target.
func (s *OrgStore) DetachPolicy(ctx context.Context, policyID, target string) error {
	res, err := s.base().exec(ctx, []string{"org_policy_targets"}, `DELETE FROM org_policy_targets WHERE policy_id = $1 AND target_id = $2`, policyID, target)
	if err != nil {
		return internal("store.DetachPolicy", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "policy %s is not attached to %s", policyID, target)
	}
	return nil
}

// ListTargets lists the targets a policy is attached to.
func (s *OrgStore) ListTargets(ctx context.Context, policyID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT target_id FROM org_policy_targets WHERE policy_id = $1 ORDER BY target_id`, policyID)
	if err != nil {
		return nil, internal("store.ListTargets", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, internal("store.ListTargets", err)
		}
		out = append(out, t)
	}
	return out, internal("store.ListTargets", rows.Err())
}
