package mlsvc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
)

// lyingStore is a real store whose ledger or predictions are doctored, as
// a bug or a hand edit would leave them.
type lyingStore struct {
	mlsvc.Store
	extra   []*mlsvc.LedgerEntry // appended to every user's ledger
	drop    mlsvc.EntryType      // entries of this type are hidden
	status  mlsvc.Status         // if set, every prediction reads with it
	balance mlsvc.Cents          // added to every user's balance
}

func (s *lyingStore) Transactions(ctx context.Context, userID string, page mlsvc.Page) ([]*mlsvc.LedgerEntry, string, error) {
	es, next, err := s.Store.Transactions(ctx, userID, page)
	var out []*mlsvc.LedgerEntry
	for _, e := range es {
		if e.Type != s.drop {
			out = append(out, e)
		}
	}
	if page.Cursor == "" {
		for _, e := range s.extra {
			if e.UserID == userID {
				out = append(out, e)
			}
		}
	}
	return out, next, err
}

func (s *lyingStore) Prediction(ctx context.Context, id string) (*mlsvc.Prediction, error) {
	p, err := s.Store.Prediction(ctx, id)
	if err == nil && s.status != "" {
		p.Status = s.status
	}
	return p, err
}

func (s *lyingStore) Users(ctx context.Context) ([]*mlsvc.User, error) {
	us, err := s.Store.Users(ctx)
	for _, u := range us {
		u.Balance += s.balance
	}
	return us, err
}

// TestAuditFindsCorruption: a clean store passes; each kind of corruption
// is reported with the user and the prediction it concerns.
func TestAuditFindsCorruption(t *testing.T) {
	ctx := context.Background()
	base, err := sqlite.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := base.CreateUser(ctx, &mlsvc.User{ID: "u1", Firstname: "A", Username: "ann", PasswordHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := base.AddBalance(ctx, "u1", 10_00); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"p1", "p2"} {
		p := &mlsvc.Prediction{ID: id, UserID: "u1", ModelID: "lr", Cost: 1_00, Rows: 1, CreatedAt: t0.Add(time.Duration(i) * time.Second)}
		if err := base.CreatePrediction(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := base.FailPrediction(ctx, "p2", "boom", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ms, err := mlsvc.Audit(ctx, base); err != nil || len(ms) != 0 {
		t.Fatalf("Audit of a clean store: %v, %v", ms, err)
	}
	entry := func(typ mlsvc.EntryType, amount mlsvc.Cents, pred string) *mlsvc.LedgerEntry {
		return &mlsvc.LedgerEntry{ID: "x", UserID: "u1", Type: typ, Amount: amount, PredictionID: pred, CreatedAt: t0}
	}
	tests := []struct {
		name  string
		store *lyingStore
		want  []string
	}{
		{"balance changed without an entry", &lyingStore{balance: 5}, []string{"user u1: balance 9.05 but the ledger sums to 9 "}},
		{"second charge", &lyingStore{extra: []*mlsvc.LedgerEntry{entry(mlsvc.EntryCharge, -1_00, "p1")}},
			[]string{"prediction p1: 2 charge entries", "balance 9 but the ledger sums to 8 "}},
		{"charge of no prediction", &lyingStore{extra: []*mlsvc.LedgerEntry{entry(mlsvc.EntryCharge, -1_00, "ghost")}},
			[]string{"prediction ghost: charged or refunded but the prediction does not exist"}},
		{"second refund", &lyingStore{extra: []*mlsvc.LedgerEntry{entry(mlsvc.EntryRefund, 1_00, "p2")}},
			[]string{"prediction p2: 2 refund entries"}},
		{"refund of a completed prediction", &lyingStore{extra: []*mlsvc.LedgerEntry{entry(mlsvc.EntryRefund, 1_00, "p1")}},
			[]string{"prediction p1: refunded but the prediction is pending"}},
		{"failed but not refunded", &lyingStore{status: mlsvc.StatusFailed},
			[]string{"prediction p1: the prediction is failed but was not refunded"}},
		{"prediction without a charge", &lyingStore{drop: mlsvc.EntryCharge},
			[]string{"prediction p1: the prediction has no charge entry", "prediction p2: 0 charge entries"}},
		{"wrong amount", &lyingStore{extra: []*mlsvc.LedgerEntry{entry(mlsvc.EntryTopUp, -3, "")}},
			[]string{"topup entry x has amount -0.03, not positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.store.Store = base
			ms, err := mlsvc.Audit(ctx, tt.store)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, m := range ms {
				lines = append(lines, m.String())
			}
			all := strings.Join(lines, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("Audit found:\n%s\nwant a finding with %q", all, w)
				}
			}
		})
	}
}
