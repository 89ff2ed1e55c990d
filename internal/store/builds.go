package store

import (
	"context"
	"database/sql"

	"github.com/slipway-ml/slipway/internal/builds"
	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// BuildsStore persists build projects and builds: a view of the shared database.
type BuildsStore Store

var (
	_ builds.Store = (*BuildsStore)(nil)
	_ builds.Tx    = buildsTx{}
)

// Builds returns the build projects' store.
func (s *Store) Builds() *BuildsStore { return (*BuildsStore)(s) }

func (v *BuildsStore) base() *Store { return (*Store)(v) }

// Update runs fn in one transaction with builds' view of it.
func (v *BuildsStore) Update(ctx context.Context, fn func(tx builds.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(buildsTx{tx}) })
}

type buildsTx struct{ *Tx }

// GetProject returns a project.
func (v *BuildsStore) GetProject(ctx context.Context, account, name string) (builds.Project, error) {
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM codebuild_projects WHERE account = $1 AND name = $2`, account, name).Scan(&body)
	if err != nil {
		return builds.Project{}, notFound(err, "build project "+name)
	}
	return decodeBody[builds.Project](body, "build project")
}

// ListProjects lists an account's projects by name.
func (v *BuildsStore) ListProjects(ctx context.Context, account string) ([]builds.Project, error) {
	return listBodies[builds.Project](ctx, v.base(), "store.ListBuildProjects", "build project",
		`SELECT body FROM codebuild_projects WHERE account = $1 ORDER BY name`, account)
}

// GetBuild returns a build.
func (v *BuildsStore) GetBuild(ctx context.Context, account, id string) (builds.Build, error) {
	var body string
	err := v.base().queryRow(ctx, `SELECT body FROM codebuild_builds WHERE account = $1 AND id = $2`, account, id).Scan(&body)
	if err != nil {
		return builds.Build{}, notFound(err, "build "+id)
	}
	return decodeBody[builds.Build](body, "build")
}

func (v *BuildsStore) strings(ctx context.Context, op, q string, args ...any) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, internal(op, err)
		}
		if a != "" {
			out = append(out, builds.WorkKey(a, b))
		} else {
			out = append(out, b)
		}
	}
	return out, internal(op, rows.Err())
}

// ListBuilds lists a project's build ids, newest first.
func (v *BuildsStore) ListBuilds(ctx context.Context, account, project string) ([]string, error) {
	return v.strings(ctx, "store.ListBuilds", `SELECT '', id FROM codebuild_builds WHERE account = $1 AND project = $2 ORDER BY number DESC`, account, project)
}

// ActiveBuilds lists the work keys of the builds not yet ended.
func (v *BuildsStore) ActiveBuilds(ctx context.Context) ([]string, error) {
	return v.strings(ctx, "store.ActiveBuilds", `SELECT account, id FROM codebuild_builds WHERE status = 'IN_PROGRESS' ORDER BY account, id`)
}

func (t buildsTx) fail(err error, what string) error {
	if retryable(err) {
		return err
	}
	return conflictOr(err, what)
}

// InsertProject inserts a project.
func (t buildsTx) InsertProject(ctx context.Context, p builds.Project) error {
	t.wrote("codebuild_projects")
	body, err := encodeBody(p, "build project")
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO codebuild_projects (account, name, created_at, body) VALUES ($1,$2,$3,$4)`,
		p.Account, p.Name, micros(p.CreatedAt), body)
	if err != nil {
		return t.fail(err, "build project "+p.Name)
	}
	return nil
}

// LockProject reads a project for a change.
func (t buildsTx) LockProject(ctx context.Context, account, name string) (builds.Project, error) {
	q := `SELECT body FROM codebuild_projects WHERE account = $1 AND name = $2`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, q, account, name).Scan(&body); err != nil {
		if retryable(err) {
			return builds.Project{}, err
		}
		return builds.Project{}, notFound(err, "build project "+name)
	}
	return decodeBody[builds.Project](body, "build project")
}

// UpdateProject writes a project.
func (t buildsTx) UpdateProject(ctx context.Context, p builds.Project) error {
	t.wrote("codebuild_projects")
	body, err := encodeBody(p, "build project")
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE codebuild_projects SET body = $3 WHERE account = $1 AND name = $2`, p.Account, p.Name, body)
	if err != nil {
		return t.fail(err, "build project "+p.Name)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "build project %s does not exist", p.Name)
	}
	return nil
}

// DeleteProject deletes a project; its builds stay.
func (t buildsTx) DeleteProject(ctx context.Context, account, name string) error {
	t.wrote("codebuild_projects")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM codebuild_projects WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.DeleteBuildProject", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "build project %s does not exist", name)
	}
	return nil
}

// InsertBuild inserts a build.
func (t buildsTx) InsertBuild(ctx context.Context, b builds.Build) error {
	t.wrote("codebuild_builds")
	body, err := encodeBody(b, "build")
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO codebuild_builds (account, id, project, number, status, token, body) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		b.Account, b.ID, b.ProjectName, b.Number, string(b.Status), b.IdempotencyToken, body)
	if err != nil {
		if isUniqueViolation(err) {
			return errRetry // another build took the number first
		}
		return t.fail(err, "build "+b.ID)
	}
	return nil
}

// LockBuild reads a build for a change.
func (t buildsTx) LockBuild(ctx context.Context, account, id string) (builds.Build, error) {
	q := `SELECT body FROM codebuild_builds WHERE account = $1 AND id = $2`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, q, account, id).Scan(&body); err != nil {
		if retryable(err) {
			return builds.Build{}, err
		}
		return builds.Build{}, notFound(err, "build "+id)
	}
	return decodeBody[builds.Build](body, "build")
}

// UpdateBuild writes a build.
func (t buildsTx) UpdateBuild(ctx context.Context, b builds.Build) error {
	t.wrote("codebuild_builds")
	body, err := encodeBody(b, "build")
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE codebuild_builds SET status = $3, body = $4 WHERE account = $1 AND id = $2`,
		b.Account, b.ID, string(b.Status), body)
	if err != nil {
		return t.fail(err, "build "+b.ID)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "build %s does not exist", b.ID)
	}
	return nil
}

// NextNumber returns the number of a project's next build.
func (t buildsTx) NextNumber(ctx context.Context, account, project string) (int64, error) {
	var n sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, `SELECT MAX(number) FROM codebuild_builds WHERE account = $1 AND project = $2`, account, project).Scan(&n); err != nil {
		if retryable(err) {
			return 0, err
		}
		return 0, internal("store.NextBuildNumber", err)
	}
	return n.Int64 + 1, nil
}

// BuildByToken finds the build started for a project with an idempotency token.
func (t buildsTx) BuildByToken(ctx context.Context, account, project, token string) (builds.Build, error) {
	var body string
	err := t.tx.QueryRowContext(ctx, `SELECT body FROM codebuild_builds WHERE account = $1 AND project = $2 AND token = $3`, account, project, token).Scan(&body)
	if err != nil {
		if retryable(err) {
			return builds.Build{}, err
		}
		return builds.Build{}, notFound(err, "build for token")
	}
	return decodeBody[builds.Build](body, "build")
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t buildsTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
