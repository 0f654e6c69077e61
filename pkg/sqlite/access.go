package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"mlsvc/pkg/mlsvc"
)

// API keys, password changes and throttles (mlsvc.AccessStore).

const apiKeyColumns = `id, user_id, name, prefix, hash, created_at, last_used_at`

// CreateAPIKey implements mlsvc.AccessStore: the count and the insert are
// one write transaction.
func (s *Store) CreateAPIKey(ctx context.Context, k *mlsvc.APIKey, max int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE user_id = ?`, k.UserID).Scan(&n); err != nil {
			return dbErrorf("count api keys: %w", err)
		}
		if n >= max {
			return mlsvc.Errorf(mlsvc.EConflict, "user %s has %d API keys already", k.UserID, n)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.UserID, k.Name, k.Prefix, k.Hash, nanos(k.CreatedAt), nanos(k.LastUsedAt))
		switch sqliteCode(err) {
		case 0:
			return nil
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &mlsvc.Error{Code: mlsvc.EConflict, Message: "API key " + k.ID + " exists", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &mlsvc.Error{Code: mlsvc.ENotFound, Message: "user " + k.UserID + " not found", Err: err}
		}
		return dbErrorf("create api key: %w", err)
	})
}

// APIKey implements mlsvc.AccessStore.
func (s *Store) APIKey(ctx context.Context, id string) (*mlsvc.APIKey, error) {
	return queryOne(ctx, s.db, "API key "+id, scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id)
}

// APIKeys implements mlsvc.AccessStore.
func (s *Store) APIKeys(ctx context.Context, userID string) ([]*mlsvc.APIKey, error) {
	return queryAll(ctx, s.db, "list api keys", scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = ? ORDER BY created_at, id`, userID)
}

func scanAPIKey(row scanner) (*mlsvc.APIKey, error) {
	var k mlsvc.APIKey
	var created, used int64
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, &created, &used); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt = fromNanos(created), fromNanos(used)
	return &k, nil
}

// DeleteAPIKey implements mlsvc.AccessStore.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM api_keys WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return dbErrorf("delete api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mlsvc.Errorf(mlsvc.ENotFound, "API key %s not found", id)
	}
	return nil
}

// TouchAPIKey implements mlsvc.AccessStore.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, nanos(at), id); err != nil {
		return dbErrorf("touch api key: %w", err)
	}
	return nil
}

// SetPasswordHash implements mlsvc.AccessStore.
func (s *Store) SetPasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", userID)
		}
		if err != nil {
			return dbErrorf("read password: %w", err)
		}
		if current != oldHash {
			return mlsvc.Errorf(mlsvc.EConflict, "the password of user %s changed meanwhile", userID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, newHash, userID); err != nil {
			return dbErrorf("set password: %w", err)
		}
		return nil
	})
}

// Throttle implements mlsvc.AccessStore.
func (s *Store) Throttle(ctx context.Context, key string, now time.Time) (mlsvc.Throttle, error) {
	t := mlsvc.Throttle{Key: key}
	var until, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT count, until, expires FROM throttles WHERE key = ? AND expires > ?`,
		key, nanos(now)).Scan(&t.Count, &until, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return t, dbErrorf("read throttle: %w", err)
	}
	t.Until, t.Expires = fromNanos(until), fromNanos(expires)
	return t, nil
}

// ClaimThrottle implements mlsvc.AccessStore.
func (s *Store) ClaimThrottle(ctx context.Context, t mlsvc.Throttle, prev int, now time.Time) error {
	res, err := s.exec(ctx, `
		INSERT INTO throttles (key, count, until, expires) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET count = excluded.count, until = excluded.until, expires = excluded.expires
		WHERE (CASE WHEN throttles.expires > ? THEN throttles.count ELSE 0 END) = ?`,
		t.Key, t.Count, nanos(t.Until), nanos(t.Expires), nanos(now), prev)
	if err != nil {
		return dbErrorf("claim throttle: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mlsvc.Errorf(mlsvc.EConflict, "throttle %s changed meanwhile", t.Key)
	}
	if prev != 0 {
		return nil
	}
	// A new record: also forget the expired ones (local mode has no TTL).
	if _, err := s.exec(ctx, `DELETE FROM throttles WHERE expires <= ?`, nanos(now)); err != nil {
		return dbErrorf("forget expired throttles: %w", err)
	}
	return nil
}

// AddThrottle implements mlsvc.AccessStore.
func (s *Store) AddThrottle(ctx context.Context, key string, expires, now time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO throttles (key, count, until, expires) VALUES (?, 1, 0, ?)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN throttles.expires > ? THEN throttles.count + 1 ELSE 1 END,
			expires = CASE WHEN throttles.expires > ? THEN throttles.expires ELSE excluded.expires END
		RETURNING count`, key, nanos(expires), nanos(now), nanos(now)).Scan(&n)
	if err != nil {
		return 0, dbErrorf("add throttle: %w", err)
	}
	return n, nil
}

// DeleteThrottle implements mlsvc.AccessStore.
func (s *Store) DeleteThrottle(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM throttles WHERE key = ?`, key); err != nil {
		return dbErrorf("delete throttle: %w", err)
	}
	return nil
}
