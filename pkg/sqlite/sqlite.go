// Package sqlite is the embedded mlsvc.Store of local mode: users, balances,
// models and predictions in one SQLite database file, through the pure-Go
// driver modernc.org/sqlite (no cgo).
//
// Money is INTEGER cents and times are INTEGER unix nanoseconds (UTC). A
// charge is a conditional UPDATE of the balance plus the INSERT of its
// prediction in one transaction.
//
// # Writes: one writer, group commit
//
// Every write goes through inTx to one writer goroutine that owns the one
// write connection (writer.go): it takes all the writes queued when it is
// free, runs the callers' functions one after the other in one transaction,
// commits once and answers every caller. If one function fails, the batch
// runs again with each function inside its own SAVEPOINT (its error rolls
// back its own changes only), so each write is atomic and, with one writer,
// isolated; a batch without failures takes no savepoints. Writers never wait in SQLite's busy handler, and N queued
// writes pay one commit. A caller whose context ends before its turn is
// skipped; once its function has started it gets the real outcome. Reads
// use a pool of connections that WAL lets run beside the writer.
//
// # Durability
//
// The database is in WAL mode with synchronous=FULL: a commit returns after
// the WAL is fsynced, so once a write is acknowledged neither a crash of
// the process (kill -9) nor of the operating system or the power can undo
// it. (synchronous=NORMAL would skip that fsync: still safe against a
// process crash, since the WAL is written before the commit returns, but a
// power loss could undo the last commits. With group commit the fsync is
// paid once per batch, so FULL costs little and is kept.) A crash never
// corrupts the database and never keeps part of a transaction.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mlsvc/pkg/mlsvc"
)

// busyTimeout is how long a statement waits for another connection's write
// lock before it fails with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// synchronous is the durability of a commit (see the package doc).
const synchronous = "FULL"

// readConns is the size of the read pool; WAL readers do not block each
// other or the writer.
const readConns = 8

// Store is an mlsvc.Store in a SQLite database. It is safe for concurrent
// use by multiple goroutines.
type Store struct {
	db  *sql.DB // the read pool
	wdb *sql.DB // the writer's one connection (db itself for ":memory:")
	w   *writer
	cp  *checkpointer // nil for ":memory:" (checkpoint.go)
}

var _ mlsvc.Store = (*Store)(nil)

// Open opens the database at path, creating the file and its schema if
// needed and migrating an older schema. path ":memory:" opens a private
// in-memory database, which lives until Close.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty database path")
	}
	if strings.Contains(path, "?") {
		// The driver reads everything after '?' as connection parameters.
		return nil, fmt.Errorf("sqlite: open %q: the path must not contain '?'", path)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	// Temporary files in memory. A batch run again in savepoints (writer.go)
	// keeps their undo log (the sub-journal), which otherwise spills to a
	// temporary file past 64 KiB: a write system call per page of every
	// savepoint.
	q.Add("_pragma", "temp_store(MEMORY)")
	// Checkpoints run beside the writer, not in its commits (checkpoint.go).
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Set("_txlock", "immediate")
	dsn := path + "?" + q.Encode()
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// ":memory:" has one connection for reads and the writer: detached.
	rollbacks := new(atomic.Int64) // the writer's connection's (writer.runFast)
	var memRollbacks *atomic.Int64
	if path == ":memory:" {
		memRollbacks = rollbacks
	}
	db := sql.OpenDB(connector{Connector: base, detach: path == ":memory:", rollbacks: memRollbacks})
	s := &Store{db: db, wdb: db}
	if path == ":memory:" {
		// Each connection to ":memory:" is a different database: keep one,
		// for good, shared by the reads and the writer.
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	} else {
		db.SetMaxOpenConns(readConns)
		db.SetMaxIdleConns(readConns) // not the default 2: no reopening under load
		s.wdb = sql.OpenDB(connector{Connector: base, detach: true, rollbacks: rollbacks})
		s.wdb.SetMaxOpenConns(1)
		s.wdb.SetConnMaxLifetime(0)
		s.wdb.SetConnMaxIdleTime(0)
	}
	if err := s.migrate(context.Background()); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.w = newWriter(s.wdb, rollbacks)
	if path != ":memory:" {
		s.cp = newCheckpointer(s)
		s.w.committed = s.cp.committed
	}
	return s, nil
}

// Close waits for the writes already submitted, then closes the database.
func (s *Store) Close() error {
	s.w.close()
	if s.cp != nil {
		s.cp.close()
	}
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var werr error
	if s.wdb != s.db {
		werr = s.wdb.Close()
	}
	return errors.Join(werr, s.db.Close())
}

// migrations[i] brings the schema from version i to i+1 (PRAGMA user_version).
// Append to the list; never edit a migration that has shipped.
var migrations = []string{
	`CREATE TABLE users (
		id            TEXT PRIMARY KEY,
		firstname     TEXT NOT NULL,
		username      TEXT NOT NULL,
		username_key  TEXT NOT NULL, -- lower-cased username, unique
		password_hash TEXT NOT NULL,
		balance       INTEGER NOT NULL CHECK (balance >= 0), -- cents
		created_at    INTEGER NOT NULL -- unix nanoseconds
	) STRICT;
	CREATE UNIQUE INDEX users_username_key ON users (username_key);

	CREATE TABLE models (
		id          TEXT PRIMARY KEY,
		name        TEXT NOT NULL,
		cost        INTEGER NOT NULL, -- cents
		description TEXT NOT NULL,
		file        TEXT NOT NULL,
		format      TEXT NOT NULL,
		features    TEXT NOT NULL, -- JSON array of strings
		metric      TEXT NOT NULL,
		score       REAL NOT NULL,
		created_at  INTEGER NOT NULL
	) STRICT;
	CREATE INDEX models_cost_name ON models (cost, name);

	CREATE TABLE predictions (
		id         TEXT PRIMARY KEY,
		user_id    TEXT NOT NULL REFERENCES users (id),
		model_id   TEXT NOT NULL, -- no foreign key: a model may be unpublished later
		status     TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
		cost       INTEGER NOT NULL CHECK (cost >= 0),
		row_count  INTEGER NOT NULL,
		delay      INTEGER NOT NULL, -- nanoseconds
		error      TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX predictions_user_created ON predictions (user_id, created_at DESC, id DESC);
	CREATE INDEX predictions_pending ON predictions (created_at, id) WHERE status = 'pending';`,

	`ALTER TABLE predictions ADD COLUMN input_bytes INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE predictions ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';`,

	// API keys and throttles (access.go).
	`CREATE TABLE api_keys (
		id           TEXT PRIMARY KEY,
		user_id      TEXT NOT NULL REFERENCES users (id),
		name         TEXT NOT NULL,
		prefix       TEXT NOT NULL,
		hash         TEXT NOT NULL, -- hex SHA-256 of the key
		created_at   INTEGER NOT NULL,
		last_used_at INTEGER NOT NULL -- 0: never
	) STRICT;
	CREATE INDEX api_keys_user ON api_keys (user_id, created_at, id);

	CREATE TABLE throttles (
		key     TEXT PRIMARY KEY,
		count   INTEGER NOT NULL,
		until   INTEGER NOT NULL,
		expires INTEGER NOT NULL
	) STRICT;
	CREATE INDEX throttles_expires ON throttles (expires);`,
	ledgerMigration, // ledger.go
	// Status canceled: SQLite cannot change a CHECK in place, so the table
	// is rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter):
	// create the new table, copy, drop, rename, recreate the indexes. A
	// migration that added a column to predictions before this one must
	// list it here too.
	`PRAGMA defer_foreign_keys = ON;
	CREATE TABLE predictions_v3 (
		id           TEXT PRIMARY KEY,
		user_id      TEXT NOT NULL REFERENCES users (id),
		model_id     TEXT NOT NULL, -- no foreign key: a model may be unpublished later
		status       TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'canceled')),
		cost         INTEGER NOT NULL CHECK (cost >= 0),
		row_count    INTEGER NOT NULL,
		delay        INTEGER NOT NULL, -- nanoseconds
		error        TEXT NOT NULL,
		created_at   INTEGER NOT NULL,
		updated_at   INTEGER NOT NULL,
		input_bytes  INTEGER NOT NULL DEFAULT 0,
		request_hash TEXT NOT NULL DEFAULT ''
	) STRICT;
	INSERT INTO predictions_v3 (id, user_id, model_id, status, cost, row_count, delay, error, created_at, updated_at, input_bytes, request_hash)
		SELECT id, user_id, model_id, status, cost, row_count, delay, error, created_at, updated_at, input_bytes, request_hash FROM predictions;
	DROP TABLE predictions;
	ALTER TABLE predictions_v3 RENAME TO predictions;
	CREATE INDEX predictions_user_created ON predictions (user_id, created_at DESC, id DESC);
	CREATE INDEX predictions_pending ON predictions (created_at, id) WHERE status = 'pending';`,

	// Webhooks (webhooks.go): the URL on the prediction, each user's
	// signing secret, and the deliveries, queued by a trigger in the
	// transaction that ends a prediction with a webhook URL, so none is
	// lost to a crash. No foreign keys to predictions: a rebuild of that
	// table must not cascade here.
	`ALTER TABLE predictions ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
	CREATE TABLE webhook_secrets (
		user_id    TEXT PRIMARY KEY REFERENCES users (id),
		secret     TEXT NOT NULL,
		updated_at INTEGER NOT NULL
	) STRICT;
	CREATE TABLE webhook_deliveries (
		prediction_id TEXT PRIMARY KEY,
		user_id       TEXT NOT NULL,
		url           TEXT NOT NULL,
		event         TEXT NOT NULL,
		attempts      INTEGER NOT NULL DEFAULT 0,
		last_status   INTEGER NOT NULL DEFAULT 0,
		last_error    TEXT NOT NULL DEFAULT '',
		next_at       INTEGER NOT NULL, -- unix nanoseconds
		done          INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL
	) STRICT;
	CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, prediction_id) WHERE done = 0;
	CREATE TRIGGER predictions_webhook AFTER UPDATE OF status ON predictions
	WHEN OLD.status = 'pending' AND NEW.status != 'pending' AND NEW.webhook_url != ''
	BEGIN
		INSERT OR IGNORE INTO webhook_deliveries (prediction_id, user_id, url, event, next_at, created_at)
		VALUES (NEW.id, NEW.user_id, NEW.webhook_url, 'prediction.' || NEW.status, NEW.updated_at, NEW.updated_at);
	END;`,
	inputsMigration, // inputs.go
}

// migrate brings the schema up to date in one transaction, so two processes
// opening a new file at once do not both create it.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is an int we control.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// Users and balances.

const userColumns = `id, firstname, username, password_hash, balance, created_at`

// CreateUser stores u. A taken id or username (case-insensitively) is EConflict.
func (s *Store) CreateUser(ctx context.Context, u *mlsvc.User) error {
	if u.Balance < 0 {
		return mlsvc.Errorf(mlsvc.EInvalid, "balance must not be negative")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO users (id, firstname, username, username_key, password_hash, balance, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Firstname, u.Username, mlsvc.UsernameKey(u.Username), u.PasswordHash, int64(u.Balance), nanos(u.CreatedAt))
		switch sqliteCode(err) {
		case 0:
			if u.Balance > 0 {
				return insertEntry(ctx, tx, openingEntry(u))
			}
			return nil
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &mlsvc.Error{Code: mlsvc.EConflict, Message: fmt.Sprintf("user %s already exists", u.ID), Err: err}
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return &mlsvc.Error{Code: mlsvc.EConflict, Message: fmt.Sprintf("username %q is already taken", u.Username), Err: err}
		}
		return dbErrorf("create user %s: %w", u.ID, err)
	})
}

// UserByID returns the user with id, or ENotFound.
func (s *Store) UserByID(ctx context.Context, id string) (*mlsvc.User, error) {
	return queryOne(ctx, s.db, "user "+id, scanUser, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

// UserByUsername returns the user named username, compared
// case-insensitively, or ENotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (*mlsvc.User, error) {
	return queryOne(ctx, s.db, fmt.Sprintf("user %q", username), scanUser,
		`SELECT `+userColumns+` FROM users WHERE username_key = ?`, mlsvc.UsernameKey(username))
}

func scanUser(row scanner) (*mlsvc.User, error) {
	var u mlsvc.User
	var balance, created int64
	if err := row.Scan(&u.ID, &u.Firstname, &u.Username, &u.PasswordHash, &balance, &created); err != nil {
		return nil, err
	}
	u.Balance, u.CreatedAt = mlsvc.Cents(balance), fromNanos(created)
	return &u, nil
}

// AddBalance adds amount to the user's balance with a topup entry and
// returns the new balance. ENotFound for an absent user, EInvalid for an
// amount that is not positive.
func (s *Store) AddBalance(ctx context.Context, userID string, amount mlsvc.Cents) (mlsvc.Cents, error) {
	return s.Credit(ctx, &mlsvc.LedgerEntry{
		ID: mlsvc.NewID(), UserID: userID, Type: mlsvc.EntryTopUp, Amount: amount, CreatedAt: time.Now().UTC(),
	})
}

// Models.

const modelColumns = `id, name, cost, description, file, format, features, metric, score, created_at`

// PutModel creates or replaces the model with m.ID.
func (s *Store) PutModel(ctx context.Context, m *mlsvc.CatalogEntry) error {
	features, err := json.Marshal(m.Features)
	if err != nil {
		return dbErrorf("put model %s: encode features: %w", m.ID, err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO models (`+modelColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				name = excluded.name, cost = excluded.cost, description = excluded.description,
				file = excluded.file, format = excluded.format, features = excluded.features,
				metric = excluded.metric, score = excluded.score, created_at = excluded.created_at`,
			m.ID, m.Name, int64(m.Cost), m.Description, m.File, m.Format, string(features),
			m.Metric, m.Score, nanos(m.CreatedAt))
		if err != nil {
			return dbErrorf("put model %s: %w", m.ID, err)
		}
		return nil
	})
}

// CreateModel stores m unless a model with m.ID exists (EConflict).
func (s *Store) CreateModel(ctx context.Context, m *mlsvc.CatalogEntry) error {
	features, err := json.Marshal(m.Features)
	if err != nil {
		return dbErrorf("create model %s: encode features: %w", m.ID, err)
	}
	_, err = s.exec(ctx, `INSERT INTO models (`+modelColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Name, int64(m.Cost), m.Description, m.File, m.Format, string(features),
		m.Metric, m.Score, nanos(m.CreatedAt))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return &mlsvc.Error{Code: mlsvc.EConflict, Message: fmt.Sprintf("model %s already exists", m.ID), Err: err}
	}
	if err != nil {
		return dbErrorf("create model %s: %w", m.ID, err)
	}
	return nil
}

// Model returns the model with id, or ENotFound.
func (s *Store) Model(ctx context.Context, id string) (*mlsvc.CatalogEntry, error) {
	return queryOne(ctx, s.db, "model "+id, scanModel, `SELECT `+modelColumns+` FROM models WHERE id = ?`, id)
}

// Models lists all models by cost, then name.
func (s *Store) Models(ctx context.Context) ([]*mlsvc.CatalogEntry, error) {
	return queryAll(ctx, s.db, "list models", scanModel, `SELECT `+modelColumns+` FROM models ORDER BY cost, name, id`)
}

func scanModel(row scanner) (*mlsvc.CatalogEntry, error) {
	var m mlsvc.CatalogEntry
	var cost, created int64
	var features string
	err := row.Scan(&m.ID, &m.Name, &cost, &m.Description, &m.File, &m.Format, &features,
		&m.Metric, &m.Score, &created)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(features), &m.Features); err != nil {
		return nil, dbErrorf("decode features of model %s: %w", m.ID, err)
	}
	m.Cost, m.CreatedAt = mlsvc.Cents(cost), fromNanos(created)
	return &m, nil
}

// Predictions.

const predictionColumns = `id, user_id, model_id, status, cost, row_count, input_bytes, request_hash, delay, error, created_at, updated_at, webhook_url`

// CreatePrediction charges p.Cost to p.UserID and stores p as pending, in
// one transaction. EInsufficient when the balance is below the cost,
// EConflict when p.ID exists, ENotFound when the user does not.
func (s *Store) CreatePrediction(ctx context.Context, p *mlsvc.Prediction) error {
	if p.Cost < 0 {
		return mlsvc.Errorf(mlsvc.EInvalid, "cost must not be negative")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return createPrediction(ctx, tx, p) })
}

// createPrediction is CreatePrediction's transaction.
func createPrediction(ctx context.Context, tx *sql.Tx, p *mlsvc.Prediction) error {
	if err := failpoint(ctx, "charge"); err != nil {
		return err
	}
	// No RETURNING (SQLite would keep the row in a temporary table): the
	// ledger entry reads the new balance itself (chargeEntry).
	res, err := tx.ExecContext(ctx,
		`UPDATE users SET balance = balance - ?1 WHERE id = ?2 AND balance >= ?1`, int64(p.Cost), p.UserID)
	if err != nil {
		return dbErrorf("charge user %s: %w", p.UserID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErrorf("charge user %s: %w", p.UserID, err)
	} else if n == 0 {
		return whyNotCharged(ctx, tx, p)
	}
	if err := failpoint(ctx, "prediction"); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO predictions (`+predictionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.ModelID, string(mlsvc.StatusPending), int64(p.Cost), p.Rows, p.InputBytes, p.RequestHash,
		int64(p.Delay), p.Error, nanos(p.CreatedAt), nanos(p.UpdatedAt), p.WebhookURL)
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return &mlsvc.Error{Code: mlsvc.EConflict, Message: fmt.Sprintf("prediction %s already exists", p.ID), Err: err}
	}
	if err != nil {
		return dbErrorf("insert prediction %s: %w", p.ID, err)
	}
	return insertEntryAt(ctx, tx, chargeEntry, &mlsvc.LedgerEntry{
		ID: mlsvc.NewID(), UserID: p.UserID, Type: mlsvc.EntryCharge, Amount: -p.Cost,
		PredictionID: p.ID, CreatedAt: p.CreatedAt,
	})
}

// whyNotCharged tells an absent user from a short balance.
func whyNotCharged(ctx context.Context, tx *sql.Tx, p *mlsvc.Prediction) error {
	var bal int64
	err := tx.QueryRowContext(ctx, `SELECT balance FROM users WHERE id = ?`, p.UserID).Scan(&bal)
	if errors.Is(err, sql.ErrNoRows) {
		return mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", p.UserID)
	}
	if err != nil {
		return dbErrorf("read balance of user %s: %w", p.UserID, err)
	}
	return mlsvc.Errorf(mlsvc.EInsufficient, "balance %s does not cover %s", mlsvc.Cents(bal), p.Cost)
}

// Prediction returns the prediction with id, or ENotFound.
func (s *Store) Prediction(ctx context.Context, id string) (*mlsvc.Prediction, error) {
	return queryOne(ctx, s.db, "prediction "+id, scanPrediction, `SELECT `+predictionColumns+` FROM predictions WHERE id = ?`, id)
}

// Predictions lists the user's predictions newest first (equal times by id,
// descending), page.Size() at a time. A malformed cursor is EInvalid.
func (s *Store) Predictions(ctx context.Context, userID string, page mlsvc.Page) ([]*mlsvc.Prediction, string, error) {
	return queryPage(ctx, s.db, "list predictions of user "+userID, scanPrediction, page,
		func(p *mlsvc.Prediction) (time.Time, string) { return p.CreatedAt, p.ID },
		`SELECT `+predictionColumns+` FROM predictions WHERE user_id = ?`, userID)
}

// PendingPredictions lists the predictions still pending, oldest first.
func (s *Store) PendingPredictions(ctx context.Context) ([]*mlsvc.Prediction, error) {
	return queryAll(ctx, s.db, "list pending predictions", scanPrediction, `SELECT `+predictionColumns+` FROM predictions
		WHERE status = 'pending' ORDER BY created_at, id`)
}

func scanPrediction(row scanner) (*mlsvc.Prediction, error) {
	var p mlsvc.Prediction
	var status string
	var cost, delay, created, updated int64
	err := row.Scan(&p.ID, &p.UserID, &p.ModelID, &status, &cost, &p.Rows, &p.InputBytes, &p.RequestHash, &delay, &p.Error, &created, &updated, &p.WebhookURL)
	if err != nil {
		return nil, err
	}
	p.Status, p.Cost, p.Delay = mlsvc.Status(status), mlsvc.Cents(cost), time.Duration(delay)
	p.CreatedAt, p.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &p, nil
}

// CompletePrediction marks a pending prediction completed at at. EConflict
// if it is not pending, ENotFound if it does not exist.
func (s *Store) CompletePrediction(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE predictions SET status = 'completed', updated_at = ? WHERE id = ? AND status = 'pending'`,
			nanos(at), id)
		if err != nil {
			return dbErrorf("complete prediction %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErrorf("complete prediction %s: %w", id, err)
		} else if n == 0 {
			return notPending(ctx, tx, id)
		}
		return nil
	})
}

// FailPrediction marks a pending prediction failed with reason and refunds
// its cost, in one transaction. EConflict if it is not pending (so the
// refund happens once), ENotFound if it does not exist.
func (s *Store) FailPrediction(ctx context.Context, id, reason string, at time.Time) error {
	return s.endWithRefund(ctx, id, at, mlsvc.StatusFailed, reason)
}

// notPending explains why a prediction could not leave the pending state.
func notPending(ctx context.Context, tx *sql.Tx, id string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM predictions WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return mlsvc.Errorf(mlsvc.ENotFound, "prediction %s not found", id)
	}
	if err != nil {
		return dbErrorf("read prediction %s: %w", id, err)
	}
	return mlsvc.Errorf(mlsvc.EConflict, "prediction %s is %s, not pending", id, status)
}

// Helpers.

// inTx runs f as one atomic write and returns f's error, or the commit's:
// f's changes are committed if and only if inTx returns nil. Every write of
// the Store goes through it (see the package doc): the one writer runs f
// in a transaction shared with other callers' functions, and runs it again,
// in a savepoint of a new transaction, if one of them fails. So f may run
// twice (only the last run's changes are committed, and any value it sets
// for its caller must come from that run), must read and write through tx
// (s.db is the read pool, which does not see f's changes, and for
// ":memory:" waits for the writer), must not commit or roll tx back
// itself, must not call inTx (it would wait for itself), and should be
// quick: the batch waits for it. If ctx is done
// before f starts, f does not run.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	err := s.w.do(ctx, func(tx *sql.Tx) error {
		if err := f(tx); err != nil {
			return err
		}
		return failpoint(ctx, "commit")
	})
	if err != nil {
		return err
	}
	// A caller may see an error though the transaction committed (a crash
	// before the answer): tests fail here to prove retries are safe.
	return failpoint(ctx, "committed")
}

// dbErrorf wraps a database error with context, as fmt.Errorf. Errors of a
// database that is busy, full or failing underneath (disk full, read-only,
// I/O error) become EUnavailable: retrying later may succeed, and nothing
// was changed.
func dbErrorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	switch sqliteCode(err) & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM:
		return &mlsvc.Error{Code: mlsvc.EUnavailable, Message: "the database is unavailable; try again later", Err: err}
	}
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryOne reads the one row of query with scan. what names the row (as
// "user u1") in its errors: ENotFound when there is none.
func queryOne[T any](ctx context.Context, db *sql.DB, what string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, mlsvc.Errorf(mlsvc.ENotFound, "%s not found", what)
	}
	if err != nil {
		return v, dbErrorf("read %s: %w", what, err)
	}
	return v, nil
}

// queryAll returns every row of query, each read by scan; empty, not nil,
// when there is none. op (as "list users") names the query in an error.
func queryAll[T any](ctx context.Context, db *sql.DB, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	out, err := scanRows(ctx, db, scan, query, args...)
	if err != nil {
		return nil, dbErrorf("%s: %w", op, err)
	}
	return out, nil
}

func scanRows[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryPage returns a page of the rows of query (which selects a user's
// rows: "… WHERE user_id = ?" with the user as args) newest first, equal
// times by id descending, page.Size() at a time, and the cursor of the
// next page ("" after the last). key gives a row's creation time and id,
// which the cursor holds. A malformed cursor is EInvalid.
func queryPage[T any](ctx context.Context, db *sql.DB, op string, scan func(scanner) (T, error), page mlsvc.Page,
	key func(T) (time.Time, string), query string, args ...any) ([]T, string, error) {
	limit := page.Size()
	if page.Cursor != "" {
		at, id, err := decodeCursor(page.Cursor)
		if err != nil {
			return nil, "", err
		}
		query += ` AND (created_at, id) < (?, ?)`
		args = append(args, at, id)
	}
	// One row more than the page tells whether another page follows.
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	out, err := queryAll(ctx, db, op, scan, query, args...)
	if err != nil || len(out) <= limit {
		return out, "", err
	}
	out = out[:limit]
	at, id := key(out[limit-1])
	return out, encodeCursor(nanos(at), id), nil
}

// sqliteCode returns the extended result code of a SQLite error, 0 for nil
// and -1 for another error.
func sqliteCode(err error) int {
	if err == nil {
		return 0
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}

// nanos is t as unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// A cursor is the position of the last prediction of a page: base64 of
// "<created_at nanos>:<id>". Clients must treat it as opaque.
func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + id))
}

func decodeCursor(cursor string) (at int64, id string, err error) {
	bad := mlsvc.Errorf(mlsvc.EInvalid, "invalid page cursor")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, "", bad
	}
	n, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return 0, "", bad
	}
	at, err = strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0, "", bad
	}
	return at, id, nil
}
