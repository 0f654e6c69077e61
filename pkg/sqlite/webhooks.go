package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"mlsvc/pkg/mlsvc"
)

var _ mlsvc.WebhookQueue = (*Store)(nil)

// WebhookSecret returns the user's secret, storing candidate if there is
// none yet. ENotFound for an absent user.
func (s *Store) WebhookSecret(ctx context.Context, userID, candidate string) (string, error) {
	var secret string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT secret FROM webhook_secrets WHERE user_id = ?`, userID).Scan(&secret)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return dbErrorf("read webhook secret of %s: %w", userID, err)
		}
		if err := userExists(ctx, tx, userID); err != nil {
			return err
		}
		secret = candidate
		_, err = tx.ExecContext(ctx, `INSERT INTO webhook_secrets (user_id, secret, updated_at) VALUES (?, ?, ?)`,
			userID, candidate, time.Now().UnixNano())
		if err != nil {
			return dbErrorf("store webhook secret of %s: %w", userID, err)
		}
		return nil
	})
	return secret, err
}

// SetWebhookSecret replaces the user's secret. ENotFound for an absent user.
func (s *Store) SetWebhookSecret(ctx context.Context, userID, secret string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_secrets (user_id, secret, updated_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (user_id) DO UPDATE SET secret = ?2, updated_at = ?3`, userID, secret, time.Now().UnixNano())
		if err != nil {
			return dbErrorf("set webhook secret of %s: %w", userID, err)
		}
		return nil
	})
}

func userExists(ctx context.Context, tx *sql.Tx, userID string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", userID)
	}
	if err != nil {
		return dbErrorf("read user %s: %w", userID, err)
	}
	return nil
}

const deliveryColumns = `prediction_id, user_id, url, event, attempts, last_status, last_error, next_at, done, created_at`

// DueWebhooks implements mlsvc.WebhookQueue.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]*mlsvc.WebhookDelivery, error) {
	return queryAll(ctx, s.db, "list due webhooks", scanDelivery, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE done = 0 AND next_at <= ? ORDER BY next_at, prediction_id LIMIT ?`, nanos(now), limit)
}

// RecordWebhookAttempt implements mlsvc.WebhookQueue.
func (s *Store) RecordWebhookAttempt(ctx context.Context, predictionID string, status int, errText string, next time.Time, done bool) error {
	res, err := s.exec(ctx, `UPDATE webhook_deliveries
		SET attempts = attempts + 1, last_status = ?, last_error = ?, next_at = ?, done = ?
		WHERE prediction_id = ?`, status, errText, nanos(next), done, predictionID)
	if err != nil {
		return dbErrorf("record webhook attempt of %s: %w", predictionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mlsvc.Errorf(mlsvc.ENotFound, "webhook delivery of prediction %s not found", predictionID)
	}
	return nil
}

// WebhookDelivery implements mlsvc.WebhookQueue.
func (s *Store) WebhookDelivery(ctx context.Context, predictionID string) (*mlsvc.WebhookDelivery, error) {
	return queryOne(ctx, s.db, "webhook delivery of prediction "+predictionID, scanDelivery,
		`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE prediction_id = ?`, predictionID)
}

func scanDelivery(row scanner) (*mlsvc.WebhookDelivery, error) {
	var d mlsvc.WebhookDelivery
	var next, created int64
	err := row.Scan(&d.PredictionID, &d.UserID, &d.URL, &d.Event, &d.Attempts, &d.LastStatus, &d.LastError, &next, &d.Done, &created)
	if err != nil {
		return nil, err
	}
	d.NextAt, d.CreatedAt = fromNanos(next), fromNanos(created)
	return &d, nil
}
