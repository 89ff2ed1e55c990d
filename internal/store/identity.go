package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/identity"
)

// IdentityStore persists principals, policies and access keys: a view of the shared database.
type IdentityStore Store

var _ identity.Store = (*IdentityStore)(nil)

// Identity returns the identity store.
func (s *Store) Identity() *IdentityStore { return (*IdentityStore)(s) }

func (s *IdentityStore) base() *Store { return (*Store)(s) }

func tagsJSON(t map[string]string) string {
	if len(t) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(t)
	return string(b)
}

// CreatePrincipal inserts a user or role.
func (s *IdentityStore) CreatePrincipal(ctx context.Context, p identity.Principal) error {
	_, err := s.base().exec(ctx, []string{"iam_principals"}, `INSERT INTO iam_principals (account, kind, name, id, arn, path, description, trust_policy, max_session_duration, tags, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
		p.Account, p.Kind, p.Name, p.ID, p.ARN, p.Path, p.Description, p.TrustPolicy, p.MaxSessionDuration, tagsJSON(p.Tags), micros(p.CreatedAt))
	if err != nil {
		return conflictOr(err, p.Kind+" "+p.Name)
	}
	return nil
}

const principalCols = `account, kind, name, id, arn, path, description, trust_policy, max_session_duration, tags, created_at`

func scanPrincipal(sc interface{ Scan(...any) error }) (identity.Principal, error) {
	var p identity.Principal
	var tags string
	var created int64
	err := sc.Scan(&p.Account, &p.Kind, &p.Name, &p.ID, &p.ARN, &p.Path, &p.Description, &p.TrustPolicy, &p.MaxSessionDuration, &tags, &created)
	if err == nil && tags != "{}" {
		err = json.Unmarshal([]byte(tags), &p.Tags)
	}
	p.CreatedAt = fromMicros(created)
	return p, err
}

// GetPrincipal returns a user or role.
func (s *IdentityStore) GetPrincipal(ctx context.Context, account, kind, name string) (identity.Principal, error) {
	return cachedRead(s.base(), "principal/"+account+"/"+kind+"/"+name, func() (identity.Principal, error) {
		return s.getPrincipal(ctx, account, kind, name)
	})
}

func (s *IdentityStore) getPrincipal(ctx context.Context, account, kind, name string) (identity.Principal, error) {
	p, err := scanPrincipal(s.base().queryRow(ctx, `SELECT `+principalCols+` FROM iam_principals WHERE account = $1 AND kind = $2 AND name = $3`, account, kind, name))
	if err != nil {
		return p, notFound(err, kind+" "+name)
	}
	return p, nil
}

// ListPrincipals lists users or roles under a path prefix, by name.
func (s *IdentityStore) ListPrincipals(ctx context.Context, account, kind, prefix string) ([]identity.Principal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+principalCols+` FROM iam_principals WHERE account = $1 AND kind = $2 ORDER BY name`, account, kind)
	if err != nil {
		return nil, internal("store.ListPrincipals", err)
	}
	defer rows.Close()
	var out []identity.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, internal("store.ListPrincipals", err)
		}
		if strings.HasPrefix(p.Path, prefix) {
			out = append(out, p)
		}
	}
	return out, internal("store.ListPrincipals", rows.Err())
}

// DeletePrincipal deletes a principal with nothing left attached.
func (s *IdentityStore) DeletePrincipal(ctx context.Context, account, kind, name string) error {
	return s.base().write(ctx, []string{"iam_principals", "access_keys"}, func(tx *sql.Tx) error {
		checks := []struct{ q, what string }{
			{`SELECT COUNT(*) FROM iam_inline_policies WHERE account = $1 AND kind = $2 AND principal = $3`, "delete policies"},
			{`SELECT COUNT(*) FROM iam_attachments WHERE account = $1 AND kind = $2 AND principal = $3`, "detach all policies"},
			{`SELECT COUNT(*) FROM access_keys WHERE account = $1 AND $2 = 'user' AND user_name = $3`, "delete access keys"},
		}
		for _, c := range checks {
			var n int
			if err := tx.QueryRowContext(ctx, c.q, account, kind, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return errs.E(errs.Conflict, "%s", c.what)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM iam_principals WHERE account = $1 AND kind = $2 AND name = $3`, account, kind, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "%s %s does not exist", kind, name)
		}
		if kind == identity.KindRole {
			// Sessions of a deleted role die with it.
			_, err = tx.ExecContext(ctx, `DELETE FROM access_keys WHERE account = $1 AND role_name = $2`, account, name)
		}
		return err
	})
}

// PutInlinePolicy adds or replaces an inline policy.
func (s *IdentityStore) PutInlinePolicy(ctx context.Context, account, kind, principal string, p identity.InlinePolicy) error {
	_, err := s.base().exec(ctx, []string{"iam_inline_policies"}, `INSERT INTO iam_inline_policies (account, kind, principal, name, document) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (account, kind, principal, name) DO UPDATE SET document = excluded.document`, account, kind, principal, p.Name, p.Document)
	return internal("store.PutInlinePolicy", err)
}

// GetInlinePolicy returns an inline policy.
func (s *IdentityStore) GetInlinePolicy(ctx context.Context, account, kind, principal, name string) (identity.InlinePolicy, error) {
	p := identity.InlinePolicy{Name: name}
	err := s.db.QueryRowContext(ctx, `SELECT document FROM iam_inline_policies WHERE account = $1 AND kind = $2 AND principal = $3 AND name = $4`,
		account, kind, principal, name).Scan(&p.Document)
	if err != nil {
		return p, notFound(err, "policy "+name)
	}
	return p, nil
}

// ListInlinePolicies lists inline policies by name.
func (s *IdentityStore) ListInlinePolicies(ctx context.Context, account, kind, principal string) ([]identity.InlinePolicy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, document FROM iam_inline_policies WHERE account = $1 AND kind = $2 AND principal = $3 ORDER BY name`, account, kind, principal)
	if err != nil {
		return nil, internal("store.ListInlinePolicies", err)
	}
	defer rows.Close()
	var out []identity.InlinePolicy
	for rows.Next() {
		var p identity.InlinePolicy
		if err := rows.Scan(&p.Name, &p.Document); err != nil {
			return nil, internal("store.ListInlinePolicies", err)
		}
		out = append(out, p)
	}
	return out, internal("store.ListInlinePolicies", rows.Err())
}

// DeleteInlinePolicy deletes an inline policy.
func (s *IdentityStore) DeleteInlinePolicy(ctx context.Context, account, kind, principal, name string) error {
	res, err := s.base().exec(ctx, []string{"iam_inline_policies"}, `DELETE FROM iam_inline_policies WHERE account = $1 AND kind = $2 AND principal = $3 AND name = $4`, account, kind, principal, name)
	if err != nil {
		return internal("store.DeleteInlinePolicy", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "policy %s does not exist", name)
	}
	return nil
}

// CreateManagedPolicy inserts a managed policy.
func (s *IdentityStore) CreateManagedPolicy(ctx context.Context, p identity.ManagedPolicy) error {
	_, err := s.base().exec(ctx, []string{"iam_managed_policies"}, `INSERT INTO iam_managed_policies (account, name, id, arn, path, description, document, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, p.Account, p.Name, p.ID, p.ARN, p.Path, p.Description, p.Document, micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return conflictOr(err, "policy "+p.Name)
	}
	return nil
}

const managedCols = `m.account, m.name, m.id, m.arn, m.path, m.description, m.document, m.created_at, m.updated_at,
	(SELECT COUNT(*) FROM iam_attachments a WHERE a.policy_arn = m.arn)`

func scanManaged(sc interface{ Scan(...any) error }) (identity.ManagedPolicy, error) {
	var p identity.ManagedPolicy
	var c, u int64
	err := sc.Scan(&p.Account, &p.Name, &p.ID, &p.ARN, &p.Path, &p.Description, &p.Document, &c, &u, &p.Attachments)
	p.CreatedAt, p.UpdatedAt = fromMicros(c), fromMicros(u)
	return p, err
}

func (s *IdentityStore) queryManaged(ctx context.Context, q string, args ...any) ([]identity.ManagedPolicy, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, internal("store.managedPolicies", err)
	}
	defer rows.Close()
	var out []identity.ManagedPolicy
	for rows.Next() {
		p, err := scanManaged(rows)
		if err != nil {
			return nil, internal("store.managedPolicies", err)
		}
		out = append(out, p)
	}
	return out, internal("store.managedPolicies", rows.Err())
}

// GetManagedPolicy returns a managed policy by ARN.
func (s *IdentityStore) GetManagedPolicy(ctx context.Context, arn string) (identity.ManagedPolicy, error) {
	p, err := scanManaged(s.db.QueryRowContext(ctx, `SELECT `+managedCols+` FROM iam_managed_policies m WHERE m.arn = $1`, arn))
	if err != nil {
		return p, notFound(err, "policy "+arn)
	}
	return p, nil
}

// ListManagedPolicies lists an account's managed policies by name.
func (s *IdentityStore) ListManagedPolicies(ctx context.Context, account string) ([]identity.ManagedPolicy, error) {
	return s.queryManaged(ctx, `SELECT `+managedCols+` FROM iam_managed_policies m WHERE m.account = $1 ORDER BY m.name`, account)
}

// DeleteManagedPolicy deletes a managed policy.
func (s *IdentityStore) DeleteManagedPolicy(ctx context.Context, arn string) error {
	_, err := s.base().exec(ctx, []string{"iam_managed_policies"}, `DELETE FROM iam_managed_policies WHERE arn = $1`, arn)
	return internal("store.DeleteManagedPolicy", err)
}

// Attach attaches a managed policy.
func (s *IdentityStore) Attach(ctx context.Context, account, kind, principal, arn string) error {
	_, err := s.base().exec(ctx, []string{"iam_attachments"}, `INSERT INTO iam_attachments (account, kind, principal, policy_arn) VALUES ($1,$2,$3,$4)`, account, kind, principal, arn)
	if err != nil {
		return conflictOr(err, "the attachment")
	}
	return nil
}

// Detach detaches a managed policy.
func (s *IdentityStore) Detach(ctx context.Context, account, kind, principal, arn string) error {
	res, err := s.base().exec(ctx, []string{"iam_attachments"}, `DELETE FROM iam_attachments WHERE account = $1 AND kind = $2 AND principal = $3 AND policy_arn = $4`, account, kind, principal, arn)
	if err != nil {
		return internal("store.Detach", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "policy %s is not attached", arn)
	}
	return nil
}

// ListAttached lists the managed policies attached to a principal.
func (s *IdentityStore) ListAttached(ctx context.Context, account, kind, principal string) ([]identity.ManagedPolicy, error) {
	return s.queryManaged(ctx, `SELECT `+managedCols+` FROM iam_managed_policies m JOIN iam_attachments t ON t.policy_arn = m.arn
		WHERE t.account = $1 AND t.kind = $2 AND t.principal = $3 ORDER BY m.name`, account, kind, principal)
}

// CountAttachments counts an account's attachments of a policy.
func (s *IdentityStore) CountAttachments(ctx context.Context, account, arn string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM iam_attachments WHERE account = $1 AND policy_arn = $2`, account, arn).Scan(&n)
	return n, internal("store.CountAttachments", err)
}

// PoliciesOf returns the inline and attached policy documents of a principal.
func (s *IdentityStore) PoliciesOf(ctx context.Context, account, kind, principal string) ([]identity.NamedDocument, error) {
	return cachedRead(s.base(), "policies/"+account+"/"+kind+"/"+principal, func() ([]identity.NamedDocument, error) {
		return s.policiesOf(ctx, account, kind, principal)
	})
}

func (s *IdentityStore) policiesOf(ctx context.Context, account, kind, principal string) ([]identity.NamedDocument, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT 'inline policy ' || name, document FROM iam_inline_policies WHERE account = $1 AND kind = $2 AND principal = $3
		UNION ALL
		SELECT 'managed policy ' || m.arn, m.document FROM iam_managed_policies m JOIN iam_attachments t ON t.policy_arn = m.arn
		WHERE t.account = $1 AND t.kind = $2 AND t.principal = $3`, account, kind, principal)
	if err != nil {
		return nil, internal("store.PoliciesOf", err)
	}
	defer rows.Close()
	var out []identity.NamedDocument
	for rows.Next() {
		var d identity.NamedDocument
		if err := rows.Scan(&d.Name, &d.Document); err != nil {
			return nil, internal("store.PoliciesOf", err)
		}
		out = append(out, d)
	}
	return out, internal("store.PoliciesOf", rows.Err())
}

// CreateAccessKey inserts an access key, within a user's quota when limit > 0.
func (s *IdentityStore) CreateAccessKey(ctx context.Context, k identity.AccessKey, limit int) error {
	policies := ""
	if len(k.SessionPolicies) > 0 {
		b, err := json.Marshal(k.SessionPolicies)
		if err != nil {
			return internal("store.CreateAccessKey", err)
		}
		policies = string(b)
	}
	err := s.base().write(ctx, []string{"access_keys"}, func(tx *sql.Tx) error {
		if limit > 0 {
			if s.dialect == Postgres {
				// Serialise key creation per user: the count below must not race another.
				var one int
				if err := tx.QueryRowContext(ctx, `SELECT 1 FROM iam_principals WHERE account = $1 AND kind = 'user' AND name = $2 FOR UPDATE`, k.Account, k.UserName).Scan(&one); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_keys WHERE account = $1 AND user_name = $2`, k.Account, k.UserName).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return errs.E(errs.LimitExceeded, "the user has %d access keys", n)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO access_keys (id, account, user_name, role_name, session_name, sealed_secret, sealed_token, status, created_at, expires_at, session_policies)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
			k.ID, k.Account, k.UserName, k.RoleName, k.SessionName, k.SealedSecret, k.SealedToken, k.Status, micros(k.CreatedAt), micros(k.ExpiresAt), policies)
		return err
	})
	if err != nil {
		return conflictOr(err, "access key")
	}
	return nil
}

const keyCols = `id, account, user_name, role_name, session_name, sealed_secret, sealed_token, status, created_at, expires_at, session_policies`

func scanKey(sc interface{ Scan(...any) error }) (identity.AccessKey, error) {
	var k identity.AccessKey
	var c, e int64
	var policies string
	err := sc.Scan(&k.ID, &k.Account, &k.UserName, &k.RoleName, &k.SessionName, &k.SealedSecret, &k.SealedToken, &k.Status, &c, &e, &policies)
	k.CreatedAt, k.ExpiresAt = fromMicros(c), fromMicros(e)
	if err == nil && policies != "" {
		err = json.Unmarshal([]byte(policies), &k.SessionPolicies)
	}
	return k, err
}

// GetAccessKey returns an access key.
func (s *IdentityStore) GetAccessKey(ctx context.Context, id string) (identity.AccessKey, error) {
	return cachedRead(s.base(), "key/"+id, func() (identity.AccessKey, error) {
		k, err := scanKey(s.base().queryRow(ctx, `SELECT `+keyCols+` FROM access_keys WHERE id = $1`, id))
		if err != nil {
			return k, notFound(err, "access key")
		}
		return k, nil
	})
}

// ListAccessKeys lists a user's long-term keys.
func (s *IdentityStore) ListAccessKeys(ctx context.Context, account, user string) ([]identity.AccessKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyCols+` FROM access_keys WHERE account = $1 AND user_name = $2 ORDER BY created_at, id`, account, user)
	if err != nil {
		return nil, internal("store.ListAccessKeys", err)
	}
	defer rows.Close()
	var out []identity.AccessKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, internal("store.ListAccessKeys", err)
		}
		out = append(out, k)
	}
	return out, internal("store.ListAccessKeys", rows.Err())
}

// DeleteAccessKey deletes a user's access key.
func (s *IdentityStore) DeleteAccessKey(ctx context.Context, account, user, id string) error {
	res, err := s.base().exec(ctx, []string{"access_keys"}, `DELETE FROM access_keys WHERE account = $1 AND user_name = $2 AND id = $3`, account, user, id)
	if err != nil {
		return internal("store.DeleteAccessKey", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "access key %s does not exist", id)
	}
	return nil
}

// DeleteExpiredSessions deletes the session keys (keys of no user) that expired at or before now.
func (s *IdentityStore) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	defer s.cache.invalidate("access_keys")
	var n int64
	err := s.base().autocommit(ctx, func() error {
		res, err := s.db.ExecContext(ctx, `DELETE FROM access_keys WHERE user_name = '' AND expires_at > 0 AND expires_at <= $1`, micros(now))
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return 0, internal("store.DeleteExpiredSessions", err)
	}
	return int(n), nil
}
