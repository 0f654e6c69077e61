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
func (s *Store) CancelPrediction(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var userID string
		var cost int64
		err := tx.QueryRowContext(ctx, `
			UPDATE predictions SET status = 'canceled', updated_at = ?
			WHERE id = ? AND status = 'pending'
			RETURNING user_id, cost`,
			nanos(at), id).Scan(&userID, &cost)
		if errors.Is(err, sql.ErrNoRows) {
			return notPending(ctx, tx, id)
		}
		if err != nil {
			return dbErrorf("cancel prediction %s: %w", id, err)
		}
		if err := failpoint(ctx, "refund"); err != nil {
			return err
		}
		// The refund and its ledger entry, as FailPrediction's.
		return applyEntry(ctx, tx, &mlsvc.LedgerEntry{
			ID: mlsvc.NewID(), UserID: userID, Type: mlsvc.EntryRefund, Amount: mlsvc.Cents(cost),
			PredictionID: id, CreatedAt: at,
		})
	})
}
