package mlsvc_test

import (
	"fmt"
	"testing"
	"time"

	"mlsvc/catalog"
	"mlsvc/pkg/mlsvc"
)

// lrFile is the model file of the catalog's lr model.
func lrFile(t *testing.T) []byte {
	t.Helper()
	b, err := catalog.Files.ReadFile("lr.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPriceChangeReachesCharges: a price published through the Service is
// charged at once; one stored by another process (a second Service on the
// same store) within CatalogTTL.
func TestPriceChangeReachesCharges(t *testing.T) {
	svc, store, _, u, blobs := newServiceBlobs(t, nil)
	ctx := t.Context()
	charge := func() mlsvc.Cents {
		t.Helper()
		p, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row))
		if err != nil {
			t.Fatal(err)
		}
		return p.Cost
	}
	if got := charge(); got != 10_00 {
		t.Fatalf("first charge %s, want the catalog's 10", got)
	}
	if _, err := svc.PublishModel(ctx, "lr", "Linear", 7_00, "", lrFile(t)); err != nil {
		t.Fatal(err)
	}
	if got := charge(); got != 7_00 {
		t.Fatalf("charge after publishing 7 here: %s, want 7 at once", got)
	}
	other := mlsvc.New(mlsvc.Config{Store: store, Blobs: blobs, Workflow: &starts{}})
	if _, err := other.PublishModel(ctx, "lr", "Linear", 5_00, "", lrFile(t)); err != nil {
		t.Fatal(err)
	}
	published := time.Now()
	got := charge()
	for got != 5_00 && time.Since(published) < mlsvc.CatalogTTL+time.Second {
		time.Sleep(200 * time.Millisecond) // at most 10 charges: the balance is 100
		got = charge()
	}
	if got != 5_00 {
		t.Fatalf("charge %s after publishing 5 elsewhere %v ago, want 5 within %v", got, time.Since(published), mlsvc.CatalogTTL)
	}
}

// TestUnknownModelIdsAreNotCached: a caller sending made-up model ids gets
// 404s and grows nothing.
func TestUnknownModelIdsAreNotCached(t *testing.T) {
	svc, _, _, u := newService(t, nil)
	ctx := t.Context()
	for i := range 1000 {
		_, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: fmt.Sprintf("nope-%d", i)}, []byte(row))
		if mlsvc.ErrorCode(err) != mlsvc.ENotFound {
			t.Fatalf("model nope-%d: %v, want ENotFound", i, err)
		}
	}
	if n := mlsvc.CachedModels(svc); n != 0 {
		t.Fatalf("%d catalog entries cached after 1000 unknown ids, want 0", n)
	}
}
