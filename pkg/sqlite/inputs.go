package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"mlsvc/pkg/mlsvc"
)

// Prediction inputs kept with their charge (mlsvc.InputStore).
//
// Accepting a prediction used to write its rows to a file of their own (a
// directory, a temporary file and a rename per prediction: most of the CPU
// of accepting one). An input of at most MaxInlineBytes is now a row of
// prediction_inputs, inserted in the charge's transaction, so the rows are
// committed with the charge, in the same group commit and fsync: an
// acknowledged prediction has its rows, and a crash keeps both or neither.
// Larger inputs still go to blob files. No foreign key to predictions, as
// for webhook_deliveries: a rebuild of that table must not cascade here; a
// row exists only with its prediction, written in one transaction, and
// predictions are never deleted.
const inputsMigration = `CREATE TABLE prediction_inputs (
	prediction_id TEXT PRIMARY KEY,
	input         BLOB NOT NULL -- the rows as stored (JSON)
) STRICT;`

// MaxInlineBytes is the largest input kept in the database. Larger inputs
// make each batch's commit write more than the accepted predictions around
// them need to wait for; below it, a row costs less than a file.
const MaxInlineBytes = 256 << 10

var _ mlsvc.InputStore = (*Store)(nil)

// MaxInlineInput is MaxInlineBytes (mlsvc.InputStore).
func (s *Store) MaxInlineInput() int { return MaxInlineBytes }

// CreatePredictionWithInput is CreatePrediction that also stores input as
// p's rows, in the same transaction.
func (s *Store) CreatePredictionWithInput(ctx context.Context, p *mlsvc.Prediction, input []byte) error {
	if p.Cost < 0 {
		return mlsvc.Errorf(mlsvc.EInvalid, "cost must not be negative")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := createPrediction(ctx, tx, p); err != nil {
			return err
		}
		if err := failpoint(ctx, "input"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO prediction_inputs (prediction_id, input) VALUES (?, ?)`, p.ID, input); err != nil {
			return dbErrorf("insert input of prediction %s: %w", p.ID, err)
		}
		return nil
	})
}

// PredictionInput returns the rows stored with prediction id, or ENotFound.
func (s *Store) PredictionInput(ctx context.Context, id string) ([]byte, error) {
	var input []byte
	err := s.db.QueryRowContext(ctx, `SELECT input FROM prediction_inputs WHERE prediction_id = ?`, id).Scan(&input)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "no input stored with prediction %s", id)
	}
	if err != nil {
		return nil, dbErrorf("read input of prediction %s: %w", id, err)
	}
	if input == nil {
		input = []byte{}
	}
	return input, nil
}
