package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"mlsvc/pkg/mlsvc"
	"time"
)

// CancelPrediction marks a pending prediction canceled and refunds its
// cost, in one transaction. EConflict if it is not pending (so it ends
// once and is refunded once), ENotFound if it does not exist.
// pkg/dynamo/cancel.go has the same two functions for DynamoDB: each
// adapter writes the rule in its own database's transaction, and
// storetest holds both to it.
func (s *Store) CancelPrediction(ctx context.Context, id string, at time.Time) error {
	return s.endWithRefund(ctx, id, at, mlsvc.StatusCanceled, "")
}

// endWithRefund ends a pending prediction with status and reason and
// refunds its cost with the refund's ledger entry, in one transaction:
// EConflict if it is not pending, ENotFound if it does not exist.
func (s *Store) endWithRefund(ctx context.Context, id string, at time.Time, status mlsvc.Status, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var userID string
		var cost int64
		err := tx.QueryRowContext(ctx, `
			UPDATE predictions SET status = ?, error = ?, updated_at = ?
			WHERE id = ? AND status = 'pending'
			RETURNING user_id, cost`,
			string(status), reason, nanos(at), id).Scan(&userID, &cost)
		if errors.Is(err, sql.ErrNoRows) {
			return notPending(ctx, tx, id)
		}
		if err != nil {
			return dbErrorf("end prediction %s as %s: %w", id, status, err)
		}
		if err := failpoint(ctx, "refund"); err != nil {
			return err
		}
		return applyEntry(ctx, tx, &mlsvc.LedgerEntry{
			ID: mlsvc.NewID(), UserID: userID, Type: mlsvc.EntryRefund, Amount: mlsvc.Cents(cost),
			PredictionID: id, CreatedAt: at,
		})
	})
}
