package mlsvc_test

import (
	"context"
	"sync/atomic"
	"testing"

	"mlsvc/pkg/mlsvc"
)

// countedReads counts the store's reads of users by id.
type countedReads struct {
	mlsvc.Store
	n *atomic.Int32
}

func (s countedReads) UserByID(ctx context.Context, id string) (*mlsvc.User, error) {
	s.n.Add(1)
	return s.Store.UserByID(ctx, id)
}

// TestUserMemo: a request that authenticated (Service.User) under
// WithUserMemo reads the user once, not again for the balance pre-check;
// without the memo it reads twice. The pre-check on the remembered record
// is a pre-check only: a balance spent meanwhile is still refused by the
// charge, with nothing charged.
func TestUserMemo(t *testing.T) {
	var n atomic.Int32
	svc, store, _, u := newService(t, func(s mlsvc.Store) mlsvc.Store { return countedReads{s, &n} })
	req := mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}
	for _, c := range []struct {
		memo bool
		want int32
	}{{true, 1}, {false, 2}} {
		ctx := t.Context()
		if c.memo {
			ctx = mlsvc.WithUserMemo(ctx)
		}
		n.Store(0)
		if _, err := svc.User(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.RequestPrediction(ctx, req, []byte(row)); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != c.want {
			t.Errorf("memo %v: %d reads of the user, want %d", c.memo, got, c.want)
		}
	}
	// The balance is 80 now. Remember it, then spend all of it.
	ctx := mlsvc.WithUserMemo(t.Context())
	if _, err := svc.User(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		if _, _, err := svc.RequestPrediction(t.Context(), req, []byte(row)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.RequestPrediction(ctx, req, []byte(row)); mlsvc.ErrorCode(err) != mlsvc.EInsufficient {
		t.Errorf("a request remembering a balance since spent: %v; want %s", err, mlsvc.EInsufficient)
	}
	if got, _ := store.UserByID(t.Context(), u.ID); got.Balance != 0 {
		t.Errorf("balance %s, want 0", got.Balance)
	}
}
