package sqlite

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// TestCheckpointsBesideTheWriter: with SQLite's automatic checkpoint off,
// the checkpointer still copies the WAL back into the database after
// writes, so the WAL is reused from its start and stays the size of a
// round of writes instead of growing with all of them; and no checkpoint
// runs on the writer's connection.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	path := t.TempDir() + "/mlsvc.db"
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	var auto int
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("the writer's wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	// Each round writes a few MB of pages (500 rows of 1 KB keys).
	const rounds = 8
	var first, largest int64
	for r := range rounds {
		_, err := s.exec(ctx, fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
			INSERT INTO throttles (key, count, until, expires) SELECT '%d-' || i || hex(randomblob(500)), 1, 0, 0 FROM n`, r))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if r == 0 {
			first = fi.Size()
		}
		largest = max(largest, fi.Size())
		time.Sleep(3 * checkpointEvery) // the checkpoint after the round
	}
	// Without checkpoints the WAL would hold every round: rounds × first.
	if largest > 3*first {
		t.Errorf("the WAL grew to %d bytes after %d rounds of %d: not checkpointed", largest, rounds, first)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM throttles").Scan(&n); err != nil || n != rounds*500 {
		t.Errorf("%d rows, %v; want %d", n, err, rounds*500)
	}
}
