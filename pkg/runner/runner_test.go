package runner

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/localtest"
	"mlsvc/internal/testenv"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
)

// flakyBlobs fails the first failPuts result writes, to inject transient
// storage failures into the inference step.
type flakyBlobs struct {
	mlsvc.Blobs
	failPuts atomic.Int32
}

func (f *flakyBlobs) Put(ctx context.Context, key, ctype string, body io.Reader) error {
	if strings.HasSuffix(key, "/result.csv") && f.failPuts.Add(-1) >= 0 {
		return errors.New("injected: storage unavailable")
	}
	return f.Blobs.Put(ctx, key, ctype, body)
}

func setup(t *testing.T, failPuts int32) (*mlsvc.Service, *sqlite.Store, *Runner) {
	return setupWith(t, failPuts, 0)
}

func setupWith(t *testing.T, failPuts int32, sweep time.Duration) (*mlsvc.Service, *sqlite.Store, *Runner) {
	t.Helper()
	store, lb := localtest.Open(t)
	blobs := &flakyBlobs{Blobs: lb}
	blobs.failPuts.Store(failPuts)
	cfg := mlsvc.Config{Store: store, Blobs: blobs, Builtin: catalog.Files, BcryptCost: bcrypt.MinCost}
	r := New(Config{Steps: mlsvc.NewWorker(cfg), Pending: store, Workers: 2, Backoff: time.Millisecond, Sweep: sweep})
	cfg.Workflow = r
	svc := mlsvc.New(cfg)
	t.Cleanup(r.Close) // before Open's cleanup closes the store
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Seed(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	return svc, store, r
}

func request(t *testing.T, svc *mlsvc.Service) (*mlsvc.User, *mlsvc.Prediction) {
	t.Helper()
	u := localtest.FundedUser(t, svc, 15_00)
	p, _, err := svc.RequestPrediction(context.Background(), mlsvc.PredictionRequest{UserID: u.ID, ModelID: "rf"}, []byte(`{"feature_0":0.3,"feature_1":0.7,"feature_2":12,"feature_3":60,"feature_4":20}`))
	if err != nil {
		t.Fatal(err)
	}
	return u, p
}

func waitFinal(t *testing.T, store *sqlite.Store, id string) *mlsvc.Prediction {
	t.Helper()
	var p *mlsvc.Prediction
	testenv.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool {
		var err error
		if p, err = store.Prediction(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return p.Status != mlsvc.StatusPending
	}, "prediction %s still pending", id)
	return p
}

// TestTransientFailureIsRetried and TestExhaustedRetriesFailAndRefund end
// alike, on the prediction's status and the balance: charged once after
// retries that succeed, refunded once after retries that do not.
func TestTransientFailureIsRetried(t *testing.T) {
	svc, store, _ := setup(t, 2)
	u, p := request(t, svc)
	if got := waitFinal(t, store, p.ID); got.Status != mlsvc.StatusCompleted {
		t.Fatalf("status %s (%s), want completed after retries", got.Status, got.Error)
	}
	if got, _ := store.UserByID(context.Background(), u.ID); got.Balance != 0 {
		t.Errorf("balance = %s, want 0 (charged once)", got.Balance)
	}
}

// TestExhaustedRetriesFailAndRefund: see TestTransientFailureIsRetried,
// which ends in the same checks.
func TestExhaustedRetriesFailAndRefund(t *testing.T) {
	svc, store, _ := setup(t, 100)
	u, p := request(t, svc)
	got := waitFinal(t, store, p.ID)
	if got.Status != mlsvc.StatusFailed || got.Error == "" {
		t.Fatalf("status %s (%q), want failed with a reason", got.Status, got.Error)
	}
	if got, _ := store.UserByID(context.Background(), u.ID); got.Balance != 15_00 {
		t.Errorf("balance = %s, want 15 (refunded once)", got.Balance)
	}
}

func TestStartTwiceRunsOnce(t *testing.T) {
	svc, store, r := setup(t, 0)
	_, p := request(t, svc)
	for range 5 {
		if err := r.Start(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if got := waitFinal(t, store, p.ID); got.Status != mlsvc.StatusCompleted {
		t.Fatalf("status %s", got.Status)
	}
	// A second inference of a finished prediction changes nothing.
	if err := r.steps.RunPrediction(context.Background(), p.ID); err != nil {
		t.Errorf("RunPrediction on a completed prediction: %v", err)
	}
}

// fakeSteps are Steps with injected behaviour; they record what ran.
type fakeSteps struct {
	run  func(id string) error
	fail func(id, reason string) error

	mu     sync.Mutex
	failed map[string]string
	done   []string
}

func (f *fakeSteps) RunPrediction(_ context.Context, id string) error {
	err := f.run(id)
	if err == nil {
		f.mu.Lock()
		f.done = append(f.done, id)
		f.mu.Unlock()
	}
	return err
}

func (f *fakeSteps) FailPrediction(_ context.Context, id, reason string) error {
	if f.fail != nil {
		if err := f.fail(id, reason); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed == nil {
		f.failed = map[string]string{}
	}
	f.failed[id] = reason
	return nil
}

func (f *fakeSteps) state() (done []string, failed map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.done), maps.Clone(f.failed)
}

type pendingList []*mlsvc.Prediction

func (l pendingList) PendingPredictions(context.Context) ([]*mlsvc.Prediction, error) { return l, nil }

// TestRetryWaitHoldsNoWorker: with one worker, a prediction waiting to
// retry after a storage failure does not stall the others.
func TestRetryWaitHoldsNoWorker(t *testing.T) {
	steps := &fakeSteps{run: func(id string) error {
		if id == "stuck" {
			return errors.New("injected: storage unavailable")
		}
		return nil
	}}
	r := New(Config{Steps: steps, Pending: pendingList{}, Workers: 1, Backoff: time.Hour, Retries: 3})
	t.Cleanup(r.Close)
	now := time.Now()
	for _, id := range []string{"stuck", "a", "b"} {
		if err := r.Start(t.Context(), &mlsvc.Prediction{ID: id, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if id == "stuck" {
			time.Sleep(20 * time.Millisecond) // let it take the worker first
		}
	}
	testenv.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool { done, _ := steps.state(); return len(done) == 2 },
		"the other predictions did not run while one waited an hour to retry")
}

// TestFailureIsRecordedOnceStorageRecovers: a failure that cannot be
// recorded (a full disk) is retried on a timer, without a restart.
func TestFailureIsRecordedOnceStorageRecovers(t *testing.T) {
	var refusals atomic.Int32
	refusals.Store(3)
	steps := &fakeSteps{
		run: func(string) error { return mlsvc.Errorf(mlsvc.EPermanent, "the input rows are missing") },
		fail: func(string, string) error {
			if refusals.Add(-1) >= 0 {
				return mlsvc.Errorf(mlsvc.EUnavailable, "injected: database or disk is full")
			}
			return nil
		},
	}
	r := New(Config{Steps: steps, Pending: pendingList{}, Backoff: time.Millisecond})
	t.Cleanup(r.Close)
	if err := r.Start(t.Context(), &mlsvc.Prediction{ID: "p1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool { _, failed := steps.state(); return failed["p1"] != "" },
		"the failure was never recorded")
	if _, failed := steps.state(); failed["p1"] != "the input rows are missing" {
		t.Errorf("reason %q, want the permanent error's message", failed["p1"])
	}
	if n := refusals.Load(); n >= 0 {
		t.Errorf("FailPrediction refused %d more times than tried", n+1)
	}
}

// TestSweepSchedulesForgottenPredictions: a pending prediction nobody
// scheduled is run by the periodic sweep once it is older than the sweep
// interval; a young one (a request in flight) is left to its request.
func TestSweepSchedulesForgottenPredictions(t *testing.T) {
	steps := &fakeSteps{run: func(string) error { return nil }}
	now := time.Now()
	pending := pendingList{
		{ID: "old", CreatedAt: now.Add(-time.Hour)},
		{ID: "young", CreatedAt: now.Add(time.Hour)},
	}
	r := New(Config{Steps: steps, Pending: pending, Sweep: 10 * time.Millisecond})
	t.Cleanup(r.Close)
	testenv.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool { done, _ := steps.state(); return slices.Contains(done, "old") },
		"the sweep never ran the forgotten prediction")
	if done, _ := steps.state(); slices.Contains(done, "young") {
		t.Error("the sweep ran a prediction younger than its interval")
	}
}
