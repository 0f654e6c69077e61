package sqlite_test

import (
	"database/sql"
	"slices"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
)

// TestMigrateCanceledStatus: a version 2 database with predictions in
// every state is rebuilt to allow canceled, its rows, indexes and CHECK
// constraints intact.
func TestMigrateCanceledStatus(t *testing.T) {
	path := writeDatabase(t,
		sqlite.Migrations[0],
		sqlite.Migrations[1],
		`INSERT INTO users VALUES ('u1', 'Ann', 'ann', 'ann', 'h', 500, 1)`,
		`INSERT INTO predictions VALUES ('p1', 'u1', 'lr', 'pending', 10, 2, 3000000000, '', 5, 5, 123, 'hash1')`,
		`INSERT INTO predictions VALUES ('p2', 'u1', 'lr', 'completed', 20, 3, 0, '', 6, 7, 0, '')`,
		`INSERT INTO predictions VALUES ('p3', 'u1', 'rf', 'failed', 30, 4, 0, 'boom', 8, 9, 456, 'hash3')`,
		`PRAGMA user_version = 2`,
	)

	s := openFile(t, path)
	ctx := t.Context()
	for _, want := range []mlsvc.Prediction{
		{ID: "p1", Status: mlsvc.StatusPending, Cost: 10, Rows: 2, Delay: 3 * time.Second, InputBytes: 123, RequestHash: "hash1"},
		{ID: "p2", Status: mlsvc.StatusCompleted, Cost: 20, Rows: 3},
		{ID: "p3", Status: mlsvc.StatusFailed, Cost: 30, Rows: 4, Error: "boom", InputBytes: 456, RequestHash: "hash3"},
	} {
		p, err := s.Prediction(ctx, want.ID)
		if err != nil {
			t.Fatalf("Prediction(%s) after migration: %v", want.ID, err)
		}
		if p.UserID != "u1" || p.Status != want.Status || p.Cost != want.Cost || p.Rows != want.Rows || p.Delay != want.Delay ||
			p.Error != want.Error || p.InputBytes != want.InputBytes || p.RequestHash != want.RequestHash {
			t.Errorf("migrated %s = %+v, want %+v", want.ID, p, want)
		}
	}
	ps, _, err := s.Predictions(ctx, "u1", mlsvc.Page{})
	if err != nil || len(ps) != 3 || ps[0].ID != "p3" {
		t.Errorf("Predictions after migration = %v, %v; want p3, p2, p1", ps, err)
	}
	if err := s.CancelPrediction(ctx, "p1", time.Unix(10, 0)); err != nil {
		t.Fatalf("CancelPrediction after migration: %v", err)
	}
	u, err := s.UserByID(ctx, "u1")
	if err != nil || u.Balance != 510 {
		t.Errorf("balance after cancel = %v, %v; want 510", u, err)
	}
	if pending, err := s.PendingPredictions(ctx); err != nil || len(pending) != 0 {
		t.Errorf("PendingPredictions = %v, %v; want none", pending, err)
	}

	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var indexes []string
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'predictions' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		rows.Scan(&name)
		indexes = append(indexes, name)
	}
	rows.Close()
	if want := []string{"predictions_pending", "predictions_user_created"}; !slices.Equal(indexes, want) {
		t.Errorf("indexes of predictions = %q, want %q", indexes, want)
	}
	if _, err := db.Exec(`UPDATE predictions SET status = 'bogus' WHERE id = 'p2'`); err == nil {
		t.Error("status 'bogus' was accepted: the CHECK constraint is gone")
	}
	if _, err := db.Exec(`INSERT INTO predictions (id, user_id, model_id, status, cost, row_count, delay, error, created_at, updated_at)
		VALUES ('p9', 'nobody', 'lr', 'pending', 1, 1, 0, '', 1, 1)`); err == nil {
		t.Error("a prediction of an absent user was accepted: the foreign key is gone")
	}
	var leftovers int
	db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'predictions_v3'`).Scan(&leftovers)
	if leftovers != 0 {
		t.Error("predictions_v3 is still in the schema")
	}
}
