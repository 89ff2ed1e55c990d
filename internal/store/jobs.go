package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/jobs"
	"github.com/slipway-ml/slipway/internal/reconcile"
)

// JobsStore persists processing, training and transform jobs: a view of the shared database.
type JobsStore Store

var (
	_ jobs.Store = (*JobsStore)(nil)
	_ jobs.Tx    = jobsTx{}
)

// Jobs returns the jobs' store.
func (s *Store) Jobs() *JobsStore { return (*JobsStore)(s) }

func (j *JobsStore) base() *Store { return (*Store)(j) }

// Update runs fn in one transaction with the jobs' view of it.
func (j *JobsStore) Update(ctx context.Context, fn func(tx jobs.Tx) error) error {
	return j.base().update(ctx, func(tx *Tx) error { return fn(jobsTx{tx}) })
}

type jobsTx struct{ *Tx }

const jobCols = `body`

func scanJob(sc interface{ Scan(...any) error }) (jobs.Job, error) {
	var body string
	var j jobs.Job
	if err := sc.Scan(&body); err != nil {
		return j, err
	}
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return j, errs.E(errs.Internal, "a stored job does not decode", err)
	}
	return j, nil
}

// GetJob returns a job.
func (j *JobsStore) GetJob(ctx context.Context, account string, kind jobs.Kind, name string) (jobs.Job, error) {
	job, err := scanJob(j.base().queryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE account = $1 AND kind = $2 AND name = $3`, account, string(kind), name))
	if err != nil {
		return job, notFound(err, "job "+name)
	}
	return job, nil
}

// JobStatuses returns the status of each of the named jobs of a kind in an account, by name;
// a name with no job is absent. It reads the status column only (no job is decoded): the
// pipelines engine looks at every running job of an execution this way on each wake-up.
func (j *JobsStore) JobStatuses(ctx context.Context, account string, kind jobs.Kind, names []string) (map[string]jobs.Status, error) {
	out := make(map[string]jobs.Status, len(names))
	const chunk = 500 // well under every database's limit on parameters
	for len(names) > 0 {
		part := names[:min(chunk, len(names))]
		names = names[len(part):]
		args := []any{account, string(kind)}
		var in strings.Builder
		for i, n := range part {
			if i > 0 {
				in.WriteByte(',')
			}
			args = append(args, n)
			fmt.Fprintf(&in, "$%d", len(args))
		}
		rows, err := j.db.QueryContext(ctx, `SELECT name, status FROM jobs WHERE account = $1 AND kind = $2 AND name IN (`+in.String()+`)`, args...)
		if err != nil {
			return nil, internal("store.JobStatuses", err)
		}
		for rows.Next() {
			var name, status string
			if err := rows.Scan(&name, &status); err != nil {
				rows.Close()
				return nil, internal("store.JobStatuses", err)
			}
			out[name] = jobs.Status(status)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, internal("store.JobStatuses", err)
		}
	}
	return out, nil
}

// ListJobs lists an account's jobs of a kind.
func (j *JobsStore) ListJobs(ctx context.Context, account string, kind jobs.Kind, q jobs.Query) ([]jobs.Job, error) {
	order := orderBy(q.SortBy, q.Descending, "name", "created_at,name")
	if q.SortBy == "Status" {
		order = orderBy("Name", q.Descending, "status,created_at,name", "")
	}
	query := `SELECT ` + jobCols + ` FROM jobs WHERE account = $1 AND kind = $2
		AND ($3 = '' OR name LIKE '%' || $3 || '%') AND ($4 = '' OR status = $4)
		AND (CAST($5 AS BIGINT) = 0 OR created_at > $5) AND (CAST($6 AS BIGINT) = 0 OR created_at < $6)
		AND (CAST($7 AS BIGINT) = 0 OR modified_at > $7) AND (CAST($8 AS BIGINT) = 0 OR modified_at < $8)` + order + limitOffset(q.Limit, q.Offset)
	rows, err := j.db.QueryContext(ctx, query, account, string(kind), q.NameContains, string(q.Status),
		micros(q.CreatedAfter), micros(q.CreatedBefore), micros(q.ModifiedAfter), micros(q.ModifiedBefore))
	if err != nil {
		return nil, internal("store.ListJobs", err)
	}
	defer rows.Close()
	var out []jobs.Job
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, internal("store.ListJobs", err)
		}
		out = append(out, job)
	}
	return out, internal("store.ListJobs", rows.Err())
}

// InsertJob inserts a new job.
func (t jobsTx) InsertJob(ctx context.Context, job jobs.Job) error {
	t.wrote("jobs")
	body, err := json.Marshal(job)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the job", err)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO jobs (account, kind, name, arn, status, created_at, modified_at, body)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, job.Account, string(job.Kind), job.Name, job.ARN, string(job.Status),
		micros(job.CreatedAt), micros(job.ModifiedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return conflictOr(err, "job "+job.Name)
	}
	return nil
}

// LockJob reads a job for a change.
func (t jobsTx) LockJob(ctx context.Context, account string, kind jobs.Kind, name string) (jobs.Job, error) {
	q := `SELECT ` + jobCols + ` FROM jobs WHERE account = $1 AND kind = $2 AND name = $3`
	if t.s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	job, err := scanJob(t.tx.QueryRowContext(ctx, q, account, string(kind), name))
	if err != nil {
		if retryable(err) {
			return job, err
		}
		return job, notFound(err, "job "+name)
	}
	return job, nil
}

// UpdateJob writes a job's new state.
func (t jobsTx) UpdateJob(ctx context.Context, job jobs.Job) error {
	t.wrote("jobs")
	body, err := json.Marshal(job)
	if err != nil {
		return errs.E(errs.Internal, "cannot encode the job", err)
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE jobs SET status = $4, modified_at = $5, body = $6 WHERE account = $1 AND kind = $2 AND name = $3`,
		job.Account, string(job.Kind), job.Name, string(job.Status), micros(job.ModifiedAt), string(body))
	if err != nil {
		if retryable(err) {
			return err
		}
		return internal("store.UpdateJob", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.NotFound, "job %s does not exist", job.Name)
	}
	return nil
}

// CheckFence fails with errs.Conflict unless f's lease is still the work item's latest.
func (t jobsTx) CheckFence(ctx context.Context, f reconcile.Fence) error {
	return (&WorkStore{t.s}).CheckFence(ctx, t.tx, f)
}
