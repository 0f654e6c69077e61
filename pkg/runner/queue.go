package runner

import (
	"container/heap"
	"context"
	"log/slog"
	"time"

	"mlsvc/pkg/obs"
)

// The wait before inference, without a goroutine per prediction.
//
// Each prediction used to wait in a goroutine of its own, on a timer: with
// the default delay of minutes, or an hour in make bench-api, a busy
// server held tens of thousands of sleeping goroutines, whose stacks (8 KB
// each at least) the garbage collector scanned again and again. Now the
// waiting predictions are a queue ordered by due time, watched by one
// goroutine on one timer, which starts each prediction's run when it is
// due. A stopped (canceled) prediction stays in the queue, its stop channel
// closed, until it comes due, and is then dropped.

// waiting is a prediction waiting in the queue.
type waiting struct {
	id       string
	due      time.Time     // on the monotonic clock, as a timer's
	logAttrs []slog.Attr   // of its run's log lines (obs.WithAttrs)
	stop     chan struct{} // r.scheduled[id] while it waits
}

// dueQueue is a min-heap of waiting predictions by due time.
type dueQueue []*waiting

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q dueQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *dueQueue) Push(x any)        { *q = append(*q, x.(*waiting)) }
func (q *dueQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return w
}

// enqueue adds w to the queue. r.mu is held.
func (r *Runner) enqueue(w *waiting) {
	heap.Push(&r.queue, w)
	if r.queue[0] == w { // a new earliest: the scheduler's timer is too late
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// schedule starts each waiting prediction's run when it is due, until the
// Runner closes; those still waiting then stay pending for the next start.
func (r *Runner) schedule() {
	defer r.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		r.mu.Lock()
		now := time.Now()
		for len(r.queue) > 0 && !r.queue[0].due.After(now) {
			w := heap.Pop(&r.queue).(*waiting)
			select {
			case <-w.stop: // stopped while it waited
				continue
			default:
			}
			r.wg.Add(1)
			go r.run(obs.WithAttrs(context.Background(), w.logAttrs), w.id, 0, w.stop)
		}
		next := time.Hour
		if len(r.queue) > 0 {
			next = r.queue[0].due.Sub(now)
		}
		r.mu.Unlock()
		t.Reset(next)
		select {
		case <-t.C:
		case <-r.wake:
		case <-r.ctx.Done():
			return
		}
	}
}
