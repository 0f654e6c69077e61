package mlsvc_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/internal/localtest"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
)

// awaitSetup returns a Service (with broker, or polling without one), its
// store, and a user's pending prediction.
func awaitSetup(t *testing.T, broker *mlsvc.Broker) (*mlsvc.Service, *sqlite.Store, string, string) {
	t.Helper()
	store, _ := localtest.Open(t)
	cfg := mlsvc.Config{Store: store, Workflow: &starts{}, BcryptCost: bcrypt.MinCost, Broker: broker}
	if broker != nil {
		cfg.OnFinish = broker.Publish
	}
	svc := mlsvc.New(cfg)
	ctx := context.Background()
	u := localtest.FundedUser(t, svc, 10_00)
	now := time.Now().UTC()
	p := &mlsvc.Prediction{ID: "p1", UserID: u.ID, ModelID: "lr", Status: mlsvc.StatusPending, Cost: 1_00, Rows: 1,
		Delay: time.Hour, CreatedAt: now, UpdatedAt: now}
	if err := store.CreatePrediction(ctx, p); err != nil {
		t.Fatal(err)
	}
	return svc, store, u.ID, p.ID
}

// TestAwaitWokenByBroker: a cancel published to the broker ends the wait
// at once, well before the fallback poll (1 s). TestAwaitPollsWithoutBroker
// takes the same steps without a broker: the two differ in how the end is
// learnt, and in how soon.
func TestAwaitWokenByBroker(t *testing.T) {
	broker := mlsvc.NewBroker()
	svc, _, userID, id := awaitSetup(t, broker)
	canceled := make(chan struct{})
	go func() {
		defer close(canceled)
		time.Sleep(100 * time.Millisecond)
		if _, err := svc.CancelPrediction(context.Background(), userID, id); err != nil {
			t.Error(err)
		}
	}()
	defer func() { <-canceled }()
	start := time.Now()
	p, err := svc.AwaitPrediction(context.Background(), userID, id, 10*time.Second)
	if err != nil || p.Status != mlsvc.StatusCanceled {
		t.Fatalf("AwaitPrediction = %+v, %v; want canceled", p, err)
	}
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Errorf("the wait took %v after a notification at 100 ms", took)
	}
	if n := broker.Subscribers(); n != 0 {
		t.Errorf("%d subscriptions left open", n)
	}
}

// TestAwaitPollsWithoutBroker: without a broker (Lambda) the end, written
// by another process, is found by polling the store. Same steps as
// TestAwaitWokenByBroker, which has a broker.
func TestAwaitPollsWithoutBroker(t *testing.T) {
	svc, store, userID, id := awaitSetup(t, nil)
	completed := make(chan struct{})
	defer func() { <-completed }()
	go func() {
		defer close(completed)
		time.Sleep(300 * time.Millisecond)
		if err := store.CompletePrediction(context.Background(), id, time.Now()); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	p, err := svc.AwaitPrediction(context.Background(), userID, id, 10*time.Second)
	if err != nil || p.Status != mlsvc.StatusCompleted {
		t.Fatalf("AwaitPrediction = %+v, %v; want completed", p, err)
	}
	// Polls at 250 ms and 750 ms: found by the second.
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the wait took %v for an end at 300 ms", took)
	}
}

func TestAwaitTimesOut(t *testing.T) {
	for _, broker := range []*mlsvc.Broker{nil, mlsvc.NewBroker()} {
		svc, _, userID, id := awaitSetup(t, broker)
		start := time.Now()
		p, err := svc.AwaitPrediction(context.Background(), userID, id, 600*time.Millisecond)
		took := time.Since(start)
		if err != nil || p.Status != mlsvc.StatusPending {
			t.Errorf("broker %v: AwaitPrediction = %+v, %v; want pending", broker != nil, p, err)
		}
		if took < 600*time.Millisecond || took > 3*time.Second {
			t.Errorf("broker %v: returned after %v, want about 600 ms", broker != nil, took)
		}
		if _, err := svc.AwaitPrediction(context.Background(), "someone-else", id, time.Second); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
			t.Errorf("someone else's: %v, want not found", err)
		}
	}
}
