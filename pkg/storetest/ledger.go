package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Ledger tests: every balance change appends exactly one entry in the same
// atomic step, so the balance always equals the sum of the entries. The
// table has the shape of every file's (accessTests in access.go too), which
// Run appends to its own.
var ledgerTests = []struct {
	name string
	test func(t *testing.T, s mlsvc.Store)
}{
	{"LedgerEveryOperationOneEntry", testLedgerEveryOperation},
	{"LedgerOpeningBalance", testLedgerOpeningBalance},
	{"LedgerConcurrentCharges", testLedgerConcurrentCharges},
	{"LedgerConcurrentRefunds", testLedgerConcurrentRefunds},
	{"LedgerConcurrentCredits", testLedgerConcurrentCredits},
	{"LedgerPaymentOnce", testLedgerPaymentOnce},
	{"LedgerCreditNotFound", testLedgerCreditNotFound},
	{"LedgerPaging", testLedgerPaging},
	{"LedgerBadCursor", testLedgerBadCursor},
	{"LedgerUsers", testLedgerUsers},
	{"AuditClean", testAuditClean},
}

// entries reads a user's whole ledger, newest first, in pages of limit.
func entries(t *testing.T, s mlsvc.Store, userID string, limit int) []*mlsvc.LedgerEntry {
	t.Helper()
	var all []*mlsvc.LedgerEntry
	page := mlsvc.Page{Limit: limit}
	for range 1000 {
		es, next, err := s.Transactions(t.Context(), userID, page)
		if err != nil {
			t.Fatalf("Transactions(%s, %+v): %v", userID, page, err)
		}
		if len(es) > limit {
			t.Fatalf("Transactions returned %d entries, limit %d", len(es), limit)
		}
		all = append(all, es...)
		if next == "" {
			return all
		}
		page.Cursor = next
	}
	t.Fatal("Transactions: more than 1000 pages")
	return nil
}

// wantLedger checks that the user's balance is the sum of their entries
// and returns the entries, newest first.
func wantLedger(t *testing.T, s mlsvc.Store, userID string) []*mlsvc.LedgerEntry {
	t.Helper()
	es := entries(t, s, userID, 1000)
	var sum mlsvc.Cents
	for _, e := range es {
		sum += e.Amount
		if e.UserID != userID {
			t.Errorf("entry %s of user %s in the ledger of %s", e.ID, e.UserID, userID)
		}
	}
	if b := balance(t, s, userID); b != sum {
		t.Errorf("balance of %s = %s, but its %d entries sum to %s", userID, b, len(es), sum)
	}
	return es
}

func checkEntry(t *testing.T, what string, e *mlsvc.LedgerEntry, typ mlsvc.EntryType, amount, after mlsvc.Cents, predictionID string) {
	t.Helper()
	if e.Type != typ || e.Amount != amount || e.BalanceAfter != after || e.PredictionID != predictionID {
		t.Errorf("%s: entry {type %s amount %s after %s prediction %q}, want {%s %s %s %q}",
			what, e.Type, e.Amount, e.BalanceAfter, e.PredictionID, typ, amount, after, predictionID)
	}
	if e.ID == "" || e.CreatedAt.IsZero() {
		t.Errorf("%s: entry without id or time: %+v", what, e)
	}
}

func testLedgerEveryOperation(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "heidi", 0)
	if es := wantLedger(t, s, "u1"); len(es) != 0 {
		t.Fatalf("a new user with no balance has %d entries, want 0", len(es))
	}
	// AddBalance stamps its entry with the current time, later than the
	// fixtures' times: check it alone, then start over with Credit.
	if _, err := s.AddBalance(ctx, "u1", 1_00); err != nil {
		t.Fatal(err)
	}
	es := wantLedger(t, s, "u1")
	if len(es) != 1 {
		t.Fatalf("after AddBalance: %d entries, want 1", len(es))
	}
	checkEntry(t, "AddBalance", es[0], mlsvc.EntryTopUp, 1_00, 1_00, "")

	createUser(t, s, "u2", "heidi2", 0)
	if _, err := s.Credit(ctx, &mlsvc.LedgerEntry{
		ID: "t1", UserID: "u2", Type: mlsvc.EntryTopUp, Amount: 10_00, CreatedAt: t0,
	}); err != nil {
		t.Fatal(err)
	}
	es = wantLedger(t, s, "u2")
	if len(es) != 1 {
		t.Fatalf("after a top-up: %d entries, want 1", len(es))
	}
	checkEntry(t, "top-up", es[0], mlsvc.EntryTopUp, 10_00, 10_00, "")

	createPrediction(t, s, newPrediction("p1", "u2", 3_50, t0.Add(time.Hour)))
	es = wantLedger(t, s, "u2")
	if len(es) != 2 {
		t.Fatalf("after a charge: %d entries, want 2", len(es))
	}
	checkEntry(t, "charge", es[0], mlsvc.EntryCharge, -3_50, 6_50, "p1")

	// A refused charge and a duplicate id change nothing and write nothing.
	err := s.CreatePrediction(ctx, newPrediction("p2", "u2", 100_00, t0.Add(2*time.Hour)))
	wantCode(t, "CreatePrediction(over the balance)", err, mlsvc.EInsufficient)
	err = s.CreatePrediction(ctx, newPrediction("p1", "u2", 1_00, t0.Add(2*time.Hour)))
	wantCode(t, "CreatePrediction(duplicate id)", err, mlsvc.EConflict)
	if es = wantLedger(t, s, "u2"); len(es) != 2 {
		t.Fatalf("after refused charges: %d entries, want 2", len(es))
	}

	if err := s.FailPrediction(ctx, "p1", "boom", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	es = wantLedger(t, s, "u2")
	if len(es) != 3 {
		t.Fatalf("after a refund: %d entries, want 3", len(es))
	}
	checkEntry(t, "refund", es[0], mlsvc.EntryRefund, 3_50, 10_00, "p1")
	err = s.FailPrediction(ctx, "p1", "again", t0.Add(4*time.Hour))
	wantCode(t, "FailPrediction(again)", err, mlsvc.EConflict)

	// Completing writes no entry.
	createPrediction(t, s, newPrediction("p3", "u2", 1_00, t0.Add(5*time.Hour)))
	if err := s.CompletePrediction(ctx, "p3", t0.Add(6*time.Hour)); err != nil {
		t.Fatal(err)
	}
	bal, err := s.Credit(ctx, &mlsvc.LedgerEntry{
		ID: "c1", UserID: "u2", Type: mlsvc.EntryCredit, Amount: 2_00, CreatedAt: t0.Add(7 * time.Hour),
	})
	if err != nil || bal != 11_00 {
		t.Fatalf("Credit = %s, %v; want 11.00", bal, err)
	}
	es = wantLedger(t, s, "u2")
	if len(es) != 5 {
		t.Fatalf("after a charge and a credit: %d entries, want 5", len(es))
	}
	checkEntry(t, "credit", es[0], mlsvc.EntryCredit, 2_00, 11_00, "")
	checkEntry(t, "second charge", es[1], mlsvc.EntryCharge, -1_00, 9_00, "p3")
	if es[0].ID != "c1" || !es[0].CreatedAt.Equal(t0.Add(7*time.Hour)) {
		t.Errorf("credit entry kept id %q time %v, want c1 %v", es[0].ID, es[0].CreatedAt, t0.Add(7*time.Hour))
	}
	_, err = s.Credit(ctx, &mlsvc.LedgerEntry{ID: "c2", UserID: "u2", Type: mlsvc.EntryCharge, Amount: 1, CreatedAt: t0})
	wantCode(t, "Credit(type charge)", err, mlsvc.EInvalid)
	_, err = s.Credit(ctx, &mlsvc.LedgerEntry{ID: "c3", UserID: "u2", Type: mlsvc.EntryCredit, Amount: 0, CreatedAt: t0})
	wantCode(t, "Credit(0)", err, mlsvc.EInvalid)
	if es = wantLedger(t, s, "u2"); len(es) != 5 {
		t.Fatalf("after refused credits: %d entries, want 5", len(es))
	}
}

func testLedgerOpeningBalance(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "ivan", 12_34)
	es := wantLedger(t, s, "u1")
	if len(es) != 1 {
		t.Fatalf("a user created with a balance has %d entries, want 1", len(es))
	}
	checkEntry(t, "opening", es[0], mlsvc.EntryCredit, 12_34, 12_34, "")
}

func testLedgerConcurrentCharges(t *testing.T, s mlsvc.Store) {
	const cost, covered, callers = 1_00, 5, 30
	createUser(t, s, "u1", "judy", 0)
	if _, err := s.AddBalance(t.Context(), "u1", covered*cost); err != nil {
		t.Fatal(err)
	}
	errs := parallel(callers, func(i int) error {
		return s.CreatePrediction(t.Context(), newPrediction(fmt.Sprintf("p%02d", i), "u1", cost, t0.Add(time.Duration(i)*time.Millisecond)))
	})
	n := tally(errs)
	if n[""] != covered || n[mlsvc.EInsufficient] != callers-covered {
		t.Errorf("%d concurrent charges for %d covered: %v; want %d successes (other errors: %s)",
			callers, covered, n, covered, firstErrors(errs, mlsvc.EInsufficient))
	}
	es := wantLedger(t, s, "u1")
	charges := 0
	afters := map[mlsvc.Cents]bool{}
	for _, e := range es {
		if e.Type == mlsvc.EntryCharge {
			charges++
			afters[e.BalanceAfter] = true
			if errs[predictionIndex(e.PredictionID)] != nil {
				t.Errorf("a charge entry for the refused prediction %s", e.PredictionID)
			}
		}
	}
	if charges != covered {
		t.Errorf("%d charge entries, want %d", charges, covered)
	}
	// Each charge saw the balance the one before left: the balances after
	// are 4.00, 3.00, …, 0.00, each once.
	for k := range covered {
		if !afters[mlsvc.Cents(k)*cost] {
			t.Errorf("no charge left the balance at %s; balances after: %v", mlsvc.Cents(k)*cost, afters)
		}
	}
	wantAuditClean(t, s)
}

func predictionIndex(id string) int {
	var i int
	fmt.Sscanf(id, "p%02d", &i)
	return i
}

func testLedgerConcurrentRefunds(t *testing.T, s mlsvc.Store) {
	const callers = 10
	createUser(t, s, "u1", "mallory", 5_00)
	createPrediction(t, s, newPrediction("p1", "u1", 2_00, t0))
	createPrediction(t, s, newPrediction("p2", "u1", 1_00, t0.Add(time.Millisecond)))
	// Refunds of p1 race each other and a refund of p2.
	errs := parallel(callers+1, func(i int) error {
		if i == callers {
			return s.FailPrediction(t.Context(), "p2", "other", t0.Add(time.Minute))
		}
		return s.FailPrediction(t.Context(), "p1", "boom", t0.Add(time.Minute))
	})
	if errs[callers] != nil {
		t.Errorf("FailPrediction(p2): %v", errs[callers])
	}
	if n := tally(errs[:callers]); n[""] != 1 || n[mlsvc.EConflict] != callers-1 {
		t.Errorf("%d concurrent refunds of p1: %v; want 1 success (other errors: %s)", callers, n, firstErrors(errs, mlsvc.EConflict))
	}
	es := wantLedger(t, s, "u1")
	refunds := map[string]int{}
	for _, e := range es {
		if e.Type == mlsvc.EntryRefund {
			refunds[e.PredictionID]++
		}
	}
	if refunds["p1"] != 1 || refunds["p2"] != 1 {
		t.Errorf("refund entries %v, want one each for p1 and p2", refunds)
	}
	wantBalance(t, s, "u1", 5_00)
	wantAuditClean(t, s)
}

func testLedgerConcurrentCredits(t *testing.T, s mlsvc.Store) {
	const callers = 20
	createUser(t, s, "u1", "niaj", 0)
	errs := parallel(callers, func(i int) error {
		if i%2 == 0 {
			_, err := s.AddBalance(t.Context(), "u1", 1)
			return err
		}
		_, err := s.Credit(t.Context(), &mlsvc.LedgerEntry{
			ID: fmt.Sprintf("c%02d", i), UserID: "u1", Type: mlsvc.EntryCredit, Amount: 10, CreatedAt: t0.Add(time.Duration(i) * time.Millisecond),
		})
		return err
	})
	if n := tally(errs); n[""] != callers {
		t.Fatalf("%d concurrent credits: %v (%s)", callers, n, firstErrors(errs))
	}
	es := wantLedger(t, s, "u1")
	if len(es) != callers {
		t.Errorf("%d entries, want %d", len(es), callers)
	}
	wantBalance(t, s, "u1", callers/2*1+callers/2*10)
	seen := map[mlsvc.Cents]bool{}
	for _, e := range es {
		if seen[e.BalanceAfter] {
			t.Errorf("two entries left the balance at %s: balance_after is not exact", e.BalanceAfter)
		}
		seen[e.BalanceAfter] = true
	}
}

func testLedgerPaymentOnce(t *testing.T, s mlsvc.Store) {
	const callers = 10
	createUser(t, s, "u1", "olivia", 0)
	errs := parallel(callers, func(i int) error {
		_, err := s.Credit(t.Context(), &mlsvc.LedgerEntry{
			ID: fmt.Sprintf("e%02d", i), UserID: "u1", Type: mlsvc.EntryTopUp, Amount: 25_00,
			PaymentID: "cs_test_1", CreatedAt: t0,
		})
		return err
	})
	if n := tally(errs); n[""] != 1 || n[mlsvc.EConflict] != callers-1 {
		t.Errorf("%d concurrent credits of one payment: %v; want 1 success and %d conflicts (%s)",
			callers, n, callers-1, firstErrors(errs, mlsvc.EConflict))
	}
	es := wantLedger(t, s, "u1")
	if len(es) != 1 || es[0].PaymentID != "cs_test_1" || es[0].Amount != 25_00 {
		t.Errorf("entries %+v, want one top-up of 25.00 for cs_test_1", es)
	}
	// Another payment credits again.
	if _, err := s.Credit(t.Context(), &mlsvc.LedgerEntry{
		ID: "e99", UserID: "u1", Type: mlsvc.EntryTopUp, Amount: 1_00, PaymentID: "cs_test_2", CreatedAt: t0,
	}); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, s, "u1", 26_00)
}

func testLedgerCreditNotFound(t *testing.T, s mlsvc.Store) {
	_, err := s.Credit(t.Context(), &mlsvc.LedgerEntry{ID: "c1", UserID: "nobody", Type: mlsvc.EntryCredit, Amount: 1_00, CreatedAt: t0})
	wantCode(t, "Credit(absent user)", err, mlsvc.ENotFound)
	if es := entries(t, s, "nobody", 10); len(es) != 0 {
		t.Errorf("absent user has %d entries", len(es))
	}
}

func testLedgerPaging(t *testing.T, s mlsvc.Store) {
	const n = 23
	createUser(t, s, "u1", "peggy", 0)
	createUser(t, s, "u2", "rupert", 0)
	for i := range n {
		// Some entries share a time: ties are ordered by id, descending.
		at := t0.Add(time.Duration(i/2) * time.Second)
		if _, err := s.Credit(t.Context(), &mlsvc.LedgerEntry{
			ID: fmt.Sprintf("e%02d", i), UserID: "u1", Type: mlsvc.EntryCredit, Amount: 1, CreatedAt: at,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddBalance(t.Context(), "u2", 5); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 4, 10, 23, 100} {
		es := entries(t, s, "u1", limit)
		if len(es) != n {
			t.Fatalf("limit %d: %d entries, want %d", limit, len(es), n)
		}
		for i, e := range es {
			if want := fmt.Sprintf("e%02d", n-1-i); e.ID != want {
				t.Fatalf("limit %d: entry %d is %s, want %s (newest first, ties by id descending)", limit, i, e.ID, want)
			}
		}
	}
	// A full last page has no cursor.
	es, next, err := s.Transactions(t.Context(), "u2", mlsvc.Page{Limit: 1})
	if err != nil || len(es) != 1 || next != "" {
		t.Errorf("Transactions(u2, limit 1) = %d entries, cursor %q, %v; want 1 and no cursor", len(es), next, err)
	}
	// A cursor of another user's ledger is refused, not followed.
	_, cur, err := s.Transactions(t.Context(), "u1", mlsvc.Page{Limit: 2})
	if err != nil || cur == "" {
		t.Fatalf("Transactions(u1, 2): cursor %q, %v", cur, err)
	}
	es, _, err = s.Transactions(t.Context(), "u2", mlsvc.Page{Limit: 10, Cursor: cur})
	if err == nil {
		for _, e := range es {
			if e.UserID != "u2" {
				t.Errorf("u2's ledger with u1's cursor shows entry %s of %s", e.ID, e.UserID)
			}
		}
	} else {
		wantCode(t, "Transactions(another user's cursor)", err, mlsvc.EInvalid)
	}
}

func testLedgerBadCursor(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "sybil", 1_00)
	for _, c := range []string{"!", "bm90IGEgY3Vyc29y", "e30", "eyJ1c2VyX2lkIjoidTEifQ"} {
		_, _, err := s.Transactions(t.Context(), "u1", mlsvc.Page{Cursor: c})
		wantCode(t, fmt.Sprintf("Transactions(cursor %q)", c), err, mlsvc.EInvalid)
	}
}

func testLedgerUsers(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "trent", 0)
	createUser(t, s, "u2", "victor", 3_00)
	us, err := s.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]mlsvc.Cents{}
	for _, u := range us {
		got[u.ID] = u.Balance
	}
	if len(us) != 2 || got["u1"] != 0 || got["u2"] != 3_00 {
		t.Errorf("Users = %v, want u1 0.00 and u2 3.00", got)
	}
}

func testAuditClean(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "walter", 0)
	createUser(t, s, "u2", "wendy", 9_00)
	if _, err := s.AddBalance(ctx, "u1", 10_00); err != nil {
		t.Fatal(err)
	}
	createPrediction(t, s, newPrediction("p1", "u1", 1_00, t0))
	createPrediction(t, s, newPrediction("p2", "u1", 2_00, t0.Add(time.Second)))
	createPrediction(t, s, newPrediction("p3", "u2", 3_00, t0.Add(2*time.Second)))
	if err := s.CompletePrediction(ctx, "p1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.FailPrediction(ctx, "p2", "boom", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantAuditClean(t, s)
}

// wantAuditClean runs mlsvc.Audit and fails on any mismatch.
func wantAuditClean(t *testing.T, s mlsvc.Store) {
	t.Helper()
	ms, err := mlsvc.Audit(context.WithoutCancel(t.Context()), s)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	for _, m := range ms {
		t.Errorf("Audit: %s", m)
	}
}
