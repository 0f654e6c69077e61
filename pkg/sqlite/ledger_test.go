package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
	"mlsvc/pkg/storetest"
)

// TestFaults fails every money operation at each failpoint of its
// transaction, including after the commit; the audit stays clean.
func TestFaults(t *testing.T) {
	storetest.RunFaults(t, func(t *testing.T) (mlsvc.Store, storetest.Arm) {
		s := openFile(t, filepath.Join(t.TempDir(), "mlsvc.db"))
		arm := func(k int) (context.Context, func() bool) {
			var n, hit atomic.Int32
			ctx := sqlite.WithFailpoint(context.Background(), func(step string) error {
				if n.Add(1) == int32(k) {
					hit.Store(1)
					return errors.New("injected fault before step " + step)
				}
				return nil
			})
			return ctx, func() bool { return hit.Load() == 1 }
		}
		return s, arm
	})
}

// TestMigrateToLedger: users and predictions from before the ledger get
// entries that explain their balances, and the audit is clean.
func TestMigrateToLedger(t *testing.T) {
	path := writeDatabase(t,
		sqlite.MigrationV1,
		// Ann topped up 10.00, then paid 0.10 (completed), 0.15 (failed,
		// refunded) and 0.20 (pending): 9.70 left. Bob never topped up.
		`INSERT INTO users VALUES ('u1', 'Ann', 'ann', 'ann', 'h', 970, 1)`,
		`INSERT INTO users VALUES ('u2', 'Bob', 'bob', 'bob', 'h', 0, 2)`,
		`INSERT INTO predictions VALUES ('p1', 'u1', 'lr', 'completed', 10, 1, 0, '', 10, 11)`,
		`INSERT INTO predictions VALUES ('p2', 'u1', 'rf', 'failed', 15, 1, 0, 'boom', 20, 21)`,
		`INSERT INTO predictions VALUES ('p3', 'u1', 'cb', 'pending', 20, 1, 0, '', 30, 30)`,
		`PRAGMA user_version = 1`,
	)
	s := openFile(t, path)
	ms, err := mlsvc.Audit(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		t.Errorf("Audit after migration: %s", m)
	}
	es, _, err := s.Transactions(t.Context(), "u1", mlsvc.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%s %s %s→%s", e.Type, e.PredictionID, e.Amount, e.BalanceAfter))
	}
	want := []string{"charge p3 -0.2→9.7", "refund p2 0.15→9.9", "charge p2 -0.15→9.75", "charge p1 -0.1→9.9", "credit  10→10"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("migrated ledger of u1:\n got %q\nwant %q", got, want)
	}
	if es, _, _ := s.Transactions(t.Context(), "u2", mlsvc.Page{}); len(es) != 0 {
		t.Errorf("u2 with no balance has %d entries", len(es))
	}
	// The failed prediction cannot be refunded again.
	if err := s.FailPrediction(t.Context(), "p2", "again", time.Now()); mlsvc.ErrorCode(err) != mlsvc.EConflict {
		t.Errorf("FailPrediction(p2) after migration: %v, want conflict", err)
	}
}
