package storetest

import (
	"fmt"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Predictions: canceling, and its races with the workflow.

func testCancelPrediction(t *testing.T, s mlsvc.Store) {
	p := pendingPrediction(t, s, "kim", 3_21)

	at := t0.Add(3 * time.Second)
	if err := s.CancelPrediction(t.Context(), "p1", at); err != nil {
		t.Fatalf("CancelPrediction: %v", err)
	}
	wantBalance(t, s, "u1", 10_00)
	want := *p
	want.Status, want.UpdatedAt = mlsvc.StatusCanceled, at
	checkPrediction(t, "Prediction after cancel", getPrediction(t, s, "p1"), &want)

	later := at.Add(time.Second)
	wantCode(t, "second CancelPrediction", s.CancelPrediction(t.Context(), "p1", later), mlsvc.EConflict)
	wantCode(t, "CompletePrediction after cancel", s.CompletePrediction(t.Context(), "p1", later), mlsvc.EConflict)
	wantCode(t, "FailPrediction after cancel", s.FailPrediction(t.Context(), "p1", "late", later), mlsvc.EConflict)
	checkPrediction(t, "Prediction after cancel, cancel, complete, fail", getPrediction(t, s, "p1"), &want)
	wantBalance(t, s, "u1", 10_00)

	ps, err := s.PendingPredictions(t.Context())
	if err != nil {
		t.Fatalf("PendingPredictions: %v", err)
	}
	if len(ps) != 0 {
		t.Errorf("PendingPredictions after cancel = %q, want none", ids(ps))
	}
	got, _, err := s.Predictions(t.Context(), "u1", mlsvc.Page{})
	if err != nil || len(got) != 1 || got[0].Status != mlsvc.StatusCanceled {
		t.Errorf("Predictions after cancel = %v, %v; want p1, canceled", got, err)
	}
}

func testCancelFinal(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "lee", 10_00)
	createPrediction(t, s, newPrediction("done", "u1", 1_00, t0))
	createPrediction(t, s, newPrediction("failed", "u1", 2_00, t0.Add(time.Millisecond)))
	if err := s.CompletePrediction(t.Context(), "done", t0.Add(time.Second)); err != nil {
		t.Fatalf("CompletePrediction: %v", err)
	}
	if err := s.FailPrediction(t.Context(), "failed", "boom", t0.Add(time.Second)); err != nil {
		t.Fatalf("FailPrediction: %v", err)
	}
	wantBalance(t, s, "u1", 9_00)
	wantCode(t, "CancelPrediction(completed)", s.CancelPrediction(t.Context(), "done", t0.Add(time.Minute)), mlsvc.EConflict)
	wantCode(t, "CancelPrediction(failed)", s.CancelPrediction(t.Context(), "failed", t0.Add(time.Minute)), mlsvc.EConflict)
	wantCode(t, "CancelPrediction(absent)", s.CancelPrediction(t.Context(), "nope", t0), mlsvc.ENotFound)
	wantBalance(t, s, "u1", 9_00)
	if p := getPrediction(t, s, "done"); p.Status != mlsvc.StatusCompleted {
		t.Errorf("completed prediction after cancel: status %q", p.Status)
	}
	if p := getPrediction(t, s, "failed"); p.Status != mlsvc.StatusFailed || p.Error != "boom" {
		t.Errorf("failed prediction after cancel: status %q, error %q", p.Status, p.Error)
	}
}

// testConcurrentCancel races a cancel against the workflow's completion
// (and, every third round, its failure) 50 times: each prediction ends in
// exactly one final state, refunded at most once.
func testConcurrentCancel(t *testing.T, s mlsvc.Store) {
	const rounds = 50
	const cost = 1_37
	start := mlsvc.Cents(rounds * cost)
	createUser(t, s, "u1", "mallory", start)
	for i := range rounds {
		createPrediction(t, s, newPrediction(fmt.Sprintf("p%02d", i), "u1", cost, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	wantBalance(t, s, "u1", 0)
	var charged mlsvc.Cents
	for i := range rounds {
		id := fmt.Sprintf("p%02d", i)
		at := t0.Add(time.Minute)
		errs := parallel(3, func(k int) error {
			switch {
			case k == 0:
				return s.CancelPrediction(t.Context(), id, at)
			case k == 1 || i%3 != 0:
				return s.CompletePrediction(t.Context(), id, at)
			default:
				return s.FailPrediction(t.Context(), id, "boom", at)
			}
		})
		n := tally(errs)
		if n[""] != 1 || n[mlsvc.EConflict] != 2 {
			t.Fatalf("round %d: cancel, complete, %s at once: %v; want one success and two conflicts (errors: %s)",
				i, map[bool]string{true: "fail", false: "complete"}[i%3 == 0], n, firstErrors(errs, mlsvc.EConflict))
		}
		p := getPrediction(t, s, id)
		var want mlsvc.Status
		switch {
		case errs[0] == nil:
			want = mlsvc.StatusCanceled
		case i%3 == 0 && errs[2] == nil:
			want = mlsvc.StatusFailed
		default:
			want = mlsvc.StatusCompleted
			charged += cost
		}
		if p.Status != want {
			t.Errorf("round %d: status %q, want %q (the call that succeeded)", i, p.Status, want)
		}
	}
	wantBalance(t, s, "u1", start-charged)
	t.Logf("%d rounds: %s charged in the end", rounds, charged)
}
