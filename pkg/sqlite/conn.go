package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"

	"modernc.org/sqlite"
)

// maxCachedStmts bounds the prepared statements kept per connection.
const maxCachedStmts = 64

// connector opens the Store's connections: each keeps its statements
// prepared (parsing SQL costs as much as running these small statements),
// and the writer's (detach) run every statement without the cancellation
// of its context. The driver interrupts a statement whose context is done,
// and SQLite answers an interrupted INSERT, UPDATE or DELETE by rolling
// back the whole transaction, which on the writer's connection holds other
// callers' writes too: a caller that gives up while its function runs gets
// its answer when the batch commits instead.
type connector struct {
	driver.Connector
	detach bool
	// rollbacks, when set, counts the transactions rolled back on the
	// connections, explicitly or by SQLite itself (on an I/O error, say):
	// the writer's way to learn that a transaction was lost under it.
	rollbacks *atomic.Int64
}

// rollbackHooker is the driver connections' SQLite rollback hook
// (sqlite3_rollback_hook).
type rollbackHooker interface {
	RegisterRollbackHook(sqlite.RollbackHookFn)
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if c.rollbacks != nil {
		h, ok := dc.(rollbackHooker)
		if !ok {
			_ = dc.Close()
			return nil, errors.New("sqlite: the driver has no rollback hook")
		}
		h.RegisterRollbackHook(func() { c.rollbacks.Add(1) })
	}
	return &conn{Conn: dc, detach: c.detach, stmts: map[string]*cachedStmt{}}, nil
}

// conn forwards every interface the driver's connections implement (see
// sqlite.NewConnector). database/sql never uses a connection from two
// goroutines at once, so stmts needs no lock.
type conn struct {
	driver.Conn
	detach bool
	stmts  map[string]*cachedStmt
}

// cachedStmt is a prepared statement; busy while rows read from it are
// open (a statement runs once at a time: another use prepares anew).
type cachedStmt struct {
	driver.Stmt
	busy bool
}

var (
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

func (c *conn) Unwrap() driver.Conn { return c.Conn }

func (c *conn) ctx(ctx context.Context) context.Context {
	if c.detach {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (c *conn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.Conn.Close())...)
}

// stmt returns query's cached statement, preparing it if needed, or nil
// (and no error) when it is busy or the cache is full.
func (c *conn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	ds, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{Stmt: ds}
	c.stmts[query] = s
	return s, nil
}

// ExecContext and QueryContext take the same steps (the cached statement
// if there is one, else the connection's own method): database/sql/driver
// has a separate interface and result type for each, so each is written out.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx = c.ctx(ctx)
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext takes ExecContext's steps, and marks the statement busy
// until its rows are closed.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx = c.ctx(ctx)
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(c.ctx(ctx), opts)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(c.ctx(ctx), query)
	if err != nil || !c.detach {
		return s, err
	}
	return detachedStmt{s}, nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *conn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *conn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// detachedStmt is a statement the caller prepared on the writer's
// connection: it runs without its context's cancellation too.
type detachedStmt struct{ driver.Stmt }

func (s detachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(context.WithoutCancel(ctx), args)
}

func (s detachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(context.WithoutCancel(ctx), args)
}
