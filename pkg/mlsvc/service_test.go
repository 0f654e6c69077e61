package mlsvc_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/models"
	"mlsvc/pkg/localblob"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
)

// starts records the workflow starts.
type starts struct{ ids []string }

func (w *starts) Start(_ context.Context, p *mlsvc.Prediction) error {
	w.ids = append(w.ids, p.ID)
	return nil
}

// lostAnswer commits CreatePrediction, then reports an error, as a timeout
// after the commit would.
type lostAnswer struct{ mlsvc.Store }

func (s lostAnswer) CreatePrediction(ctx context.Context, p *mlsvc.Prediction) (mlsvc.Cents, error) {
	if _, err := s.Store.CreatePrediction(ctx, p); err != nil {
		return 0, err
	}
	return 0, errors.New("injected: connection reset after commit")
}

func newService(t *testing.T, wrap func(mlsvc.Store) mlsvc.Store) (*mlsvc.Service, mlsvc.Store, *starts, *mlsvc.User) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := localblob.New(filepath.Join(dir, "blobs"), "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	var store mlsvc.Store = db
	if wrap != nil {
		store = wrap(db)
	}
	w := &starts{}
	svc := mlsvc.New(mlsvc.Config{Store: store, Blobs: blobs, Workflow: w, BcryptCost: bcrypt.MinCost})
	catalog, err := models.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := svc.Seed(ctx, catalog); err != nil {
		t.Fatal(err)
	}
	u, err := svc.Register(ctx, "Ann", "ann", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TopUp(ctx, u.ID, 100_00); err != nil {
		t.Fatal(err)
	}
	return svc, db, w, u
}

const row = `{"feature_0":0.5,"feature_1":0.5,"feature_2":10,"feature_3":50,"feature_4":20}`

// TestReplayStartsLostWorkflow: a first request that charged and stopped
// before starting its workflow is run by its retry, not left pending.
func TestReplayStartsLostWorkflow(t *testing.T) {
	svc, store, w, u := newService(t, nil)
	ctx := t.Context()
	req := mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr", IdempotencyKey: "k1"}
	// The rows as parsed (sorted keys, shortest numbers): what the id hashes.
	canonical := `[{"feature_0":0.5,"feature_1":0.5,"feature_2":10,"feature_3":50,"feature_4":20}]`
	id := mlsvc.IdempotentID(req, []byte(canonical))
	// The first request's charge, without its start.
	if _, err := store.CreatePrediction(ctx, &mlsvc.Prediction{ID: id, UserID: u.ID, ModelID: "lr", Status: mlsvc.StatusPending, Cost: 10_00, Rows: 1}); err != nil {
		t.Fatal(err)
	}
	p, replayed, err := svc.RequestPrediction(ctx, req, []byte(" "+row+" "))
	if err != nil {
		t.Fatal(err)
	}
	if !replayed || p.ID != id {
		t.Fatalf("replayed=%v id=%s, want a replay of %s", replayed, p.ID, id)
	}
	if len(w.ids) != 1 || w.ids[0] != id {
		t.Errorf("workflow starts %v, want one of %s", w.ids, id)
	}
	if got, _ := store.UserByID(ctx, u.ID); got.Balance != 90_00 {
		t.Errorf("balance %s, want 90 (one charge)", got.Balance)
	}
}

// TestChargeCommittedDespiteError: when the store commits the charge but
// answers with an error, the prediction is still run.
func TestChargeCommittedDespiteError(t *testing.T) {
	svc, store, w, u := newService(t, func(s mlsvc.Store) mlsvc.Store { return lostAnswer{s} })
	ctx := t.Context()
	p, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row))
	if err != nil {
		t.Fatalf("RequestPrediction: %v, want the committed prediction", err)
	}
	if len(w.ids) != 1 || w.ids[0] != p.ID {
		t.Errorf("workflow starts %v, want one of %s", w.ids, p.ID)
	}
	if got, _ := store.UserByID(ctx, u.ID); got.Balance != 90_00 {
		t.Errorf("balance %s, want 90", got.Balance)
	}
}

// TestSettleStale: only predictions pending well past their wait are failed
// and refunded, once.
func TestSettleStale(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	blobs, _ := localblob.New(filepath.Join(dir, "blobs"), "/blobs/")
	svc := mlsvc.New(mlsvc.Config{Store: db, Blobs: blobs, Workflow: &starts{}, BcryptCost: bcrypt.MinCost, Now: func() time.Time { return now }})
	ctx := t.Context()
	u, err := svc.Register(ctx, "Ann", "ann", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TopUp(ctx, u.ID, 30_00); err != nil {
		t.Fatal(err)
	}
	for id, age := range map[string]time.Duration{"old": 3 * time.Hour, "recent": time.Hour} {
		p := &mlsvc.Prediction{ID: id, UserID: u.ID, ModelID: "lr", Status: mlsvc.StatusPending, Cost: 10_00,
			Delay: 20 * time.Second, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age)}
		if _, err := db.CreatePrediction(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := svc.SettleStale(ctx); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := db.Prediction(ctx, "old")
	recent, _ := db.Prediction(ctx, "recent")
	if old.Status != mlsvc.StatusFailed || recent.Status != mlsvc.StatusPending {
		t.Errorf("old %s, recent %s; want failed and pending", old.Status, recent.Status)
	}
	if got, _ := db.UserByID(ctx, u.ID); got.Balance != 20_00 {
		t.Errorf("balance %s, want 20 (one refund of 10)", got.Balance)
	}
}
