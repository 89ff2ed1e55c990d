package store

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/projects"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// ProjectsStore persists SageMaker projects and an account's own project templates: a view of
// the shared database.
type ProjectsStore Store

var (
	_ projects.Store = (*ProjectsStore)(nil)
	_ projects.Tx    = projectsTx{}
)

// Projects returns the projects' store.
func (s *Store) Projects() *ProjectsStore { return (*ProjectsStore)(s) }

func (v *ProjectsStore) base() *Store { return (*Store)(v) }

// Update runs fn in one transaction with the projects' view of it.
func (v *ProjectsStore) Update(ctx context.Context, fn func(tx projects.Tx) error) error {
	return v.base().update(ctx, func(tx *Tx) error { return fn(projectsTx{tx}) })
}

type projectsTx struct{ *Tx }

func decodeProject(body string) (projects.Project, error) {
	var p projects.Project
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return p, errs.E(errs.Internal, "a stored project does not decode", err)
	}
	return p, nil
}

func decodeTemplate(body string) (projects.Template, error) {
	var t projects.Template
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return t, errs.E(errs.Internal, "a stored project template does not decode", err)
	}
	return t, nil
}

// GetProject finds an account's project by ARN or by name.
func (v *ProjectsStore) GetProject(ctx context.Context, account, nameOrARN string) (projects.Project, error) {
	q := `SELECT body FROM projects WHERE account = $1 AND name = $2`
	if strings.HasPrefix(nameOrARN, "arn:") {
		q = `SELECT body FROM projects WHERE account = $1 AND arn = $2`
	}
	var body string
	if err := v.base().queryRow(ctx, q, account, nameOrARN).Scan(&body); err != nil {
		return projects.Project{}, notFound(err, "project "+nameOrARN)
	}
	return decodeProject(body)
}

func (v *ProjectsStore) bodies(ctx context.Context, op, q string, args ...any) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, internal(op, err)
		}
		out = append(out, body)
	}
	return out, internal(op, rows.Err())
}

// ListProjects lists an account's projects, oldest first.
func (v *ProjectsStore) ListProjects(ctx context.Context, account string) ([]projects.Project, error) {
	bodies, err := v.bodies(ctx, "store.ListProjects", `SELECT body FROM projects WHERE account = $1 ORDER BY created_at, name`, account)
	if err != nil {
		return nil, err
	}
	out := make([]projects.Project, 0, len(bodies))
	for _, b := range bodies {
		p, err := decodeProject(b)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// GetTemplate finds an account's own template by name.
func (v *ProjectsStore) GetTemplate(ctx context.Context, account, name string) (projects.Template, error) {
	var body string
	if err := v.base().queryRow(ctx, `SELECT body FROM project_templates WHERE account = $1 AND name = $2`, account, name).Scan(&body); err != nil {
		return projects.Template{}, notFound(err, "project template "+name)
	}
	return decodeTemplate(body)
}

// ListTemplates lists an account's own templates by name.
func (v *ProjectsStore) ListTemplates(ctx context.Context, account string) ([]projects.Template, error) {
	bodies, err := v.bodies(ctx, "store.ListTemplates", `SELECT body FROM project_templates WHERE account = $1 ORDER BY name`, account)
	if err != nil {
		return nil, err
	}
	out := make([]projects.Template, 0, len(bodies))
	for _, b := range bodies {
		t, err := decodeTemplate(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// InsertProject inserts a new project.
func (t projectsTx) InsertProject(ctx context.Context, p projects.Project) error {
	t.wrote("projects")
	body, err := json.Marshal(p)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the project", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO projects (arn, account, name, created_at, body) VALUES ($1,$2,$3,$4,$5)`,
		p.ARN, p.Account, p.Name, micros(p.CreatedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "project "+p.Name)
	}
	return nil
}

// LockProject reads a project (by ARN) for a change.
func (t projectsTx) LockProject(ctx context.Context, arn string) (projects.Project, error) {
	q := `SELECT body FROM projects WHERE arn = $1`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var body string
	if err := t.tx.QueryRowContext(ctx, q, arn).Scan(&body); err != nil {
		if retryable(err) {
			return projects.Project{}, err
		}
		return projects.Project{}, notFound(err, "project "+arn)
	}
	return decodeProject(body)
}

// UpdateProject writes a project's new state.
func (t projectsTx) UpdateProject(ctx context.Context, p projects.Project) error {
	t.wrote("projects")
	body, err := json.Marshal(p)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the project", err)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE projects SET body = $2 WHERE arn = $1`, p.ARN, string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.UpdateProject", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "project %s does not exist", p.ARN)
	}
	return nil
}

// DeleteProject deletes a project's row.
func (t projectsTx) DeleteProject(ctx context.Context, arn string) error {
	t.wrote("projects")
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM projects WHERE arn = $1`, arn); err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.DeleteProject", err)
	}
	return nil
}

// InsertTemplate inserts an account's template.
func (t projectsTx) InsertTemplate(ctx context.Context, tpl projects.Template) error {
	t.wrote("project_templates")
	body, err := json.Marshal(tpl)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the project template", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO project_templates (account, name, created_at, body) VALUES ($1,$2,$3,$4)`,
		tpl.Account, tpl.Name(), micros(tpl.CreatedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "project template "+tpl.Name())
	}
	return nil
}

// DeleteTemplate deletes an account's template; errs.NotFound when it has none of that name.
func (t projectsTx) DeleteTemplate(ctx context.Context, account, name string) error {
	t.wrote("project_templates")
	res, err := t.tx.ExecContext(ctx, `DELETE FROM project_templates WHERE account = $1 AND name = $2`, account, name)
	if err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.DeleteTemplate", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "project template %s does not exist", name)
	}
	return nil
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t projectsTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
