package reconcile_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/errs"
	"github.com/slipway-ml/slipway/internal/reconcile"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/storetest"
)

// childEnv, when set (to a PostgreSQL DSN), makes the test binary a reconcile server for
// TestTwoProcessesOnePostgres instead of running tests.
const childEnv = "SLIPWAY_RECONCILE_CHILD_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		os.Exit(child(dsn, os.Getenv("CHILD_KIND"), os.Getenv("CHILD_OWNER")))
	}
	os.Exit(m.Run())
}

const childWork = 40 * time.Millisecond

// child works the items of kind until SIGTERM (then it shuts down gracefully) or SIGKILL. Each
// reconcile records its start and end, with its fencing token, in mp_log through fenced writes.
func child(dsn, kind, owner string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := store.Open(ctx, dsn, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	w := st.Work()
	record := func(ctx context.Context, f reconcile.Fence, event string) error {
		return w.Fenced(ctx, f, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO mp_log (kind, key, token, owner, event, at)
VALUES ($1, $2, $3, $4, $5, clock_timestamp())`, f.Kind, f.Key, f.Token, owner, event)
			return err
		})
	}
	rt := reconcile.New(w, kind, reconcile.Func(func(ctx context.Context, key string) (reconcile.Result, error) {
		f, _ := reconcile.FenceFrom(ctx)
		if err := record(ctx, f, "start"); err != nil {
			return reconcile.Result{}, err
		}
		select {
		case <-time.After(childWork):
		case <-ctx.Done():
		}
		// A careless worker writes its result even when its context is cancelled: the fence,
		// not the context, must keep a worker whose lease is gone from writing.
		err := record(context.WithoutCancel(ctx), f, "end")
		if errs.Is(err, errs.Conflict) {
			db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO mp_refused (kind, key, token, owner) VALUES ($1, $2, $3, $4)`,
				f.Kind, f.Key, f.Token, owner)
		}
		return reconcile.Result{}, err
	}), reconcile.Options{
		Owner: owner, Workers: 2, LeaseTTL: 600 * time.Millisecond, RenewEvery: 150 * time.Millisecond,
		Poll: 50 * time.Millisecond, Resync: time.Hour,
		Backoff: reconcile.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond, Jitter: 0.2},
	})
	rt.Start(ctx)
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rt.Close(cctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestTwoProcessesOnePostgres runs two server processes on one PostgreSQL working the same
// keys, SIGKILLs one of them mid-work, and checks from the fenced log that no key was ever
// worked by two servers at once and that every key was completed, by takeover where needed.
func TestTwoProcessesOnePostgres(t *testing.T) {
	const runs, keys = 20, 12
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	st, err := store.Open(ctx, dsn, nil) // applies the migrations before the children start
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE mp_log (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL,
token BIGINT NOT NULL, owner TEXT NOT NULL, event TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
CREATE TABLE mp_refused (kind TEXT NOT NULL, key TEXT NOT NULL, token BIGINT NOT NULL, owner TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute) // a guard only: 20 runs take ~30 s on a quiet machine
	takeovers, refused := 0, 0
	for run := range runs {
		if time.Now().After(deadline) {
			t.Fatalf("only %d runs in the time budget", run)
		}
		kind := fmt.Sprintf("run%02d", run)
		var ks []string
		for i := range keys {
			ks = append(ks, fmt.Sprintf("k%02d", i))
		}
		if err := st.Work().Enqueue(ctx, kind, ks, time.Now()); err != nil {
			t.Fatal(err)
		}
		owners := []string{kind + "-a", kind + "-b"}
		var procs []*exec.Cmd
		for _, o := range owners {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+dsn, "CHILD_KIND="+kind, "CHILD_OWNER="+o)
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			procs = append(procs, cmd)
		}
		// The victim is a server caught in the middle of a reconcile (on a busy machine one
		// child may start so late that the other has done every key; then it is that one).
		victim := pickVictim(t, db, kind, owners, run%2)
		var killed time.Time
		if run%5 == 4 {
			// Every fifth run, freeze the victim instead (SIGSTOP) until the survivor has taken
			// a key over from it, then let it carry on: its writes for that key must be refused.
			killed = freeze(t, db, procs[victim], kind, owners[victim], owners[1-victim])
			waitRows(t, db, `SELECT COUNT(*) FROM mp_refused WHERE kind = $1 AND owner = $2`, 1, kind, owners[victim])
			refused++
		} else {
			// Kill the victim, which pickVictim saw in the middle of a reconcile.
			procs[victim].Process.Signal(syscall.SIGKILL)
			procs[victim].Wait()
			if err := db.QueryRow(`SELECT clock_timestamp()`).Scan(&killed); err != nil {
				t.Fatal(err)
			}
		}
		waitRows(t, db, `SELECT COUNT(DISTINCT key) FROM mp_log WHERE kind = $1 AND event = 'end'`, keys, kind)
		for _, p := range procs {
			if p.ProcessState != nil {
				continue // killed
			}
			p.Process.Signal(syscall.SIGTERM)
			if err := p.Wait(); err != nil {
				t.Errorf("run %d: a live server did not stop cleanly: %v", run, err)
			}
		}
		takeovers += checkLog(t, db, kind, owners[victim], killed)
	}
	if takeovers == 0 {
		t.Error("no key was ever taken over from a killed server: the test proved nothing")
	}
	t.Logf("%d runs, %d keys taken over from killed or frozen servers, %d frozen servers' late writes refused", runs, takeovers, refused)
}

// pickVictim returns the index of an owner with a reconcile in progress, preferring prefer, and
// waits until one has.
func pickVictim(t *testing.T, db *sql.DB, kind string, owners []string, prefer int) int {
	t.Helper()
	const open = `SELECT s.owner FROM mp_log s WHERE s.kind = $1 AND s.event = 'start'
AND NOT EXISTS (SELECT 1 FROM mp_log e WHERE e.kind = s.kind AND e.key = s.key AND e.token = s.token AND e.event = 'end')`
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		rows, err := db.Query(open, kind)
		if err != nil {
			t.Fatal(err)
		}
		busy := map[string]bool{}
		for rows.Next() {
			var o string
			if err := rows.Scan(&o); err != nil {
				t.Fatal(err)
			}
			busy[o] = true
		}
		rows.Close()
		if busy[owners[prefer]] {
			return prefer
		}
		if busy[owners[1-prefer]] {
			return 1 - prefer
		}
	}
	t.Fatal("no server was ever seen in the middle of a reconcile")
	return 0
}

// freeze stops the victim with SIGSTOP in the middle of a reconcile, waits until the survivor
// has taken that key over, and resumes the victim. It returns when the victim was stopped.
func freeze(t *testing.T, db *sql.DB, victim *exec.Cmd, kind, owner, survivor string) time.Time {
	t.Helper()
	const open = `SELECT s.key, s.token FROM mp_log s WHERE s.kind = $1 AND s.owner = $2 AND s.event = 'start'
AND NOT EXISTS (SELECT 1 FROM mp_log e WHERE e.kind = s.kind AND e.key = s.key AND e.token = s.token AND e.event = 'end')`
	for end := time.Now().Add(time.Minute); time.Now().Before(end); {
		var key string
		var token int64
		if err := db.QueryRow(open, kind, owner).Scan(&key, &token); errors.Is(err, sql.ErrNoRows) {
			time.Sleep(2 * time.Millisecond)
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		victim.Process.Signal(syscall.SIGSTOP)
		var stopped time.Time
		var ended int
		if err := db.QueryRow(`SELECT clock_timestamp(), (SELECT COUNT(*) FROM mp_log WHERE kind = $1 AND key = $2 AND token = $3 AND event = 'end')`,
			kind, key, token).Scan(&stopped, &ended); err != nil {
			t.Fatal(err)
		}
		if ended > 0 { // it finished just before the stop: try again
			victim.Process.Signal(syscall.SIGCONT)
			continue
		}
		waitRows(t, db, `SELECT COUNT(*) FROM mp_log WHERE kind = $1 AND key = $2 AND token > $3 AND owner = $4 AND event = 'start'`,
			1, kind, key, token, survivor)
		victim.Process.Signal(syscall.SIGCONT)
		return stopped
	}
	t.Fatal("never caught the victim in the middle of a reconcile")
	return time.Time{}
}

// waitRows waits until query counts at least n.
func waitRows(t *testing.T, db *sql.DB, query string, n int, args ...any) {
	t.Helper()
	end := time.Now().Add(time.Minute) // generous: the machine running the tests may be busy
	for {
		var got int
		if err := db.QueryRow(query, args...).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out: %s = %d, want ≥ %d", query, got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkLog checks one run's log: per key, the reconciles (one per token) never overlap in time,
// their tokens increase, and the key was completed. A reconcile of the killed server that has
// no end lasted at most until the kill. It returns how many keys were taken over.
func checkLog(t *testing.T, db *sql.DB, kind, victim string, killed time.Time) int {
	t.Helper()
	rows, err := db.Query(`SELECT key, token, owner, event, at FROM mp_log WHERE kind = $1 ORDER BY key, at, id`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type span struct {
		token      int64
		owner      string
		start, end time.Time
	}
	spans := map[string][]*span{}
	for rows.Next() {
		var key, owner, event string
		var token int64
		var at time.Time
		if err := rows.Scan(&key, &token, &owner, &event, &at); err != nil {
			t.Fatal(err)
		}
		ss := spans[key]
		switch event {
		case "start":
			spans[key] = append(ss, &span{token: token, owner: owner, start: at})
		case "end":
			if len(ss) == 0 || ss[len(ss)-1].token != token || !ss[len(ss)-1].end.IsZero() {
				t.Errorf("%s/%s: end of token %d without its start", kind, key, token)
				continue
			}
			ss[len(ss)-1].end = at
		}
	}
	taken := 0
	for key, ss := range spans {
		var desc []string
		for _, s := range ss {
			desc = append(desc, fmt.Sprintf("%s#%d[%s..%s]", s.owner, s.token, s.start.Format("05.000"), s.end.Format("05.000")))
		}
		for i, s := range ss {
			if s.end.IsZero() {
				if s.owner != victim {
					// Its lease was lost and the fence refused its end: another server took the
					// key while this one was alive and renewing.
					t.Errorf("%s/%s: a live server's reconcile never ended: %s", kind, key, strings.Join(desc, " "))
					break
				}
				s.end = killed
				if i+1 < len(ss) {
					taken++
				}
			}
			if i > 0 {
				p := ss[i-1]
				if s.token <= p.token {
					t.Errorf("%s/%s: tokens do not increase: %s", kind, key, strings.Join(desc, " "))
					break
				}
				if s.start.Before(p.end) {
					t.Errorf("%s/%s: two servers worked the key at once: %s", kind, key, strings.Join(desc, " "))
					break
				}
			}
		}
		if last := ss[len(ss)-1]; last.owner == victim && last.end.Equal(killed) {
			t.Errorf("%s/%s: never completed after the kill: %s", kind, key, strings.Join(desc, " "))
		}
	}
	return taken
}
