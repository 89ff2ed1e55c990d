package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/registry"
)

// RegistryStore persists the model registry: a view of the shared database.
type RegistryStore Store

var (
	_ registry.Store = (*RegistryStore)(nil)
	_ registry.Tx    = registryTx{}
)

// Registry returns the registry's store.
func (s *Store) Registry() *RegistryStore { return (*RegistryStore)(s) }

func (r *RegistryStore) base() *Store { return (*Store)(r) }

// Update runs fn in one transaction with the registry's view of it.
func (r *RegistryStore) Update(ctx context.Context, fn func(tx registry.Tx) error) error {
	return r.base().update(ctx, func(tx *Tx) error { return fn(registryTx{tx}) })
}

// registryTx is the registry's view of a transaction.
type registryTx struct{ *Tx }

// CreateGroup inserts a group.
func (t registryTx) CreateGroup(ctx context.Context, g registry.Group) error {
	t.wrote("model_package_groups")
	by, _ := json.Marshal(g.CreatedBy)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO model_package_groups (account, name, arn, description, status, created_at, created_by, next_version, policy)
		VALUES ($1,$2,$3,$4,$5,$6,$7,0,$8)`, g.Account, g.Name, g.ARN, g.Description, g.Status, micros(g.CreatedAt), string(by), g.Policy)
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "model package group "+g.Name)
	}
	return nil
}

const groupCols = `account, name, arn, description, status, created_at, created_by, policy`

func scanGroup(sc interface{ Scan(...any) error }) (registry.Group, error) {
	var g registry.Group
	var created int64
	var by string
	err := sc.Scan(&g.Account, &g.Name, &g.ARN, &g.Description, &g.Status, &created, &by, &g.Policy)
	if err == nil {
		err = json.Unmarshal([]byte(by), &g.CreatedBy)
	}
	g.CreatedAt = fromMicros(created)
	return g, err
}

// GetGroup returns a group.
func (r *RegistryStore) GetGroup(ctx context.Context, account, name string) (registry.Group, error) {
	return cachedRead(r.base(), "group/"+account+"/"+name, func() (registry.Group, error) {
		g, err := scanGroup(r.base().queryRow(ctx, `SELECT `+groupCols+` FROM model_package_groups WHERE account = $1 AND name = $2`, account, name))
		if err != nil {
			return g, notFound(err, "model package group "+name)
		}
		return g, nil
	})
}

func orderBy(sortBy string, desc bool, byName, byTime string) string {
	col := byTime
	if sortBy == "Name" {
		col = byName
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	parts := strings.Split(col, ",")
	for i := range parts {
		parts[i] += dir
	}
	return " ORDER BY " + strings.Join(parts, ",")
}

func limitOffset(limit, offset int) string {
	if limit <= 0 {
		limit = 100
	}
	return " LIMIT " + strconv.Itoa(limit) + " OFFSET " + strconv.Itoa(max(offset, 0))
}

// ListGroups lists an account's groups.
func (r *RegistryStore) ListGroups(ctx context.Context, account string, q registry.GroupQuery) ([]registry.Group, error) {
	query := `SELECT ` + groupCols + ` FROM model_package_groups WHERE account = $1
		AND ($2 = '' OR name LIKE '%' || $2 || '%') AND ($3 = 0 OR created_at > $3) AND ($4 = 0 OR created_at < $4)` +
		orderBy(q.SortBy, q.Descending, "name", "created_at,name") + limitOffset(q.Limit, q.Offset)
	rows, err := r.db.QueryContext(ctx, query, account, q.NameContains, micros(q.CreatedAfter), micros(q.CreatedBefore))
	if err != nil {
		return nil, internal("store.ListGroups", err)
	}
	defer rows.Close()
	var out []registry.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, internal("store.ListGroups", err)
		}
		out = append(out, g)
	}
	return out, internal("store.ListGroups", rows.Err())
}

// DeleteGroup deletes an empty group.
func (t registryTx) DeleteGroup(ctx context.Context, account, name string) error {
	t.wrote("model_package_groups")
	// Lock the group row first: NextVersion updates it, so a concurrent creation either
	// commits before this count sees its package or waits and then finds no group.
	if t.s.dialect == Postgres {
		var one int
		err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM model_package_groups WHERE account = $1 AND name = $2 FOR UPDATE`, account, name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "model package group %s does not exist", name)
		}
		if err != nil {
			return err
		}
	}
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM model_packages WHERE account = $1 AND group_name = $2`, account, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errs.E(errs.Conflict, "model package group %s holds %d packages", name, n)
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM model_package_groups WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "model package group %s does not exist", name)
	}
	return nil
}

// SetGroupPolicy sets or clears a group's resource policy.
func (t registryTx) SetGroupPolicy(ctx context.Context, account, name, policy string) error {
	t.wrote("model_package_groups")
	res, err := t.tx.ExecContext(ctx, `UPDATE model_package_groups SET policy = $1 WHERE account = $2 AND name = $3`, policy, account, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "model package group %s does not exist", name)
	}
	return nil
}

// pkgRow is the stored form of a package's document.
type pkgRow struct {
	Description         string                     `json:"description,omitempty"`
	Status              string                     `json:"status"`
	ApprovalDescription string                     `json:"approvalDescription,omitempty"`
	CreatedBy           registry.UserContext       `json:"createdBy"`
	ModifiedBy          *registry.UserContext      `json:"modifiedBy,omitempty"`
	Details             map[string]json.RawMessage `json:"details,omitempty"`
	History             []registry.ApprovalChange  `json:"history,omitempty"`
}

func pkgDocument(p registry.Package) (string, error) {
	b, err := json.Marshal(pkgRow{
		Description: p.Description, Status: p.Status, ApprovalDescription: p.ApprovalDescription,
		CreatedBy: p.CreatedBy, ModifiedBy: p.ModifiedBy, Details: p.Details, History: p.History,
	})
	return string(b), err
}

const pkgCols = `account, group_name, version, arn, approval_status, client_token, created_at, modified_at, document`

func scanPackage(sc interface{ Scan(...any) error }) (registry.Package, error) {
	var p registry.Package
	var token sql.NullString
	var created, modified int64
	var doc, status string
	err := sc.Scan(&p.Account, &p.GroupName, &p.Version, &p.ARN, &status, &token, &created, &modified, &doc)
	if err != nil {
		return p, err
	}
	var row pkgRow
	if err := json.Unmarshal([]byte(doc), &row); err != nil {
		return p, err
	}
	p.ApprovalStatus = registry.ApprovalStatus(status)
	p.ClientToken = token.String
	p.CreatedAt, p.ModifiedAt = fromMicros(created), fromMicros(modified)
	p.Description, p.Status, p.ApprovalDescription = row.Description, row.Status, row.ApprovalDescription
	p.CreatedBy, p.ModifiedBy, p.Details, p.History = row.CreatedBy, row.ModifiedBy, row.Details, row.History
	return p, nil
}

// NextVersion allocates the group's next version number.
func (t registryTx) NextVersion(ctx context.Context, account, group string) (int, error) {
	var version int
	err := t.tx.QueryRowContext(ctx, `UPDATE model_package_groups SET next_version = next_version + 1 WHERE account = $1 AND name = $2 RETURNING next_version`, account, group).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "Model Package Group %s does not exist.", group).WithCode("ValidationException")
	}
	return version, err
}

// PackageByClientToken returns the group's package created with token.
func (t registryTx) PackageByClientToken(ctx context.Context, account, group, token string) (registry.Package, error) {
	p, err := scanPackage(t.tx.QueryRowContext(ctx, `SELECT `+pkgCols+` FROM model_packages WHERE account = $1 AND group_name = $2 AND client_token = $3`, account, group, token))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.E(errs.NotFound, "no model package of %s has client token %s", group, token)
	}
	return p, err
}

// InsertPackage inserts a new package.
func (t registryTx) InsertPackage(ctx context.Context, p registry.Package) error {
	t.wrote("model_packages")
	doc, err := pkgDocument(p)
	if err != nil {
		return err
	}
	var tok any
	if p.ClientToken != "" {
		tok = p.ClientToken
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO model_packages (`+pkgCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		p.Account, p.GroupName, p.Version, p.ARN, string(p.ApprovalStatus), tok, micros(p.CreatedAt), micros(p.ModifiedAt), doc)
	if err != nil && p.ClientToken != "" && isUniqueViolation(err) && isClientTokenViolation(err) {
		// A concurrent request with the same token committed first: run again, and the
		// retry's PackageByClientToken returns its package.
		return errRetry
	}
	return err
}

// GetPackage returns a package version.
func (r *RegistryStore) GetPackage(ctx context.Context, account, group string, version int) (registry.Package, error) {
	return cachedRead(r.base(), "package/"+account+"/"+group+"/"+strconv.Itoa(version), func() (registry.Package, error) {
		p, err := scanPackage(r.base().queryRow(ctx, `SELECT `+pkgCols+` FROM model_packages WHERE account = $1 AND group_name = $2 AND version = $3`, account, group, version))
		if err != nil {
			return p, notFound(err, "model package")
		}
		return p, nil
	})
}

// ListPackages lists packages.
func (r *RegistryStore) ListPackages(ctx context.Context, account string, q registry.PackageQuery) ([]registry.Package, error) {
	query := `SELECT ` + pkgCols + ` FROM model_packages WHERE account = $1
		AND ($2 = '' OR group_name = $2) AND ($3 = '' OR group_name LIKE '%' || $3 || '%') AND ($4 = '' OR approval_status = $4)
		AND ($5 = 0 OR created_at > $5) AND ($6 = 0 OR created_at < $6)` +
		orderBy(q.SortBy, q.Descending, "group_name,version", "created_at,version") + limitOffset(q.Limit, q.Offset)
	rows, err := r.db.QueryContext(ctx, query, account, q.GroupName, q.NameContains, string(q.ApprovalStatus), micros(q.CreatedAfter), micros(q.CreatedBefore))
	if err != nil {
		return nil, internal("store.ListPackages", err)
	}
	defer rows.Close()
	var out []registry.Package
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, internal("store.ListPackages", err)
		}
		out = append(out, p)
	}
	return out, internal("store.ListPackages", rows.Err())
}

// LockPackage reads a package for a change.
func (t registryTx) LockPackage(ctx context.Context, account, group string, version int) (registry.Package, error) {
	q := `SELECT ` + pkgCols + ` FROM model_packages WHERE account = $1 AND group_name = $2 AND version = $3`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	p, err := scanPackage(t.tx.QueryRowContext(ctx, q, account, group, version))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.E(errs.NotFound, "Model Package does not exist.").WithCode("ValidationException")
	}
	return p, err
}

// UpdatePackage stores a changed package.
func (t registryTx) UpdatePackage(ctx context.Context, p registry.Package) error {
	t.wrote("model_packages")
	doc, err := pkgDocument(p)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE model_packages SET approval_status = $1, modified_at = $2, document = $3 WHERE account = $4 AND group_name = $5 AND version = $6`,
		string(p.ApprovalStatus), micros(p.ModifiedAt), doc, p.Account, p.GroupName, p.Version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "Model Package does not exist.").WithCode("ValidationException")
	}
	return nil
}

// DeletePackage deletes a package version.
func (t registryTx) DeletePackage(ctx context.Context, account, group string, version int) error {
	t.wrote("model_packages")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM model_packages WHERE account = $1 AND group_name = $2 AND version = $3`, account, group, version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "model package does not exist")
	}
	return nil
}

// LockTags reads a resource's tags, holding off other changes to them until the transaction
// ends: SQLite transactions already run one at a time (BEGIN IMMEDIATE); on PostgreSQL a
// transaction-scoped advisory lock keyed by the ARN serializes them.
func (t registryTx) LockTags(ctx context.Context, arn string) (map[string]string, error) {
	if t.s.dialect == Postgres {
		if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('tags:' || $1, 0))`, arn); err != nil {
			return nil, internal("store.LockTags", err)
		}
	}
	return readTags(ctx, t.tx, arn, "store.LockTags")
}

// AddTags adds or replaces tags.
func (t registryTx) AddTags(ctx context.Context, arn string, tags map[string]string) error {
	t.wrote("tags")
	for k, v := range tags {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO tags (resource_arn, key, value) VALUES ($1,$2,$3)
			ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value`, arn, k, v); err != nil {
			return err
		}
	}
	return nil
}

// ListTags returns a resource's tags.
func (r *RegistryStore) ListTags(ctx context.Context, arn string) (map[string]string, error) {
	return cachedRead(r.base(), "tags/"+arn, func() (map[string]string, error) { return r.listTags(ctx, arn) })
}

func (r *RegistryStore) listTags(ctx context.Context, arn string) (map[string]string, error) {
	return readTags(ctx, r.db, arn, "store.ListTags")
}

// readTags reads a resource's tags through q (the handle, or a transaction).
func readTags(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, arn, op string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM tags WHERE resource_arn = $1`, arn)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, internal(op, err)
		}
		out[k] = v
	}
	return out, internal(op, rows.Err())
}

// DeleteTags deletes tags by key, or all of a resource's tags when keys is nil.
func (t registryTx) DeleteTags(ctx context.Context, arn string, keys []string) error {
	t.wrote("tags")
	if keys == nil {
		_, err := t.tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_arn = $1`, arn)
		return err
	}
	for _, k := range keys {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_arn = $1 AND key = $2`, arn, k); err != nil {
			return err
		}
	}
	return nil
}
