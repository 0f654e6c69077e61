package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// webhookQueueTests cover mlsvc.WebhookQueue, which every store implements:
// the write that ends a prediction with a webhook URL (completed, failed
// or canceled) queues its delivery, once; deliveries come out due, oldest
// first; attempts are recorded and a done delivery leaves the queue. The
// table has the shape of accessTests (access.go), as every file's has.
var webhookQueueTests = []struct {
	name string
	test func(t *testing.T, s mlsvc.Store)
}{
	{"WebhookQueuedOnEnd", testWebhookQueuedOnEnd},
	{"WebhookDueOrderAndLimit", testWebhookDueOrderAndLimit},
	{"WebhookRecordAttempt", testWebhookRecordAttempt},
	{"WebhookConcurrentEnds", testWebhookConcurrentEnds},
}

const hookURL = "https://hooks.example.com/ml?x=1"

func queue(t *testing.T, s mlsvc.Store) mlsvc.WebhookQueue {
	t.Helper()
	q, ok := s.(mlsvc.WebhookQueue)
	if !ok {
		t.Fatalf("%T does not implement mlsvc.WebhookQueue", s)
	}
	return q
}

// createHooked creates a pending prediction with the webhook URL hookURL.
func createHooked(t *testing.T, s mlsvc.Store, id, userID string, created time.Time) {
	t.Helper()
	p := newPrediction(id, userID, 1_00, created)
	p.WebhookURL = hookURL
	createPrediction(t, s, p)
}

func due(t *testing.T, q mlsvc.WebhookQueue, now time.Time, limit int) []string {
	t.Helper()
	ds, err := q.DueWebhooks(t.Context(), now, limit)
	if err != nil {
		t.Fatalf("DueWebhooks(%s, %d): %v", now.Format(time.RFC3339Nano), limit, err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.PredictionID)
	}
	return out
}

// delivery reads a prediction's delivery, failing the test if it cannot:
// the queue's getPrediction (storetest.go).
func delivery(t *testing.T, q mlsvc.WebhookQueue, id string) *mlsvc.WebhookDelivery {
	t.Helper()
	d, err := q.WebhookDelivery(t.Context(), id)
	if err != nil {
		t.Fatalf("WebhookDelivery(%s): %v", id, err)
	}
	return d
}

// checkDelivery compares every field of a delivery, but NextAt only while
// it is not done (a done delivery is never attempted again).
func checkDelivery(t *testing.T, what string, got, want *mlsvc.WebhookDelivery) {
	t.Helper()
	g := *got
	if want.Done {
		g.NextAt = want.NextAt
	}
	checkRecord(t, what, &g, want)
}

func testWebhookQueuedOnEnd(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	q := queue(t, s)
	createUser(t, s, "u1", "rita", 100_00)
	for i, id := range []string{"hc", "hf", "hx"} {
		createHooked(t, s, id, "u1", t0.Add(time.Duration(i)*time.Millisecond))
	}
	for i, id := range []string{"nc", "nf", "nx"} {
		createPrediction(t, s, newPrediction(id, "u1", 1_00, t0.Add(time.Duration(10+i)*time.Millisecond)))
	}
	late := t0.Add(time.Hour)
	if got := due(t, q, late, 100); len(got) != 0 {
		t.Errorf("DueWebhooks before any prediction ended = %q, want none", got)
	}
	_, err := q.WebhookDelivery(ctx, "hc")
	wantCode(t, "WebhookDelivery of a pending prediction", err, mlsvc.ENotFound)

	// Ended in the order canceled, completed, failed.
	ends := map[string]time.Time{"hx": t0.Add(time.Second), "hc": t0.Add(2 * time.Second), "hf": t0.Add(3 * time.Second)}
	for _, fix := range []struct{ hooked, plain string }{{"hx", "nx"}, {"hc", "nc"}, {"hf", "nf"}} {
		at := ends[fix.hooked]
		for _, id := range []string{fix.hooked, fix.plain} {
			var err error
			switch id[1] {
			case 'c':
				err = s.CompletePrediction(ctx, id, at)
			case 'f':
				err = s.FailPrediction(ctx, id, "boom", at)
			case 'x':
				err = s.CancelPrediction(ctx, id, at)
			}
			if err != nil {
				t.Fatalf("ending %s: %v", id, err)
			}
		}
	}
	for id, event := range map[string]string{"hc": "prediction.completed", "hf": "prediction.failed", "hx": "prediction.canceled"} {
		checkDelivery(t, "delivery of "+id, delivery(t, q, id), &mlsvc.WebhookDelivery{
			PredictionID: id, UserID: "u1", URL: hookURL, Event: event, NextAt: ends[id], CreatedAt: ends[id],
		})
	}
	for _, id := range []string{"nc", "nf", "nx"} {
		_, err := q.WebhookDelivery(ctx, id)
		wantCode(t, "WebhookDelivery of "+id+" (no webhook URL)", err, mlsvc.ENotFound)
	}
	_, err = q.WebhookDelivery(ctx, "nobody")
	wantCode(t, "WebhookDelivery of an absent prediction", err, mlsvc.ENotFound)
	if got, want := due(t, q, late, 100), []string{"hx", "hc", "hf"}; !slices.Equal(got, want) {
		t.Errorf("DueWebhooks = %q, want %q (the hooked ones, in the order they ended)", got, want)
	}

	// Late ends of ended predictions are refused and queue nothing more:
	// a cancel then a late completion is one delivery, of the cancel.
	for _, id := range []string{"hx", "hc", "hf"} {
		wantCode(t, "CompletePrediction of ended "+id, s.CompletePrediction(ctx, id, late), mlsvc.EConflict)
		wantCode(t, "FailPrediction of ended "+id, s.FailPrediction(ctx, id, "late", late), mlsvc.EConflict)
		wantCode(t, "CancelPrediction of ended "+id, s.CancelPrediction(ctx, id, late), mlsvc.EConflict)
	}
	if got, want := due(t, q, late.Add(time.Hour), 100), []string{"hx", "hc", "hf"}; !slices.Equal(got, want) {
		t.Errorf("DueWebhooks after late ends = %q, want %q: each queued once", got, want)
	}
	d := delivery(t, q, "hx")
	if d.Event != "prediction.canceled" || !d.NextAt.Equal(ends["hx"]) || d.Attempts != 0 {
		t.Errorf("delivery of hx after a late completion: %s, next %s, %d attempts; want the cancel's, unchanged",
			d.Event, d.NextAt, d.Attempts)
	}
	if got := getPrediction(t, s, "hx").WebhookURL; got != hookURL {
		t.Errorf("WebhookURL of hx = %q, want %q", got, hookURL)
	}
}

func testWebhookDueOrderAndLimit(t *testing.T, s mlsvc.Store) {
	q := queue(t, s)
	createUser(t, s, "u1", "sam", 100_00)
	// Created p0…p4, ended in the reverse order, a second apart: p4 at
	// t0+1s, …, p0 at t0+5s.
	for i := range 5 {
		createHooked(t, s, fmt.Sprintf("p%d", i), "u1", t0.Add(time.Duration(i)*time.Millisecond))
	}
	for i := 4; i >= 0; i-- {
		if err := s.CompletePrediction(t.Context(), fmt.Sprintf("p%d", i), t0.Add(time.Duration(5-i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		now   time.Time
		limit int
		want  []string
	}{
		{t0, 10, nil},
		{t0.Add(time.Second - time.Millisecond), 10, nil},
		{t0.Add(time.Second), 10, []string{"p4"}}, // due at exactly now
		{t0.Add(3500 * time.Millisecond), 10, []string{"p4", "p3", "p2"}},
		{t0.Add(time.Hour), 10, []string{"p4", "p3", "p2", "p1", "p0"}},
		{t0.Add(time.Hour), 2, []string{"p4", "p3"}},
		{t0.Add(time.Hour), 1, []string{"p4"}},
	} {
		if got := due(t, q, c.now, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("DueWebhooks(t0+%v, %d) = %q, want %q", c.now.Sub(t0), c.limit, got, c.want)
		}
	}
	ds, err := q.DueWebhooks(t.Context(), t0.Add(time.Hour), 10)
	if err != nil || len(ds) != 5 {
		t.Fatalf("DueWebhooks: %d, %v", len(ds), err)
	}
	checkDelivery(t, "listed delivery of p2", ds[2], &mlsvc.WebhookDelivery{
		PredictionID: "p2", UserID: "u1", URL: hookURL, Event: "prediction.completed",
		NextAt: t0.Add(3 * time.Second), CreatedAt: t0.Add(3 * time.Second),
	})
}

func testWebhookRecordAttempt(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	q := queue(t, s)
	createUser(t, s, "u1", "tess", 100_00)
	createHooked(t, s, "p1", "u1", t0)
	createHooked(t, s, "p2", "u1", t0.Add(time.Millisecond))
	createPrediction(t, s, newPrediction("plain", "u1", 1_00, t0.Add(2*time.Millisecond)))
	at := t0.Add(time.Second)
	for _, id := range []string{"p1", "p2", "plain"} {
		if err := s.FailPrediction(ctx, id, "boom", at); err != nil {
			t.Fatal(err)
		}
	}

	// A failed attempt: retried at next, not before.
	next := at.Add(30 * time.Second)
	if err := q.RecordWebhookAttempt(ctx, "p1", 500, "HTTP 500", next, false); err != nil {
		t.Fatalf("RecordWebhookAttempt: %v", err)
	}
	want := &mlsvc.WebhookDelivery{
		PredictionID: "p1", UserID: "u1", URL: hookURL, Event: "prediction.failed",
		Attempts: 1, LastStatus: 500, LastError: "HTTP 500", NextAt: next, CreatedAt: at,
	}
	checkDelivery(t, "after a failed attempt", delivery(t, q, "p1"), want)
	if got, want := due(t, q, next.Add(-time.Millisecond), 10), []string{"p2"}; !slices.Equal(got, want) {
		t.Errorf("DueWebhooks before the retry = %q, want %q", got, want)
	}
	if got, want := due(t, q, next, 10), []string{"p2", "p1"}; !slices.Equal(got, want) {
		t.Errorf("DueWebhooks at the retry = %q, want %q", got, want)
	}
	ds, err := q.DueWebhooks(ctx, next, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("DueWebhooks: %d, %v", len(ds), err)
	}
	checkDelivery(t, "listed after a failed attempt", ds[1], want)

	// An attempt without an answer (status 0), then one that succeeds:
	// done, out of the queue for good.
	if err := q.RecordWebhookAttempt(ctx, "p1", 0, "connection refused", next.Add(2*time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if err := q.RecordWebhookAttempt(ctx, "p1", 204, "", next.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	want.Attempts, want.LastStatus, want.LastError, want.Done = 3, 204, "", true
	checkDelivery(t, "after a successful attempt", delivery(t, q, "p1"), want)
	if got, want := due(t, q, next.Add(24*time.Hour), 10), []string{"p2"}; !slices.Equal(got, want) {
		t.Errorf("DueWebhooks after p1 was done = %q, want %q", got, want)
	}

	// Given up (done after a failure) also leaves the queue.
	if err := q.RecordWebhookAttempt(ctx, "p2", 410, "HTTP 410", at, true); err != nil {
		t.Fatal(err)
	}
	if got := due(t, q, next.Add(24*time.Hour), 10); len(got) != 0 {
		t.Errorf("DueWebhooks after every delivery was done = %q, want none", got)
	}
	if d := delivery(t, q, "p2"); !d.Done || d.Attempts != 1 || d.LastStatus != 410 || d.LastError != "HTTP 410" {
		t.Errorf("given-up delivery = %+v, want done after 1 attempt, 410", d)
	}

	wantCode(t, "RecordWebhookAttempt(no webhook)", q.RecordWebhookAttempt(ctx, "plain", 200, "", at, true), mlsvc.ENotFound)
	wantCode(t, "RecordWebhookAttempt(absent)", q.RecordWebhookAttempt(ctx, "nobody", 200, "", at, true), mlsvc.ENotFound)
	_, err = q.WebhookDelivery(ctx, "plain")
	wantCode(t, "WebhookDelivery after a refused RecordWebhookAttempt", err, mlsvc.ENotFound)
}

// testWebhookConcurrentEnds: completions, failures and cancels of one
// prediction at once end it once, and queue one delivery, of that end.
func testWebhookConcurrentEnds(t *testing.T, s mlsvc.Store) {
	q := queue(t, s)
	createUser(t, s, "u1", "uma", 10_00)
	createHooked(t, s, "p1", "u1", t0)
	at := t0.Add(time.Second)
	errs := parallel(12, func(i int) error {
		switch i % 3 {
		case 0:
			return s.CompletePrediction(t.Context(), "p1", at)
		case 1:
			return s.FailPrediction(t.Context(), "p1", "boom", at)
		default:
			return s.CancelPrediction(t.Context(), "p1", at)
		}
	})
	if n := tally(errs); n[""] != 1 || n[mlsvc.EConflict] != 11 {
		t.Fatalf("12 concurrent ends: %v; want 1 success and 11 %s (%s)", n, mlsvc.EConflict, firstErrors(errs, mlsvc.EConflict))
	}
	status := getPrediction(t, s, "p1").Status
	if got := due(t, q, at.Add(time.Hour), 10); !slices.Equal(got, []string{"p1"}) {
		t.Errorf("DueWebhooks = %q, want p1 once", got)
	}
	if d := delivery(t, q, "p1"); d.Event != mlsvc.WebhookEvent(status) {
		t.Errorf("delivery event %q, want %q (the prediction is %s)", d.Event, mlsvc.WebhookEvent(status), status)
	}
}
