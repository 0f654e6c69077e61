package sqlite

import (
	"context"
	"sync"
	"time"
)

// Checkpoints off the writer.
//
// SQLite's automatic checkpoint (copying the WAL's pages back into the
// database file, every 1000 pages) runs inside the commit that crosses the
// threshold: on the one writer's goroutine, so every write queued behind
// that commit waits for the copy and its fsyncs (it was a sixth of the
// writer's time under load). Instead the store turns it off
// (wal_autocheckpoint(0)) and runs PASSIVE checkpoints on a read
// connection, beside the writer: a passive checkpoint takes no lock the
// writer needs and never waits for it. A checkpoint runs at most every
// checkpointEvery while writes are committed, and once more soon after the
// last. Durability is unchanged: a commit is durable once its WAL frames
// are fsynced, before or after a checkpoint copies them.

// checkpointEvery is the least time between two checkpoints.
const checkpointEvery = 100 * time.Millisecond

type checkpointer struct {
	s       *Store
	wake    chan struct{} // one pending wake-up
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newCheckpointer(s *Store) *checkpointer {
	c := &checkpointer{s: s, wake: make(chan struct{}, 1), quit: make(chan struct{}), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// committed tells the checkpointer the WAL grew. It never blocks.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.stopped)
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return
		}
		select {
		case <-time.After(checkpointEvery):
		case <-c.quit:
			return
		}
		// A failed checkpoint (a reader holding the oldest frames, a full
		// disk) is tried again after the next commit; the WAL keeps every
		// frame meanwhile.
		_, _ = c.s.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// close stops the loop; Close's closing of the last connection checkpoints
// what is left.
func (c *checkpointer) close() {
	c.once.Do(func() { close(c.quit) })
	<-c.stopped
}
