package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
	"mlsvc/pkg/storetest"
)

// writeDatabase writes a database file with stmts (an older schema, its
// rows, its user_version) as a version before this one left it, and
// returns its path.
func writeDatabase(t *testing.T, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mlsvc.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return path
}

func openFile(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mlsvc.Store {
		return openFile(t, filepath.Join(t.TempDir(), "mlsvc.db"))
	})
}

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mlsvc.Store {
		return openFile(t, ":memory:")
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlsvc.db")
	ctx := t.Context()
	at := time.Date(2025, 6, 1, 12, 0, 0, 123_456_789, time.UTC)

	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := &mlsvc.User{ID: "u1", Firstname: "Ann", Username: "Ann", PasswordHash: "h", Balance: 10_00, CreatedAt: at}
	m := &mlsvc.CatalogEntry{ID: "risk", Name: "Risk", Cost: 1_50, File: "models/risk.json", Format: "linear",
		Features: []string{"feature_0"}, Metric: "r2", Score: 0.5, CreatedAt: at}
	p := &mlsvc.Prediction{ID: "p1", UserID: "u1", ModelID: "risk", Status: mlsvc.StatusPending,
		Cost: 1_50, Rows: 2, Delay: 3 * time.Second, CreatedAt: at, UpdatedAt: at}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.PutModel(ctx, m); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	if err := s.CreatePrediction(ctx, p); err != nil {
		t.Fatalf("CreatePrediction: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openFile(t, path)
	got, err := s.UserByUsername(ctx, "ann")
	if err != nil {
		t.Fatalf("UserByUsername after reopen: %v", err)
	}
	if got.ID != "u1" || got.Balance != 8_50 || !got.CreatedAt.Equal(at) {
		t.Errorf("user after reopen = %+v, want id u1, balance 850, created %s", got, at)
	}
	if _, err := s.Model(ctx, "risk"); err != nil {
		t.Errorf("Model after reopen: %v", err)
	}
	pending, err := s.PendingPredictions(ctx)
	if err != nil {
		t.Fatalf("PendingPredictions after reopen: %v", err)
	}
	if len(pending) != 1 || pending[0].ID != "p1" || !pending[0].CreatedAt.Equal(at) {
		t.Errorf("pending after reopen = %v, want [p1] created %s (nanoseconds kept)", pending, at)
	}
	err = s.CreateUser(ctx, &mlsvc.User{ID: "u2", Username: "ANN", CreatedAt: at})
	if code := mlsvc.ErrorCode(err); code != mlsvc.EConflict {
		t.Errorf("CreateUser(ANN) after reopen: code %q (%v), want %q", code, err, mlsvc.EConflict)
	}
}

func TestFileSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlsvc.db")
	openFile(t, path)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	var version int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || version != sqlite.SchemaVersion {
		t.Errorf("journal_mode %q, user_version %d; want wal, %d", mode, version, sqlite.SchemaVersion)
	}
}

// TestMigrateFromVersion1: a database of the first schema opens with its
// predictions intact; what version 1 did not keep reads as zero.
func TestMigrateFromVersion1(t *testing.T) {
	path := writeDatabase(t,
		sqlite.MigrationV1,
		`INSERT INTO users VALUES ('u1', 'Ann', 'ann', 'ann', 'h', 500, 1)`,
		`INSERT INTO predictions VALUES ('p1', 'u1', 'lr', 'pending', 10, 2, 3000000000, '', 5, 5)`,
		`PRAGMA user_version = 1`,
	)
	s := openFile(t, path)
	p, err := s.Prediction(t.Context(), "p1")
	if err != nil {
		t.Fatalf("Prediction after migration: %v", err)
	}
	if p.Rows != 2 || p.Cost != 10 || p.InputBytes != 0 || p.RequestHash != "" || p.Status != mlsvc.StatusPending {
		t.Errorf("migrated prediction = %+v", p)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := writeDatabase(t, "PRAGMA user_version = 99")
	if s, err := sqlite.Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer version succeeded, want an error")
	}
}

func TestOpenBadPath(t *testing.T) {
	for _, path := range []string{"", "a?b", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")} {
		if s, err := sqlite.Open(path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// TestDatabaseFull: a database that cannot grow ("database or disk is
// full") refuses writes as EUnavailable — a 503, not a 500 — and changes
// nothing: no charge without its prediction.
func TestDatabaseFull(t *testing.T) {
	s := openFile(t, ":memory:") // one connection: the pragma holds for every statement
	ctx := t.Context()
	if err := s.CreateUser(ctx, &mlsvc.User{ID: "u1", Firstname: "Ann", Username: "ann", PasswordHash: "h", Balance: 100_00}); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec("PRAGMA max_page_count = 1"); err != nil { // below the current size: no page may be added
		t.Fatal(err)
	}
	var err error
	for i := 0; err == nil && i < 10_000; i++ {
		err = s.CreatePrediction(ctx, &mlsvc.Prediction{ID: fmt.Sprintf("p%05d-%s", i, strings.Repeat("x", 200)), UserID: "u1",
			ModelID: "lr", Status: mlsvc.StatusPending, Cost: 1, Rows: 1, RequestHash: strings.Repeat("h", 500)})
	}
	if mlsvc.ErrorCode(err) != mlsvc.EUnavailable {
		t.Fatalf("writing to a full database: %v (code %q), want %s", err, mlsvc.ErrorCode(err), mlsvc.EUnavailable)
	}
	u, uerr := s.UserByID(ctx, "u1")
	ps, _, perr := s.Predictions(ctx, "u1", mlsvc.Page{Limit: mlsvc.MaxPageLimit})
	if uerr != nil || perr != nil {
		t.Fatal(uerr, perr)
	}
	if len(ps) >= mlsvc.MaxPageLimit {
		t.Fatalf("%d predictions stored before the database was full; the test needs a smaller database", len(ps))
	}
	if want := 100_00 - mlsvc.Cents(len(ps)); u.Balance != want {
		t.Errorf("balance %s with %d predictions stored, want %s: a refused write changed the balance", u.Balance, len(ps), want)
	}
}
