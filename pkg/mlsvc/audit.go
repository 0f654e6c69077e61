package mlsvc

import (
	"context"
	"fmt"
)

// Mismatch is one finding of the audit: a rule of the ledger that the
// stored data breaks.
type Mismatch struct {
	UserID       string
	PredictionID string // "" when the finding is about the balance
	Problem      string
}

func (m Mismatch) String() string {
	if m.PredictionID == "" {
		return fmt.Sprintf("user %s: %s", m.UserID, m.Problem)
	}
	return fmt.Sprintf("user %s, prediction %s: %s", m.UserID, m.PredictionID, m.Problem)
}

// statusCanceled is the final status of a prediction canceled by its user;
// like a failed one, it is refunded.
const statusCanceled Status = "canceled"

// Audit checks the money rules on every user of store: the balance equals
// the sum of the user's ledger entries; every charge has exactly one
// prediction, of this user, costing what was charged, and at most one
// refund; every refund is of a failed or canceled prediction and gives back
// its cost; every failed or canceled prediction that was charged is
// refunded. It returns the mismatches, none when the store is clean. It
// reads every user and entry: an operator's command, not a request path.
func Audit(ctx context.Context, store Store) ([]Mismatch, error) {
	users, err := store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: list users: %w", err)
	}
	var found []Mismatch
	for _, u := range users {
		ms, err := auditUser(ctx, store, u)
		if err != nil {
			return nil, fmt.Errorf("audit: user %s: %w", u.ID, err)
		}
		found = append(found, ms...)
	}
	return found, nil
}

func auditUser(ctx context.Context, store Store, u *User) ([]Mismatch, error) {
	var found []Mismatch
	report := func(predictionID, format string, args ...any) {
		found = append(found, Mismatch{UserID: u.ID, PredictionID: predictionID, Problem: fmt.Sprintf(format, args...)})
	}
	entries, err := allEntries(ctx, store, u.ID)
	if err != nil {
		return nil, err
	}
	var sum Cents
	charges := map[string][]*LedgerEntry{}
	refunds := map[string][]*LedgerEntry{}
	var order []string // predictions in the order first seen, for a stable report
	for _, e := range entries {
		sum += e.Amount
		switch e.Type {
		case EntryCharge:
			if len(charges[e.PredictionID]) == 0 && len(refunds[e.PredictionID]) == 0 {
				order = append(order, e.PredictionID)
			}
			charges[e.PredictionID] = append(charges[e.PredictionID], e)
		case EntryRefund:
			if len(charges[e.PredictionID]) == 0 && len(refunds[e.PredictionID]) == 0 {
				order = append(order, e.PredictionID)
			}
			refunds[e.PredictionID] = append(refunds[e.PredictionID], e)
		case EntryTopUp, EntryCredit:
			if e.Amount <= 0 {
				report("", "%s entry %s has amount %s, not positive", e.Type, e.ID, e.Amount)
			}
		default:
			report("", "entry %s has unknown type %q", e.ID, e.Type)
		}
	}
	if sum != u.Balance {
		report("", "balance %s but the ledger sums to %s (%d entries)", u.Balance, sum, len(entries))
	}
	for _, id := range order {
		cs, rs := charges[id], refunds[id]
		if id == "" {
			report("", "%d charge and %d refund entries name no prediction", len(cs), len(rs))
			continue
		}
		p, err := store.Prediction(ctx, id)
		if ErrorCode(err) == ENotFound {
			report(id, "charged or refunded but the prediction does not exist")
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.UserID != u.ID {
			report(id, "charged to this user but the prediction is user %s's", p.UserID)
		}
		if len(cs) != 1 {
			report(id, "%d charge entries, want exactly 1", len(cs))
		}
		for _, c := range cs {
			if c.Amount != -p.Cost {
				report(id, "charged %s for a prediction that costs %s", -c.Amount, p.Cost)
			}
		}
		if len(rs) > 1 {
			report(id, "%d refund entries, want at most 1", len(rs))
		}
		for _, r := range rs {
			if r.Amount != p.Cost {
				report(id, "refunded %s for a prediction that costs %s", r.Amount, p.Cost)
			}
		}
		refundable := p.Status == StatusFailed || p.Status == statusCanceled
		switch {
		case len(rs) > 0 && !refundable:
			report(id, "refunded but the prediction is %s", p.Status)
		case len(rs) == 0 && refundable && p.Cost > 0:
			report(id, "the prediction is %s but was not refunded", p.Status)
		}
	}
	// Every prediction has its charge. The listing may lag a moment behind
	// writes (DynamoDB's index), which can only hide new predictions.
	page := Page{Limit: MaxPageLimit}
	for {
		ps, next, err := store.Predictions(ctx, u.ID, page)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if len(charges[p.ID]) == 0 {
				report(p.ID, "the prediction has no charge entry")
			}
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	return found, nil
}

// allEntries reads a user's whole ledger.
func allEntries(ctx context.Context, store Store, userID string) ([]*LedgerEntry, error) {
	var all []*LedgerEntry
	page := Page{Limit: MaxPageLimit}
	for {
		es, next, err := store.Transactions(ctx, userID, page)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
		if next == "" {
			return all, nil
		}
		page.Cursor = next
	}
}
