package mlsvc_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/localtest"
	"mlsvc/pkg/mlsvc"
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

func (s lostAnswer) CreatePrediction(ctx context.Context, p *mlsvc.Prediction) error {
	if err := s.Store.CreatePrediction(ctx, p); err != nil {
		return err
	}
	return errors.New("injected: connection reset after commit")
}

// watchedBlobs counts reads and can refuse writes.
type watchedBlobs struct {
	mlsvc.Blobs
	gets    atomic.Int32
	putErr  error
	putKeys []string
}

func (b *watchedBlobs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	b.gets.Add(1)
	return b.Blobs.Get(ctx, key)
}

func (b *watchedBlobs) Put(ctx context.Context, key, ct string, body io.Reader) error {
	if b.putErr != nil {
		return b.putErr
	}
	b.putKeys = append(b.putKeys, key)
	return b.Blobs.Put(ctx, key, ct, body)
}

func newService(t *testing.T, wrap func(mlsvc.Store) mlsvc.Store) (*mlsvc.Service, mlsvc.Store, *starts, *mlsvc.User) {
	svc, store, w, u, _ := newServiceBlobs(t, wrap)
	return svc, store, w, u
}

func newServiceBlobs(t *testing.T, wrap func(mlsvc.Store) mlsvc.Store) (*mlsvc.Service, mlsvc.Store, *starts, *mlsvc.User, *watchedBlobs) {
	t.Helper()
	db, lb := localtest.Open(t)
	blobs := &watchedBlobs{Blobs: lb}
	var store mlsvc.Store = db
	if wrap != nil {
		store = wrap(db)
	}
	w := &starts{}
	svc := mlsvc.New(mlsvc.Config{Store: store, Blobs: blobs, Workflow: w, BcryptCost: bcrypt.MinCost})
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := svc.Seed(ctx, entries); err != nil {
		t.Fatal(err)
	}
	return svc, db, w, localtest.FundedUser(t, svc, 100_00), blobs
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
	id := mlsvc.IdempotentID(req)
	// The first request's charge, without its input or its start.
	if err := store.CreatePrediction(ctx, &mlsvc.Prediction{ID: id, UserID: u.ID, ModelID: "lr", Status: mlsvc.StatusPending,
		Cost: 10_00, Rows: 1, RequestHash: mlsvc.RequestHash("lr", []byte(canonical))}); err != nil {
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
	// The retry stored the rows the first request never did.
	if v, err := svc.Prediction(ctx, u.ID, id, 1<<20); err != nil || v.InputOmitted {
		t.Errorf("input after the replay: %+v, %v; want it stored", v, err)
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
	db, blobs := localtest.Open(t)
	svc := mlsvc.New(mlsvc.Config{Store: db, Blobs: blobs, Workflow: &starts{}, BcryptCost: bcrypt.MinCost, Now: func() time.Time { return now }})
	ctx := t.Context()
	u := localtest.FundedUser(t, svc, 30_00)
	for id, age := range map[string]time.Duration{"old": time.Hour, "recent": 10 * time.Minute} {
		p := &mlsvc.Prediction{ID: id, UserID: u.ID, ModelID: "lr", Status: mlsvc.StatusPending, Cost: 10_00,
			Delay: 20 * time.Second, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age)}
		if err := db.CreatePrediction(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	w := mlsvc.NewWorker(mlsvc.Config{Store: db, Blobs: blobs, Now: func() time.Time { return now }})
	for i, want := range []int{1, 0} { // the second run finds nothing more to settle
		if n, err := w.SettleStale(ctx); err != nil || n != want {
			t.Fatalf("SettleStale run %d = %d, %v; want %d", i+1, n, err, want)
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

// TestIdempotencyKeyMismatch: the same key with another model or other rows
// is EMismatch, charges nothing and names what differs.
func TestIdempotencyKeyMismatch(t *testing.T) {
	svc, store, _, u := newService(t, nil)
	ctx := t.Context()
	req := mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr", IdempotencyKey: "k1"}
	if _, _, err := svc.RequestPrediction(ctx, req, []byte(row)); err != nil {
		t.Fatal(err)
	}
	other := req
	other.ModelID = "rf"
	_, _, err := svc.RequestPrediction(ctx, other, []byte(row))
	if mlsvc.ErrorCode(err) != mlsvc.EMismatch || !strings.Contains(mlsvc.ErrorMessage(err), `"lr"`) {
		t.Errorf("same key, other model: %v; want %s naming the first model", err, mlsvc.EMismatch)
	}
	_, _, err = svc.RequestPrediction(ctx, req, []byte(strings.Replace(row, "0.5", "0.6", 1)))
	if mlsvc.ErrorCode(err) != mlsvc.EMismatch || !strings.Contains(mlsvc.ErrorMessage(err), "input_data") {
		t.Errorf("same key, other rows: %v; want %s naming input_data", err, mlsvc.EMismatch)
	}
	// Whitespace and key order are the same request.
	_, replayed, err := svc.RequestPrediction(ctx, req, []byte(`{"feature_4":20, "feature_3":50,"feature_2":10,"feature_1":0.5,"feature_0":0.5}`))
	if err != nil || !replayed {
		t.Errorf("same rows reordered: replayed=%v, %v; want a replay", replayed, err)
	}
	if got, _ := store.UserByID(ctx, u.ID); got.Balance != 90_00 {
		t.Errorf("balance %s, want 90 (one charge)", got.Balance)
	}
}

// TestUnpaidRequestIsRefusedBeforeParsing: a user who cannot pay gets 402
// even for rows that would take work to parse, and nothing is stored.
func TestUnpaidRequestIsRefusedBeforeParsing(t *testing.T) {
	svc, _, w, _, blobs := newServiceBlobs(t, nil)
	ctx := t.Context()
	broke, err := svc.Register(ctx, "Bob", "bob", "password1")
	if err != nil {
		t.Fatal(err)
	}
	for name, input := range map[string]string{
		"malformed": `[{"feature_0": oops`,
		"valid":     row,
	} {
		_, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: broke.ID, ModelID: "lr"}, []byte(input))
		if mlsvc.ErrorCode(err) != mlsvc.EInsufficient {
			t.Errorf("%s rows, zero balance: %v; want %s", name, err, mlsvc.EInsufficient)
		}
	}
	if len(blobs.putKeys) != 0 || len(w.ids) != 0 {
		t.Errorf("refused requests stored %v and started %v; want nothing", blobs.putKeys, w.ids)
	}
}

// TestInputStoreFailureRefunds: rows that cannot be stored after the charge
// fail the prediction and refund it: the caller sees EUnavailable. (The
// store is seen without its mlsvc.InputStore, as DynamoDB is, so the rows
// go to the blobs; TestInlineInputFailureChargesNothing is the other case.)
func TestInputStoreFailureRefunds(t *testing.T) {
	svc, store, w, u, blobs := newServiceBlobs(t, withoutInputs)
	ctx := t.Context()
	blobs.putErr = mlsvc.Errorf(mlsvc.EUnavailable, "injected: no space left on device")
	_, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row))
	if mlsvc.ErrorCode(err) != mlsvc.EUnavailable {
		t.Fatalf("RequestPrediction with storage down: %v; want %s", err, mlsvc.EUnavailable)
	}
	if got, _ := store.UserByID(ctx, u.ID); got.Balance != 100_00 {
		t.Errorf("balance %s, want 100 (refunded)", got.Balance)
	}
	ps, _, _ := store.Predictions(ctx, u.ID, mlsvc.Page{})
	if len(ps) != 1 || ps[0].Status != mlsvc.StatusFailed || ps[0].Error != mlsvc.ReasonNotStarted || len(w.ids) != 0 {
		t.Errorf("predictions %+v, starts %v; want one failed with %q, never started", ps, w.ids, mlsvc.ReasonNotStarted)
	}
}

// TestViewKnowsInputSize: a prediction's input larger than the caller
// shows inline is omitted without reading it from storage.
func TestViewKnowsInputSize(t *testing.T) {
	svc, _, _, u, blobs := newServiceBlobs(t, nil)
	ctx := t.Context()
	p, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row))
	if err != nil {
		t.Fatal(err)
	}
	if p.InputBytes != int64(len(row)) {
		t.Errorf("InputBytes = %d, want %d", p.InputBytes, len(row))
	}
	before := blobs.gets.Load()
	v, err := svc.Prediction(ctx, u.ID, p.ID, int64(len(row))-1)
	if err != nil || !v.InputOmitted || v.Input != nil {
		t.Fatalf("view = %+v, %v; want the input omitted", v, err)
	}
	if n := blobs.gets.Load() - before; n != 0 {
		t.Errorf("the view read %d blobs of a pending prediction, want 0", n)
	}
	if v, err := svc.Prediction(ctx, u.ID, p.ID, int64(len(row))); err != nil || string(v.Input) != row {
		t.Errorf("view with room for the input: %+v, %v", v, err)
	}
}

// TestSignInComparesLikeRegistration: usernames fold by ASCII case only, so
// a look-alike (the Kelvin sign for K) signs in as no one; a password too
// long to have been registered is refused like a wrong one.
func TestSignInComparesLikeRegistration(t *testing.T) {
	svc, _, _, _ := newService(t, nil)
	ctx := t.Context()
	if _, err := svc.Register(ctx, "Kim", "kim", "password1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "KIM", "password1"); err != nil {
		t.Errorf("ASCII case: %v", err)
	}
	for _, tc := range []struct{ user, password string }{
		{"\u212aim", "password1"},                      // Kelvin sign
		{"kim", "password1" + strings.Repeat("x", 70)}, // over bcrypt's 72 bytes
		{"nobody", "password1"},
		{"kim", "wrong-password"},
	} {
		_, err := svc.Authenticate(ctx, tc.user, tc.password)
		if mlsvc.ErrorCode(err) != mlsvc.EUnauthorized || mlsvc.ErrorMessage(err) != "invalid username or password" {
			t.Errorf("Authenticate(%q, %d bytes) = %v; want the one unauthorized answer", tc.user, len(tc.password), err)
		}
	}
}
