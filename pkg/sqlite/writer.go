package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"mlsvc/pkg/mlsvc"
)

// maxBatch caps how many callers' writes share one transaction, so one
// commit answers at most this many and the first of them waits for at
// most this many others.
const maxBatch = 128

// errClosed answers writes submitted after Close.
var errClosed = errors.New("sqlite: the store is closed")

// writer runs every write transaction of a Store on its one connection, in
// one goroutine, with group commit: it takes all the writes queued when it
// is free (after one yield to the goroutines ready to run; no timed wait),
// runs the callers' functions in one transaction, commits once and answers
// them all. If a function fails, the batch runs again with each function in
// its own SAVEPOINT, so a function's error rolls back its own changes only.
// Writers never contend for SQLite's lock, and N writes pay one commit (one
// fsync of the WAL).
type writer struct {
	db      *sql.DB
	reqs    chan *txReq
	mu      sync.RWMutex // held for reading while submitting; Close locks it
	closed  bool
	quit    chan struct{}
	stopped chan struct{}
	commits atomic.Int64 // transactions committed, for tests
	retries atomic.Int64 // batches run again in savepoints (runFast), for tests
	// rollbacks counts the transactions rolled back on the connection,
	// including those SQLite rolls back itself (connector.rollbacks).
	rollbacks *atomic.Int64
	// committed, when set, is called after each commit; it must not block.
	committed func()
}

// txReq is one caller's write: its function, and where to answer.
type txReq struct {
	ctx   context.Context
	f     func(tx *sql.Tx) error
	state atomic.Int32 // queued, claimed by the writer, or abandoned by the caller
	done  chan error   // buffered: the writer never blocks answering
}

const (
	queued int32 = iota
	claimed
	abandoned
)

// panicError carries a panic in a caller's function back to its goroutine.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return fmt.Sprintf("panic in transaction: %v\n%s", p.value, p.stack)
}

func newWriter(db *sql.DB, rollbacks *atomic.Int64) *writer {
	w := &writer{db: db, reqs: make(chan *txReq, maxBatch), quit: make(chan struct{}), stopped: make(chan struct{}),
		rollbacks: rollbacks}
	go w.loop()
	return w
}

// close runs the writes already submitted, refuses new ones and stops.
func (w *writer) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.stopped
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.quit)
	<-w.stopped
}

// do runs f in a write transaction, together with other callers' functions,
// and returns f's error or, if f succeeded, the commit's. If ctx is done
// before the writer reaches f, f does not run and do returns ctx's error;
// once f has started, do waits for the commit, so its answer is the
// outcome.
func (w *writer) do(ctx context.Context, f func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	r := &txReq{ctx: ctx, f: f, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.reqs <- r:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return fmt.Errorf("begin transaction: %w", ctx.Err())
	}
	var err error
	select {
	case err = <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return fmt.Errorf("begin transaction: %w", ctx.Err())
		}
		err = <-r.done
	}
	var p *panicError
	if errors.As(err, &p) {
		panic(fmt.Sprintf("%v\n\nthe transaction function's stack:\n%s", p.value, p.stack))
	}
	return err
}

func (w *writer) loop() {
	defer close(w.stopped)
	batch := make([]*txReq, 0, maxBatch)
	for {
		select {
		case r := <-w.reqs:
			batch = append(batch[:0], r)
		case <-w.quit:
			// Submitters are gone (closed is set): run what they left.
			batch = batch[:0]
			for len(w.reqs) > 0 {
				batch = append(batch, <-w.reqs)
			}
			w.run(batch)
			return
		}
		batch = w.collect(batch)
		if len(batch) < maxBatch {
			// Let the goroutines ready to run now (requests about to
			// submit, under load) go first, then take what they queued:
			// bigger batches, fewer commits. Under make bench-api's load at
			// 64 connections, 27 writes a commit instead of 19, a fifth less
			// CPU per accepted prediction and a quarter more of them a
			// second (medians of 4 alternating runs). Idle, nothing else is
			// ready and the write is not delayed.
			runtime.Gosched()
			batch = w.collect(batch)
		}
		w.run(batch)
		clear(batch)
	}
}

// collect adds the writes queued now to batch, up to maxBatch.
func (w *writer) collect(batch []*txReq) []*txReq {
	for len(batch) < maxBatch {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// run runs a batch of writes in one transaction and answers each caller.
func (w *writer) run(batch []*txReq) {
	live := make([]*txReq, 0, len(batch))
	for _, r := range batch {
		if r.state.CompareAndSwap(queued, claimed) {
			live = append(live, r)
		}
	}
	if len(live) == 0 || w.runFast(live) {
		return
	}
	w.retries.Add(1)
	for len(live) > 0 {
		live = w.runTx(live)
	}
}

// runFast runs the callers' functions one after the other in one
// transaction, without savepoints, commits and answers them: the common
// case, where every function succeeds. A savepoint copies each page its
// function changes into an undo log, and with them accepting a prediction
// cost a fifth more CPU under load. If a function fails (or panics), runFast
// rolls the whole transaction back and returns false, having answered no
// one: the batch then runs again in savepoints (runTx), so that failure is
// its caller's alone. A batch with a failure thus costs at most about
// twice the work; a lone caller's failure is answered at once.
func (w *writer) runFast(live []*txReq) bool {
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		return false // runTx answers it
	}
	rollbacks := w.rollbacks.Load()
	errs := make([]error, len(live))
	for i, r := range live {
		if err := r.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("begin transaction: %w", err)
			continue
		}
		errs[i] = call(r.f, tx)
		if w.rollbacks.Load() != rollbacks {
			// The transaction was lost under the function, which may not
			// have noticed: runTx, in savepoints, tells who ran in it.
			_ = tx.Rollback()
			return false
		}
		if errs[i] != nil {
			if rerr := tx.Rollback(); rerr != nil || len(live) > 1 {
				return false
			}
			// One caller: its failure rolled back only its own changes.
			r.done <- errs[i]
			return true
		}
	}
	w.commit(tx, live, errs)
	return true
}

// runTx runs the callers' functions in one transaction, each in a
// savepoint, commits, and answers them (after runFast found a failure). If
// the transaction itself is lost part way (SQLite rolls back the whole
// transaction on an I/O error, for one), the callers run so far are
// answered with the error and runTx returns the ones not yet run, for a new
// transaction.
func (w *writer) runTx(live []*txReq) (rest []*txReq) {
	// The transaction does not depend on any caller's context: one caller
	// giving up must not roll back the others.
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		err = dbErrorf("begin transaction: %w", err)
		for _, r := range live {
			r.done <- err
		}
		return nil
	}
	errs := make([]error, len(live))
	for i, r := range live {
		if err := r.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("begin transaction: %w", err)
			continue
		}
		lost := savepoint(tx, "SAVEPOINT w")
		if lost == nil {
			errs[i] = call(r.f, tx)
			if errs[i] != nil {
				lost = savepoint(tx, "ROLLBACK TO w; RELEASE w")
			} else {
				lost = savepoint(tx, "RELEASE w")
			}
		}
		if lost != nil {
			_ = tx.Rollback()
			// Nothing of the transaction was committed: retrying may work.
			lost = &mlsvc.Error{Code: mlsvc.EUnavailable, Message: "the database is unavailable; try again later",
				Err: fmt.Errorf("transaction lost: %w", lost)}
			for j := 0; j <= i; j++ {
				if errs[j] == nil {
					errs[j] = lost
				}
				live[j].done <- errs[j]
			}
			return live[i+1:]
		}
	}
	w.commit(tx, live, errs)
	return nil
}

// commit commits tx and answers each caller: errs[i], or the commit's
// error to those whose function succeeded.
func (w *writer) commit(tx *sql.Tx, live []*txReq, errs []error) {
	if err := tx.Commit(); err != nil {
		err = dbErrorf("commit: %w", err)
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	} else {
		w.commits.Add(1)
		if w.committed != nil {
			w.committed()
		}
	}
	for i, r := range live {
		r.done <- errs[i]
	}
}

func savepoint(tx *sql.Tx, stmt string) error {
	_, err := tx.Exec(stmt)
	return err
}

// call runs f, turning a panic into a *panicError for its caller.
func call(f func(tx *sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return f(tx)
}

// exec runs one write statement through the writer, as inTx does: writes
// never go to the read pool's connections.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}
