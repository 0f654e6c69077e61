package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// fakeQueue records attempts.
type fakeQueue struct {
	mu       sync.Mutex
	due      []*mlsvc.WebhookDelivery
	recorded []attempt
}

type attempt struct {
	id     string
	status int
	next   time.Time
	done   bool
}

func (q *fakeQueue) DueWebhooks(context.Context, time.Time, int) ([]*mlsvc.WebhookDelivery, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	due := q.due
	q.due = nil
	return due, nil
}

func (q *fakeQueue) RecordWebhookAttempt(_ context.Context, id string, status int, _ string, next time.Time, done bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.recorded = append(q.recorded, attempt{id, status, next, done})
	return nil
}

func (q *fakeQueue) WebhookDelivery(context.Context, string) (*mlsvc.WebhookDelivery, error) {
	return nil, mlsvc.Errorf(mlsvc.ENotFound, "none")
}

type secrets struct{}

func (secrets) WebhookSecret(context.Context, string, string) (string, error) {
	return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", nil
}

// TestBackoffAndGiveUp: a failed attempt is retried after the next
// back-off; the last one gives up; the schedule spans more than a day.
func TestBackoffAndGiveUp(t *testing.T) {
	var total time.Duration
	for _, d := range mlsvc.WebhookBackoff {
		total += d
	}
	if total < 24*time.Hour {
		t.Errorf("retries span %v, want more than a day", total)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	q := &fakeQueue{due: []*mlsvc.WebhookDelivery{
		{PredictionID: "first", URL: srv.URL, Event: "prediction.completed"},
		{PredictionID: "fourth", URL: srv.URL, Attempts: 3},
		{PredictionID: "last", URL: srv.URL, Attempts: len(mlsvc.WebhookBackoff)},
		{PredictionID: "refused", URL: "https://127.0.0.1:1/"}, // nothing listens: no answer
	}}
	d := New(Config{Queue: q, Secrets: secrets{}, AllowPrivate: true, Now: func() time.Time { return now },
		Payload: func(context.Context, *mlsvc.WebhookDelivery) ([]byte, error) { return []byte(`{}`), nil }})
	if n, err := d.RunDue(t.Context()); n != 4 || err != nil {
		t.Errorf("RunDue = %d, %v; want 4 attempts", n, err)
	}
	got := map[string]attempt{}
	for _, a := range q.recorded {
		got[a.id] = a
	}
	if a := got["first"]; a.status != 500 || a.done || !a.next.Equal(now.Add(30*time.Second)) {
		t.Errorf("first attempt: %+v, want 500, retried in 30 s", a)
	}
	if a := got["fourth"]; a.done || !a.next.Equal(now.Add(time.Hour)) {
		t.Errorf("fourth attempt: %+v, want retried in 1 h", a)
	}
	if a := got["last"]; !a.done {
		t.Errorf("last attempt: %+v, want given up", a)
	}
	if a := got["refused"]; a.status != 0 || a.done || !a.next.Equal(now.Add(30*time.Second)) {
		t.Errorf("no answer: %+v, want status 0, retried in 30 s", a)
	}
	// With private targets refused, the loopback URL is not even dialled.
	q.due = []*mlsvc.WebhookDelivery{{PredictionID: "private", URL: srv.URL}}
	d = New(Config{Queue: q, Secrets: secrets{}, Now: func() time.Time { return now },
		Payload: func(context.Context, *mlsvc.WebhookDelivery) ([]byte, error) { return []byte(`{}`), nil }})
	d.RunDue(t.Context())
	for _, a := range q.recorded {
		if a.id == "private" && (a.status != 0 || a.done) {
			t.Errorf("private target: %+v, want no answer, retried later", a)
		}
	}
	if len(q.recorded) != 5 {
		t.Errorf("%d attempts recorded, want 5", len(q.recorded))
	}
}
