package runner

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/internal/testenv"
	"mlsvc/models"
	"mlsvc/pkg/localblob"
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
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := localblob.New(filepath.Join(dir, "blobs"), "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	blobs := &flakyBlobs{Blobs: lb}
	blobs.failPuts.Store(failPuts)
	r := New(2, nil)
	r.backoff = time.Millisecond
	svc := mlsvc.New(mlsvc.Config{Store: store, Blobs: blobs, Workflow: r, Builtin: models.Files, BcryptCost: bcrypt.MinCost})
	r.Bind(svc)
	t.Cleanup(func() { r.Close(); store.Close() })
	catalog, err := models.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Seed(context.Background(), catalog); err != nil {
		t.Fatal(err)
	}
	return svc, store, r
}

func request(t *testing.T, svc *mlsvc.Service) (*mlsvc.User, *mlsvc.Prediction) {
	t.Helper()
	ctx := context.Background()
	u, err := svc.Register(ctx, "Ann", "ann", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TopUp(ctx, u.ID, 15_00); err != nil {
		t.Fatal(err)
	}
	p, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "rf"}, []byte(`{"feature_0":0.3,"feature_1":0.7,"feature_2":12,"feature_3":60,"feature_4":20}`))
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
	if err := svc.RunPrediction(context.Background(), p.ID); err != nil {
		t.Errorf("RunPrediction on a completed prediction: %v", err)
	}
}
