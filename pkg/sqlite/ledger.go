package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"mlsvc/pkg/mlsvc"
)

// ledgerMigration adds the ledger: one immutable row per balance change,
// written in the transaction of the change. A payment id is unique (a paid
// top-up credits once), and so is each prediction's charge and refund.
//
// Users and predictions from before the ledger get entries that explain
// their balances: a charge per prediction, a refund per failed (or canceled) one, and an
// opening credit of whatever the user had topped up; balance_after is the
// running sum in time order.
const ledgerMigration = `CREATE TABLE ledger (
		id            TEXT PRIMARY KEY,
		user_id       TEXT NOT NULL REFERENCES users (id),
		type          TEXT NOT NULL CHECK (type IN ('topup', 'charge', 'refund', 'credit')),
		amount        INTEGER NOT NULL, -- signed cents: a charge is negative
		balance_after INTEGER NOT NULL,
		prediction_id TEXT NOT NULL, -- '' unless a charge or refund
		payment_id    TEXT NOT NULL, -- '' unless a paid top-up
		created_at    INTEGER NOT NULL
	) STRICT;
	CREATE INDEX ledger_user_created ON ledger (user_id, created_at DESC, id DESC);
	CREATE UNIQUE INDEX ledger_payment ON ledger (payment_id) WHERE payment_id != '';
	CREATE UNIQUE INDEX ledger_prediction ON ledger (prediction_id, type) WHERE prediction_id != '';

	INSERT INTO ledger (id, user_id, type, amount, balance_after, prediction_id, payment_id, created_at)
	SELECT id, user_id, type, amount,
		SUM(amount) OVER (PARTITION BY user_id ORDER BY at, ord, id ROWS UNBOUNDED PRECEDING),
		pid, '', at
	FROM (
		SELECT 'opening-' || u.id AS id, u.id AS user_id, 'credit' AS type,
			u.balance + COALESCE((SELECT SUM(p.cost) FROM predictions p WHERE p.user_id = u.id AND p.status NOT IN ('failed', 'canceled')), 0) AS amount,
			'' AS pid, u.created_at AS at, 0 AS ord
		FROM users u
		UNION ALL
		SELECT 'charge-' || id, user_id, 'charge', -cost, id, created_at, 1 FROM predictions
		UNION ALL
		SELECT 'refund-' || id, user_id, 'refund', cost, id, updated_at, 2 FROM predictions WHERE status IN ('failed', 'canceled')
	)
	WHERE NOT (type = 'credit' AND amount = 0);`

const entryColumns = `id, user_id, type, amount, balance_after, prediction_id, payment_id, created_at`

// openingEntry is the credit that explains the balance a user is created with.
func openingEntry(u *mlsvc.User) *mlsvc.LedgerEntry {
	return &mlsvc.LedgerEntry{
		ID: mlsvc.NewID(), UserID: u.ID, Type: mlsvc.EntryCredit,
		Amount: u.Balance, BalanceAfter: u.Balance, CreatedAt: u.CreatedAt,
	}
}

// Credit implements mlsvc.Store: the balance and the entry in one transaction.
func (s *Store) Credit(ctx context.Context, e *mlsvc.LedgerEntry) (mlsvc.Cents, error) {
	if e.Amount <= 0 {
		return 0, mlsvc.Errorf(mlsvc.EInvalid, "amount must be positive")
	}
	if e.Type != mlsvc.EntryTopUp && e.Type != mlsvc.EntryCredit {
		return 0, mlsvc.Errorf(mlsvc.EInvalid, "a credit is a topup or credit entry, not %q", e.Type)
	}
	entry := *e
	err := s.inTx(ctx, func(tx *sql.Tx) error { return applyEntry(ctx, tx, &entry) })
	if err != nil {
		return 0, err
	}
	return entry.BalanceAfter, nil
}

// applyEntry adds e.Amount to its user's balance and inserts e with the new
// balance, in tx.
func applyEntry(ctx context.Context, tx *sql.Tx, e *mlsvc.LedgerEntry) error {
	var after int64
	err := tx.QueryRowContext(ctx,
		`UPDATE users SET balance = balance + ? WHERE id = ? RETURNING balance`,
		int64(e.Amount), e.UserID).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		return mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", e.UserID)
	}
	if err != nil {
		return dbErrorf("change balance of user %s: %w", e.UserID, err)
	}
	e.BalanceAfter = mlsvc.Cents(after)
	return insertEntry(ctx, tx, e)
}

// insertEntry appends e to the ledger, in tx. A payment or a prediction's
// charge or refund already in the ledger is EConflict.
func insertEntry(ctx context.Context, tx *sql.Tx, e *mlsvc.LedgerEntry) error {
	return insertEntryAt(ctx, tx, `INSERT INTO ledger (`+entryColumns+`) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`, e)
}

// chargeEntry inserts an entry whose balance_after is its user's balance
// now, in the transaction that has just changed it (createPrediction).
const chargeEntry = `INSERT INTO ledger (` + entryColumns + `)
	VALUES (?1, ?2, ?3, ?4, (SELECT balance FROM users WHERE id = ?2), ?6, ?7, ?8)`

// insertEntryAt is insertEntry with the statement query, which takes e's
// fields as ?1 to ?8 in entryColumns order.
func insertEntryAt(ctx context.Context, tx *sql.Tx, query string, e *mlsvc.LedgerEntry) error {
	if err := failpoint(ctx, "ledger"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, query,
		e.ID, e.UserID, string(e.Type), int64(e.Amount), int64(e.BalanceAfter), e.PredictionID, e.PaymentID, nanos(e.CreatedAt))
	switch sqliteCode(err) {
	case 0:
		return nil
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		if e.PaymentID != "" {
			return &mlsvc.Error{Code: mlsvc.EConflict, Message: fmt.Sprintf("payment %s is already credited", e.PaymentID), Err: err}
		}
		return &mlsvc.Error{Code: mlsvc.EConflict, Message: fmt.Sprintf("ledger entry %s or the %s of prediction %s already exists", e.ID, e.Type, e.PredictionID), Err: err}
	}
	return dbErrorf("append %s entry for user %s: %w", e.Type, e.UserID, err)
}

// Transactions implements mlsvc.Store, newest first, as Predictions pages.
func (s *Store) Transactions(ctx context.Context, userID string, page mlsvc.Page) ([]*mlsvc.LedgerEntry, string, error) {
	return queryPage(ctx, s.db, "list transactions of user "+userID, scanEntry, page,
		func(e *mlsvc.LedgerEntry) (time.Time, string) { return e.CreatedAt, e.ID },
		`SELECT `+entryColumns+` FROM ledger WHERE user_id = ?`, userID)
}

func scanEntry(row scanner) (*mlsvc.LedgerEntry, error) {
	var e mlsvc.LedgerEntry
	var typ string
	var amount, after, created int64
	if err := row.Scan(&e.ID, &e.UserID, &typ, &amount, &after, &e.PredictionID, &e.PaymentID, &created); err != nil {
		return nil, err
	}
	e.Type, e.Amount, e.BalanceAfter, e.CreatedAt = mlsvc.EntryType(typ), mlsvc.Cents(amount), mlsvc.Cents(after), fromNanos(created)
	return &e, nil
}

// Users implements mlsvc.Store.
func (s *Store) Users(ctx context.Context) ([]*mlsvc.User, error) {
	return queryAll(ctx, s.db, "list users", scanUser, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
}
