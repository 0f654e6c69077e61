package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Arm makes one step of the store's next operation fail: the k-th (from 1)
// in the adapter's own counting (a failpoint of a SQLite transaction; a
// request to DynamoDB lost before it is sent or its answer lost after it
// was applied). The operation must be called with the returned context.
// fired reports, after the operation, whether the fault happened (false:
// the operation has fewer than k steps) and disarms it.
type Arm func(k int) (ctx context.Context, fired func() bool)

// RunFaults fails each money operation — charge, refund, paid top-up
// (webhook credit) and operator credit — at each of its steps in turn, and
// checks after every case that the audit is clean (the balance equals the
// ledger, every charge has its prediction), that the operation either
// happened whole or not at all, and that a retry of an idempotent operation
// completes it exactly once.
//
// newStore returns an empty store and the Arm of its faults.
func RunFaults(t *testing.T, newStore func(t *testing.T) (mlsvc.Store, Arm)) {
	// paid: user u has 7.00 left after paying 3.00 for pending prediction p-u.
	paid := func(t *testing.T, s mlsvc.Store, u string) {
		createUser(t, s, u, "n"+u, 10_00)
		createPrediction(t, s, newPrediction("p-"+u, u, 3_00, t0))
	}
	ops := []struct {
		name string
		// setup prepares user u; run runs the operation; want is the balance
		// after it happened once, from a balance of start.
		setup      func(t *testing.T, s mlsvc.Store, u string)
		run        func(ctx context.Context, s mlsvc.Store, u string) error
		start, one mlsvc.Cents
		idempotent bool
	}{
		{
			name:  "charge",
			setup: func(t *testing.T, s mlsvc.Store, u string) { createUser(t, s, u, "n"+u, 10_00) },
			run: func(ctx context.Context, s mlsvc.Store, u string) error {
				return s.CreatePrediction(ctx, newPrediction("p-"+u, u, 3_00, t0))
			},
			start: 10_00, one: 7_00, idempotent: true,
		},
		{
			name:  "refund",
			setup: paid,
			run: func(ctx context.Context, s mlsvc.Store, u string) error {
				return s.FailPrediction(ctx, "p-"+u, "fault test", t0.Add(time.Minute))
			},
			start: 7_00, one: 10_00, idempotent: true,
		},
		{
			name:  "cancel refund",
			setup: paid,
			run: func(ctx context.Context, s mlsvc.Store, u string) error {
				return s.CancelPrediction(ctx, "p-"+u, t0.Add(time.Minute))
			},
			start: 7_00, one: 10_00, idempotent: true,
		},
		{
			name:  "webhook credit",
			setup: func(t *testing.T, s mlsvc.Store, u string) { createUser(t, s, u, "n"+u, 0) },
			run: func(ctx context.Context, s mlsvc.Store, u string) error {
				_, err := s.Credit(ctx, &mlsvc.LedgerEntry{
					ID: "e-" + u, UserID: u, Type: mlsvc.EntryTopUp, Amount: 25_00, PaymentID: "cs-" + u, CreatedAt: t0,
				})
				return err
			},
			start: 0, one: 25_00, idempotent: true,
		},
		{
			name:  "operator credit",
			setup: func(t *testing.T, s mlsvc.Store, u string) { createUser(t, s, u, "n"+u, 1_00) },
			run: func(ctx context.Context, s mlsvc.Store, u string) error {
				_, err := s.Credit(ctx, &mlsvc.LedgerEntry{
					ID: "e-" + u, UserID: u, Type: mlsvc.EntryCredit, Amount: 5_00, CreatedAt: t0,
				})
				return err
			},
			start: 1_00, one: 6_00,
		},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			s, arm := newStore(t)
			cases := 0
			for k := 1; k <= 50; k++ {
				u := fmt.Sprintf("u%02d", k)
				op.setup(t, s, u)
				ctx, fired := arm(k)
				err := op.run(ctx, s, u)
				if !fired() {
					if err != nil {
						t.Fatalf("step %d: no fault fired but %s failed: %v", k, op.name, err)
					}
					wantBalance(t, s, u, op.one)
					break
				}
				cases++
				wantAuditClean(t, s)
				got := balance(t, s, u)
				if got != op.start && got != op.one {
					t.Errorf("fault at step %d (error %v): balance %s, want %s (not applied) or %s (applied)", k, err, got, op.start, op.one)
				}
				if err == nil && got != op.one {
					t.Errorf("fault at step %d: %s succeeded but the balance is %s, want %s", k, op.name, got, op.one)
				}
				if !op.idempotent {
					continue
				}
				// A retry completes the operation, once.
				err = op.run(context.Background(), s, u)
				if err != nil && mlsvc.ErrorCode(err) != mlsvc.EConflict {
					t.Errorf("fault at step %d: retry: %v", k, err)
				}
				wantBalance(t, s, u, op.one)
				wantAuditClean(t, s)
			}
			if cases == 0 {
				t.Fatalf("no fault fired: the adapter's Arm counts no steps of %s", op.name)
			}
			t.Logf("%s: %d faulted cases, audit clean after each", op.name, cases)
		})
	}
}
