package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// openTestStore opens a new store with the users of ids already written.
func openTestStore(t *testing.T, ids ...string) *Store {
	t.Helper()
	s := openTestStoreAt(t, filepath.Join(t.TempDir(), "mlsvc.db"))
	for _, id := range ids {
		if err := s.inTx(context.Background(), insertUser(id)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// hold occupies the writer with a function that waits for release, so the
// writes submitted meanwhile queue and then run as one batch.
func hold(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, done := make(chan struct{}), make(chan struct{})
	go s.inTx(context.Background(), func(*sql.Tx) error {
		close(started)
		<-done
		return nil
	})
	<-started
	var once sync.Once
	release = func() { once.Do(func() { close(done) }) }
	t.Cleanup(release)
	return release
}

// queued waits until n writes wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.w.reqs) != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(s.w.reqs), n)
		}
	}
}

// submit runs inTx(ctx, f) in a goroutine once the writes before it are
// queued, so writes queue in the order submitted; the channel answers.
func submit(t *testing.T, s *Store, ctx context.Context, f func(*sql.Tx) error) <-chan error {
	t.Helper()
	n := len(s.w.reqs)
	c := make(chan error, 1)
	go func() { c <- s.inTx(ctx, f) }()
	waitQueued(t, s, n+1)
	return c
}

func insertUser(id string) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO users (id, firstname, username, username_key, password_hash, balance, created_at)
			VALUES (?, '', ?, ?, '', 0, 1)`, id, id, id)
		return err
	}
}

func hasUser(t *testing.T, s *Store, id string) bool {
	t.Helper()
	_, err := s.UserByID(context.Background(), id)
	if err != nil && mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Fatal(err)
	}
	return err == nil
}

// TestGroupCommitIsolatesErrors: writes queued together commit in one
// transaction, and a function's error undoes its own changes only.
func TestGroupCommitIsolatesErrors(t *testing.T) {
	s := openTestStore(t, "taken")
	ctx := context.Background()
	release := hold(t, s)
	commits, retries := s.w.commits.Load(), s.w.retries.Load()
	refused := errors.New("refused")
	var answers []<-chan error
	for i := range 10 {
		id := fmt.Sprint("u", i)
		f := insertUser(id)
		if i%2 == 1 {
			f = func(tx *sql.Tx) error {
				if err := insertUser(id)(tx); err != nil {
					return err
				}
				return refused // after its insert: the insert must be undone
			}
		}
		answers = append(answers, submit(t, s, ctx, f))
	}
	dup := submit(t, s, ctx, insertUser("taken")) // fails in SQLite itself
	release()
	for i, c := range answers {
		err := <-c
		if want := error(nil); i%2 == 1 && !errors.Is(err, refused) || i%2 == 0 && err != want {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if err := <-dup; sqliteCode(err)&0xff != 19 { // SQLITE_CONSTRAINT
		t.Errorf("duplicate insert: %v, want a constraint violation", err)
	}
	for i := range 10 {
		if got, want := hasUser(t, s, fmt.Sprint("u", i)), i%2 == 0; got != want {
			t.Errorf("user u%d exists: %v, want %v", i, got, want)
		}
	}
	if n := s.w.commits.Load() - commits; n != 2 {
		t.Errorf("%d commits for the held write and the 11 queued, want 2 (group commit)", n)
	}
	if n := s.w.retries.Load() - retries; n != 1 {
		t.Errorf("%d batches run again in savepoints, want 1 (the one with failures)", n)
	}
}

// TestBatchWithoutFailuresTakesNoSavepoints: a batch whose writes all
// succeed runs once, without savepoints (runFast); a lone write that fails
// is answered without running again, and leaves nothing behind.
func TestBatchWithoutFailuresTakesNoSavepoints(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	release := hold(t, s)
	commits, retries := s.w.commits.Load(), s.w.retries.Load()
	var answers []<-chan error
	for i := range 10 {
		answers = append(answers, submit(t, s, ctx, insertUser(fmt.Sprint("u", i))))
	}
	release()
	for i, c := range answers {
		if err := <-c; err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if n := s.w.commits.Load() - commits; n != 2 {
		t.Errorf("%d commits for the held write and the 10 queued, want 2", n)
	}
	if n := s.w.retries.Load() - retries; n != 0 {
		t.Errorf("%d batches run again in savepoints, want 0", n)
	}
	runs := 0
	refused := errors.New("refused")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		runs++
		if err := insertUser("lone")(tx); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) || runs != 1 || hasUser(t, s, "lone") {
		t.Errorf("lone failing write: %v after %d runs, user stored: %v; want refused, 1 run, nothing stored", err, runs, hasUser(t, s, "lone"))
	}
	if n := s.w.retries.Load() - retries; n != 0 {
		t.Errorf("%d batches run again after the lone failure, want 0", n)
	}
}

// TestCanceledBeforeTurn: a caller that gives up while its write is queued
// gets its context's error at once, and its function never runs.
func TestCanceledBeforeTurn(t *testing.T) {
	s := openTestStore(t)
	release := hold(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan bool, 1)
	answer := submit(t, s, ctx, func(tx *sql.Tx) error {
		ran <- true
		return insertUser("late")(tx)
	})
	cancel()
	select {
	case err := <-answer:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled write: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a canceled write waited for the writer")
	}
	release()
	if err := s.inTx(context.Background(), insertUser("after")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the canceled write's function ran")
	default:
	}
	if hasUser(t, s, "late") || !hasUser(t, s, "after") {
		t.Error("want user after only")
	}
}

// TestCancelDuringFunction: a caller whose context ends while its statement
// runs does not roll back the others' writes of the batch (SQLite rolls back
// the whole transaction when a write statement is interrupted), and its own
// answer tells the truth about its write.
func TestCancelDuringFunction(t *testing.T) {
	s := openTestStore(t, "slow")
	bg := context.Background()
	release := hold(t, s)
	first := submit(t, s, bg, insertUser("first"))
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	slow := submit(t, s, ctx, func(tx *sql.Tx) error {
		time.AfterFunc(10*time.Millisecond, cancel)
		_, err := tx.ExecContext(ctx, `UPDATE users SET balance = (
			WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 500000)
			SELECT count(*) FROM c) WHERE id = 'slow'`)
		return err
	})
	last := submit(t, s, bg, insertUser("last"))
	release()
	if err := <-first; err != nil {
		t.Errorf("first write: %v", err)
	}
	slowErr := <-slow
	if err := <-last; err != nil {
		t.Errorf("last write: %v", err)
	}
	if !hasUser(t, s, "first") || !hasUser(t, s, "last") {
		t.Error("the batch's other writes were lost")
	}
	u, err := s.UserByID(bg, "slow")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("slow write: %v", slowErr)
	if slowErr == nil && u.Balance != 500000 || slowErr != nil && u.Balance != 0 {
		t.Errorf("slow write answered %v, balance %d", slowErr, u.Balance)
	}
}

// TestPanicInFunction: a panic reaches its caller; the batch's other writes
// and the writer carry on.
func TestPanicInFunction(t *testing.T) {
	s := openTestStore(t)
	bg := context.Background()
	release := hold(t, s)
	first := submit(t, s, bg, insertUser("first"))
	n := len(s.w.reqs)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		s.inTx(bg, func(tx *sql.Tx) error {
			insertUser("panicker")(tx)
			panic("boom")
		})
	}()
	waitQueued(t, s, n+1)
	release()
	if err := <-first; err != nil {
		t.Errorf("first write: %v", err)
	}
	if v := <-panicked; v == nil {
		t.Error("the panic did not reach its caller")
	}
	if err := s.inTx(bg, insertUser("after")); err != nil {
		t.Errorf("write after the panic: %v", err)
	}
	if !hasUser(t, s, "first") || hasUser(t, s, "panicker") || !hasUser(t, s, "after") {
		t.Error("want users first and after only")
	}
}

// TestLostTransaction: when the shared transaction is rolled back under the
// writer (as SQLite does on an I/O error), the callers run in it learn that
// nothing was committed (EUnavailable), and the next callers run in a new
// transaction.
func TestLostTransaction(t *testing.T) {
	s := openTestStore(t)
	bg := context.Background()
	release := hold(t, s)
	first := submit(t, s, bg, insertUser("first"))
	breaker := submit(t, s, bg, func(tx *sql.Tx) error {
		_, err := tx.Exec("ROLLBACK")
		return err
	})
	last := submit(t, s, bg, insertUser("last"))
	release()
	for name, c := range map[string]<-chan error{"first": first, "breaker": breaker} {
		if err := <-c; mlsvc.ErrorCode(err) != mlsvc.EUnavailable {
			t.Errorf("%s: %v (code %q), want %q", name, err, mlsvc.ErrorCode(err), mlsvc.EUnavailable)
		}
	}
	if err := <-last; err != nil {
		t.Errorf("last: %v", err)
	}
	if hasUser(t, s, "first") || !hasUser(t, s, "last") {
		t.Error("want user last only")
	}
}

// TestCloseRunsQueuedWrites: Close waits for the writes submitted before it;
// writes after it fail.
func TestCloseRunsQueuedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlsvc.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	release := hold(t, s)
	queuedWrite := submit(t, s, context.Background(), insertUser("queued"))
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	release()
	if err := <-queuedWrite; err != nil {
		t.Errorf("write queued before Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.inTx(context.Background(), insertUser("late")); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v, want %v", err, errClosed)
	}
	s = openTestStoreAt(t, path)
	if !hasUser(t, s, "queued") {
		t.Error("the write queued before Close was lost")
	}
}

func openTestStoreAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPreparedStatementReuse: a statement still reading rows is not reused
// by the same query meanwhile (in a transaction, on one connection).
func TestPreparedStatementReuse(t *testing.T) {
	s := openTestStore(t)
	bg := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := s.inTx(bg, insertUser(id)); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT id FROM users WHERE id >= ? ORDER BY id`
	err := s.inTx(bg, func(tx *sql.Tx) error {
		for range 2 { // the second time from the cache
			rows, err := tx.Query(q, "a")
			if err != nil {
				return err
			}
			var got []string
			for rows.Next() {
				var id, inner string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				if err := tx.QueryRow(q, id).Scan(&inner); err != nil {
					return err
				}
				if inner != id {
					return fmt.Errorf("inner query for %s: %s", id, inner)
				}
				got = append(got, id)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if fmt.Sprint(got) != "[a b c]" {
				return fmt.Errorf("outer rows %v, want [a b c]", got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDurableCommits: every connection commits with synchronous=FULL (2),
// the durability the package doc promises.
func TestDurableCommits(t *testing.T) {
	s := openTestStore(t)
	for name, db := range map[string]*sql.DB{"read pool": s.db, "writer": s.wdb} {
		var mode int
		if err := db.QueryRow("PRAGMA synchronous").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != 2 {
			t.Errorf("%s: synchronous = %d, want 2 (FULL)", name, mode)
		}
	}
}
