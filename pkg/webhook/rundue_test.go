package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// memQueue is a WebhookQueue that keeps its deliveries as a store does:
// due ones listed oldest first, attempts recorded. failRecord makes every
// RecordWebhookAttempt fail; unlisted deliveries are not listed yet (as
// DynamoDB's index lags behind its table).
type memQueue struct {
	mu         sync.Mutex
	ds         map[string]*mlsvc.WebhookDelivery
	lists      int
	failRecord bool
	failList   error
	unlisted   map[string]bool
}

func newMemQueue(n int, url string, at time.Time) *memQueue {
	q := &memQueue{ds: map[string]*mlsvc.WebhookDelivery{}}
	for i := range n {
		id := fmt.Sprintf("p%03d", i)
		q.ds[id] = &mlsvc.WebhookDelivery{PredictionID: id, UserID: "u1", URL: url, Event: "prediction.completed",
			NextAt: at.Add(time.Duration(i) * time.Millisecond), CreatedAt: at}
	}
	return q
}

func (q *memQueue) DueWebhooks(_ context.Context, now time.Time, limit int) ([]*mlsvc.WebhookDelivery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lists++
	if q.failList != nil {
		return nil, q.failList
	}
	var due []*mlsvc.WebhookDelivery
	for _, d := range q.ds {
		if !d.Done && !d.NextAt.After(now) && !q.unlisted[d.PredictionID] {
			c := *d
			due = append(due, &c)
		}
	}
	slices.SortFunc(due, func(a, b *mlsvc.WebhookDelivery) int {
		return cmp.Or(a.NextAt.Compare(b.NextAt), cmp.Compare(a.PredictionID, b.PredictionID))
	})
	return due[:min(limit, len(due))], nil
}

func (q *memQueue) RecordWebhookAttempt(_ context.Context, id string, status int, errText string, next time.Time, done bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failRecord {
		return errors.New("the table is gone")
	}
	d := q.ds[id]
	d.Attempts++
	d.LastStatus, d.LastError, d.NextAt, d.Done = status, errText, next, done
	return nil
}

func (q *memQueue) WebhookDelivery(_ context.Context, id string) (*mlsvc.WebhookDelivery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	d, ok := q.ds[id]
	if !ok {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "no delivery of %s", id)
	}
	c := *d
	return &c, nil
}

func payload(context.Context, *mlsvc.WebhookDelivery) ([]byte, error) { return []byte(`{}`), nil }

// pass is the setting of a RunDue test: a target that counts its POSTs,
// the test's present, its queues and a deliverer over one.
type pass struct {
	posts atomic.Int64
	url   string
	now   time.Time
}

func newPass(t *testing.T) *pass {
	p := &pass{now: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.posts.Add(1) }))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// queue returns a queue of n deliveries to the target, due a second ago.
func (p *pass) queue(n int) *memQueue { return newMemQueue(n, p.url, p.now.Add(-time.Second)) }

func (p *pass) deliverer(q *memQueue) *Deliverer {
	return New(Config{Queue: q, Secrets: secrets{}, AllowPrivate: true, Now: func() time.Time { return p.now }, Payload: payload})
}

// TestRunDueAll: one pass delivers every due delivery, batch after batch,
// each once, and none that is not due yet.
func TestRunDueAll(t *testing.T) {
	p := newPass(t)
	const n = 2*batch + 3
	q := p.queue(n)
	q.ds["later"] = &mlsvc.WebhookDelivery{PredictionID: "later", URL: p.url, NextAt: p.now.Add(time.Second)}
	d := p.deliverer(q)
	got, err := d.RunDue(t.Context())
	if got != n || err != nil {
		t.Errorf("RunDue = %d, %v; want %d attempts", got, err, n)
	}
	if p.posts.Load() != n {
		t.Errorf("%d POSTs, want %d", p.posts.Load(), n)
	}
	for id, w := range q.ds {
		if want := id != "later"; w.Done != want || w.Attempts != map[bool]int{true: 1}[want] {
			t.Errorf("%s: done %v after %d attempts, want done %v", id, w.Done, w.Attempts, want)
		}
	}
	// Nothing is due: another pass sends nothing.
	if got, err := d.RunDue(t.Context()); got != 0 || err != nil || p.posts.Load() != n {
		t.Errorf("second RunDue = %d, %v, %d POSTs in all; want nothing more", got, err, p.posts.Load())
	}
}

// TestRunDueDeadline: with too little time left for another batch, a pass
// stops after its first; the rest stay due for the next.
func TestRunDueDeadline(t *testing.T) {
	p := newPass(t)
	q := p.queue(batch + 5)
	d := p.deliverer(q)
	ctx, cancel := context.WithTimeout(t.Context(), BatchTime-time.Second)
	defer cancel()
	if got, err := d.RunDue(ctx); got != batch || err != nil {
		t.Errorf("RunDue with %v left = %d, %v; want one batch, %d", BatchTime-time.Second, got, err, batch)
	}
	if got, _ := d.RunDue(t.Context()); got != 5 {
		t.Errorf("the next pass made %d attempts, want the 5 left", got)
	}
}

// TestRunDueStuck: deliveries whose attempts cannot be recorded stay due;
// a pass attempts each once and ends rather than sending them again and
// again.
func TestRunDueStuck(t *testing.T) {
	p := newPass(t)
	q := p.queue(batch)
	q.failRecord = true
	d := p.deliverer(q)
	if got, err := d.RunDue(t.Context()); got != batch || err != nil {
		t.Errorf("RunDue = %d, %v; want %d", got, err, batch)
	}
	if p.posts.Load() != batch || q.lists != 2 {
		t.Errorf("%d POSTs after %d reads of the queue, want %d after 2", p.posts.Load(), q.lists, batch)
	}

	q.failList = errors.New("throttled")
	if _, err := d.RunDue(t.Context()); !errors.Is(err, q.failList) {
		t.Errorf("RunDue on a failing queue: %v, want its error", err)
	}
}

// TestRunDueNamed: a delivery the listing does not show yet is attempted
// when named (the execution that just ended), if it is due and not done;
// named deliveries that are not due, done or absent are not.
func TestRunDueNamed(t *testing.T) {
	p := newPass(t)
	q := p.queue(2) // p000, p001
	q.ds["later"] = &mlsvc.WebhookDelivery{PredictionID: "later", URL: p.url, NextAt: p.now.Add(time.Second)}
	q.ds["done"] = &mlsvc.WebhookDelivery{PredictionID: "done", URL: p.url, NextAt: p.now.Add(-time.Hour), Done: true}
	q.unlisted = map[string]bool{"p000": true, "later": true, "done": true}
	d := p.deliverer(q)
	if got, err := d.RunDue(t.Context(), "p000", "p001", "later", "done", "no-such-prediction"); got != 2 || err != nil {
		t.Errorf("RunDue(named) = %d, %v; want 2 attempts (p000, named and due; p001, listed)", got, err)
	}
	if p.posts.Load() != 2 || !q.ds["p000"].Done || !q.ds["p001"].Done || q.ds["later"].Attempts != 0 || q.ds["done"].Attempts != 0 {
		t.Errorf("%d POSTs; p000 %+v, p001 %+v, later %+v, done %+v; want p000 and p001 delivered once each",
			p.posts.Load(), q.ds["p000"], q.ds["p001"], q.ds["later"], q.ds["done"])
	}
}
