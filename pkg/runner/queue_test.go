package runner

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/mlsvc"
)

// TestWaitingTakesNoGoroutine: thousands of predictions waiting out their
// delay hold no goroutine each; they run in the order they come due (not
// the order they were started), a stopped one never runs, and Close leaves
// the rest waiting.
func TestWaitingTakesNoGoroutine(t *testing.T) {
	steps := &fakeSteps{run: func(string) error { return nil }}
	r := New(Config{Steps: steps, Pending: pendingList{}, Workers: 1})
	defer r.Close()
	ctx := t.Context()
	before := runtime.NumGoroutine()
	now := time.Now()
	for i := range 5000 {
		if err := r.Start(ctx, &mlsvc.Prediction{ID: fmt.Sprint("later-", i), CreatedAt: now, Delay: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Errorf("%d more goroutines with 5000 predictions waiting, want none per prediction", n)
	}
	// Started last-due first; one of them stopped while it waits.
	for i, delay := range []time.Duration{300, 200, 150, 100} {
		if err := r.Start(ctx, &mlsvc.Prediction{ID: fmt.Sprint("soon-", i), CreatedAt: now, Delay: delay * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Stop(ctx, "soon-2"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool { done, _ := steps.state(); return len(done) >= 3 },
		"the predictions due soon did not run")
	time.Sleep(100 * time.Millisecond) // time for soon-2, were it to run
	done, _ := steps.state()
	if want := []string{"soon-3", "soon-1", "soon-0"}; !slices.Equal(done, want) {
		t.Errorf("ran %v, want %v (by due time, without the stopped one)", done, want)
	}
	if since := time.Since(now); since < 300*time.Millisecond {
		t.Errorf("the last ran %v after its creation, before its delay of 300ms", since)
	}
	r.mu.Lock()
	waiting := len(r.scheduled)
	r.mu.Unlock()
	if waiting != 5000 {
		t.Errorf("%d predictions scheduled, want the 5000 still waiting", waiting)
	}
}
