package mlsvc_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/localtest"
	"mlsvc/pkg/localblob"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
)

// withoutInputs hides the store's mlsvc.InputStore, as a store without it
// (DynamoDB) is seen: the rows go to the blobs.
func withoutInputs(s mlsvc.Store) mlsvc.Store { return struct{ mlsvc.Store }{s} }

// TestInlineInputs: with a store that keeps inputs (SQLite), a small
// input is kept with the charge and no blob is written; the view shows it
// and the worker predicts from it. An input over the store's limit goes to
// the blobs and is read from there.
func TestInlineInputs(t *testing.T) {
	svc, store, w, u, blobs := newServiceBlobs(t, nil)
	ctx := t.Context()
	if _, err := svc.TopUp(ctx, u.ID, 100_00); err != nil {
		t.Fatal(err)
	}
	big := "[" + strings.TrimSuffix(strings.Repeat(row+",", sqlite.MaxInlineBytes/len(row)+1), ",") + "]"
	for _, c := range []struct {
		name, input string
		blob        bool
	}{{"small", row, false}, {"large", big, true}} {
		puts := len(blobs.putKeys)
		p, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(c.input))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if wrote := len(blobs.putKeys) > puts; wrote != c.blob {
			t.Errorf("%s input (%d bytes): blob written %v, want %v", c.name, len(c.input), wrote, c.blob)
		}
		inline, err := store.(mlsvc.InputStore).PredictionInput(ctx, p.ID)
		if c.blob && mlsvc.ErrorCode(err) != mlsvc.ENotFound || !c.blob && (err != nil || string(inline) != c.input) {
			t.Errorf("%s: the store's input = %d bytes, %v", c.name, len(inline), err)
		}
		v, err := svc.Prediction(ctx, u.ID, p.ID, 1<<30)
		if err != nil || string(v.Input) != c.input {
			t.Fatalf("%s: view input %d bytes, %v; want the %d bytes sent", c.name, len(v.Input), err, len(c.input))
		}
		worker := mlsvc.NewWorker(mlsvc.Config{Store: store, Blobs: blobs, Builtin: catalog.Files})
		if err := worker.RunPrediction(ctx, p.ID); err != nil {
			t.Fatalf("%s: RunPrediction: %v", c.name, err)
		}
		v, err = svc.Prediction(ctx, u.ID, p.ID, 0)
		if err != nil || v.Status != mlsvc.StatusCompleted || v.Output == nil || len(v.Output.Predictions) != p.Rows {
			t.Fatalf("%s: after the run %+v, %v; want %d predictions", c.name, v, err, p.Rows)
		}
	}
	if len(w.ids) != 2 {
		t.Errorf("workflow starts %v, want 2", w.ids)
	}
}

// TestInlineInputFailureChargesNothing: when the input cannot be written
// in the charge's transaction, neither is the charge: nothing is stored,
// charged or started. (TestInputStoreFailureRefunds in service_test.go is
// the same request with the input in the blobs, written after the charge,
// which is refunded: the two tests read alike on purpose.)
func TestInlineInputFailureChargesNothing(t *testing.T) {
	svc, store, w, u, blobs := newServiceBlobs(t, nil)
	ctx := sqlite.WithFailpoint(t.Context(), func(step string) error {
		if step == "input" {
			return mlsvc.Errorf(mlsvc.EUnavailable, "injected: disk full")
		}
		return nil
	})
	_, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row))
	if mlsvc.ErrorCode(err) != mlsvc.EUnavailable {
		t.Fatalf("RequestPrediction with the input write failing: %v; want %s", err, mlsvc.EUnavailable)
	}
	if got, _ := store.UserByID(ctx, u.ID); got.Balance != 100_00 {
		t.Errorf("balance %s, want 100 (never charged)", got.Balance)
	}
	ps, _, _ := store.Predictions(ctx, u.ID, mlsvc.Page{})
	es, _, _ := store.Transactions(ctx, u.ID, mlsvc.Page{})
	if len(ps) != 0 || len(w.ids) != 0 || len(blobs.putKeys) != 0 || len(es) != 1 {
		t.Errorf("predictions %v, starts %v, blobs %v, ledger %d entries; want none, none, none, the top-up", ps, w.ids, blobs.putKeys, len(es))
	}
}

// TestInlineInputCommittedDespiteError: a charge and input committed whose
// answer is lost run as usual, from the input the store kept: no blob.
func TestInlineInputCommittedDespiteError(t *testing.T) {
	svc, store, w, u, blobs := newServiceBlobs(t, nil)
	ctx := sqlite.WithFailpoint(t.Context(), func(step string) error {
		if step == "committed" {
			return errors.New("injected: connection reset after commit")
		}
		return nil
	})
	p, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row))
	if err != nil {
		t.Fatalf("RequestPrediction: %v, want the committed prediction", err)
	}
	if len(w.ids) != 1 || w.ids[0] != p.ID || len(blobs.putKeys) != 0 {
		t.Errorf("starts %v, blobs %v; want one start of %s and no blob", w.ids, blobs.putKeys, p.ID)
	}
	if v, err := svc.Prediction(context.Background(), u.ID, p.ID, 1<<20); err != nil || string(v.Input) != row {
		t.Errorf("view %+v, %v; want the input", v, err)
	}
	if got, _ := store.UserByID(ctx, u.ID); got.Balance != 90_00 {
		t.Errorf("balance %s, want 90", got.Balance)
	}
}

// TestInputsFromBlobsStillRead: a prediction whose rows are a blob (taken
// before the store kept inputs, or by a store without them) is read from
// the blobs by a Service whose store keeps inputs.
func TestInputsFromBlobsStillRead(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	blobs, err := localblob.New(filepath.Join(dir, "blobs"), "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old := mlsvc.New(mlsvc.Config{Store: withoutInputs(db), Blobs: blobs, Workflow: &starts{}, BcryptCost: bcrypt.MinCost})
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Seed(ctx, entries); err != nil {
		t.Fatal(err)
	}
	u := localtest.FundedUser(t, old, 10_00)
	p, _, err := old.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PredictionInput(ctx, p.ID); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Fatalf("the store has the input of a blob-stored prediction: %v", err)
	}
	svc := mlsvc.New(mlsvc.Config{Store: db, Blobs: blobs, Workflow: &starts{}, BcryptCost: bcrypt.MinCost})
	if v, err := svc.Prediction(ctx, u.ID, p.ID, 1<<20); err != nil || string(v.Input) != row {
		t.Errorf("view %+v, %v; want the input from the blob", v, err)
	}
	worker := mlsvc.NewWorker(mlsvc.Config{Store: db, Blobs: blobs, Builtin: catalog.Files})
	if err := worker.RunPrediction(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Prediction(ctx, p.ID); got.Status != mlsvc.StatusCompleted {
		t.Errorf("status %s, want completed", got.Status)
	}
}
