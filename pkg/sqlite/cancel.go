package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
		res, err := tx.ExecContext(ctx, `UPDATE users SET balance = balance + ? WHERE id = ?`, cost, userID)
		if err != nil {
			return dbErrorf("refund canceled prediction %s to user %s: %w", id, userID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("refund canceled prediction %s to user %s: %d users updated (%v)", id, userID, n, err)
		}
		return nil
	})
}
