package runner

import (
	"context"
	"testing"
	"time"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/mlsvc"
)

// TestCancelStopsTheWait: canceling a waiting prediction refunds it and
// ends its scheduled run at once, without an inference.
func TestCancelStopsTheWait(t *testing.T) {
	svc, store, r := setup(t, 0)
	ctx := context.Background()
	u, _ := request(t, svc)
	waitIdle(t, r)
	if _, err := svc.TopUp(ctx, u.ID, 5_00); err != nil {
		t.Fatal(err)
	}
	before, _ := store.UserByID(ctx, u.ID)
	p := &mlsvc.Prediction{ID: "p-wait", UserID: u.ID, ModelID: "lr", Status: mlsvc.StatusPending, Cost: 1_00,
		Rows: 1, Delay: time.Hour, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	if err := store.CreatePrediction(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	stop := r.scheduled[p.ID]
	r.mu.Unlock()
	got, err := svc.CancelPrediction(ctx, u.ID, p.ID)
	if err != nil {
		t.Fatalf("CancelPrediction: %v", err)
	}
	if got.Status != mlsvc.StatusCanceled {
		t.Errorf("status %s, want canceled", got.Status)
	}
	if after, _ := store.UserByID(ctx, u.ID); after.Balance != before.Balance {
		t.Errorf("balance %s after cancel, want %s (refunded)", after.Balance, before.Balance)
	}
	select {
	case <-stop: // the hour-long wait ends with it
	default:
		t.Error("the run's stop channel is still open after the cancel")
	}
	waitIdle(t, r)
	if _, err := svc.CancelPrediction(ctx, u.ID, p.ID); mlsvc.ErrorCode(err) != mlsvc.EConflict {
		t.Errorf("second CancelPrediction: %v, want a conflict", err)
	}
	// Stopping what is not scheduled is harmless.
	if err := r.Stop(ctx, "nothing"); err != nil {
		t.Errorf("Stop(unscheduled): %v", err)
	}
}

// TestLateInferenceKeepsTheCancel: an inference that was already running
// when its prediction was canceled finds it final and changes nothing.
func TestLateInferenceKeepsTheCancel(t *testing.T) {
	svc, store, r := setup(t, 0)
	ctx := context.Background()
	u, done := request(t, svc)
	waitFinal(t, store, done.ID)
	if _, err := svc.TopUp(ctx, u.ID, 5_00); err != nil {
		t.Fatal(err)
	}
	p := &mlsvc.Prediction{ID: "p-late", UserID: u.ID, ModelID: "lr", Status: mlsvc.StatusPending, Cost: 1_00,
		Rows: 1, Delay: time.Hour, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	if err := store.CreatePrediction(ctx, p); err != nil {
		t.Fatal(err)
	}
	before, _ := store.UserByID(ctx, u.ID)
	if _, err := svc.CancelPrediction(ctx, u.ID, p.ID); err != nil {
		t.Fatalf("CancelPrediction: %v", err)
	}
	if err := r.steps.RunPrediction(ctx, p.ID); err != nil {
		t.Errorf("RunPrediction of a canceled prediction: %v", err)
	}
	if err := r.steps.FailPrediction(ctx, p.ID, "late failure"); err != nil {
		t.Errorf("FailPrediction of a canceled prediction: %v", err)
	}
	got, err := store.Prediction(ctx, p.ID)
	if err != nil || got.Status != mlsvc.StatusCanceled || got.Error != "" {
		t.Errorf("after a late inference and failure: %+v, %v; want canceled", got, err)
	}
	if after, _ := store.UserByID(ctx, u.ID); after.Balance != before.Balance+1_00 {
		t.Errorf("balance %s, want %s (refunded once)", after.Balance, before.Balance+1_00)
	}
}

func waitIdle(t *testing.T, r *Runner) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, 5*time.Millisecond, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.scheduled) == 0
	}, "runner still has scheduled runs")
}
