// Package storetest is the contract test suite of mlsvc.Store. Every
// implementation (the embedded SQLite store, the DynamoDB store) runs the
// same tests, so they keep the same rules: exact money, case-insensitive
// unique usernames, atomic charges and exactly-once refunds under
// concurrency, and stable newest-first pagination.
//
// It is a regular (non-test) package so that other packages' tests can
// import it:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) mlsvc.Store { return openEmptyStore(t) })
//	}
package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Run tests the stores returned by newStore against the contract of
// mlsvc.Store.
//
// newStore is called once per subtest. It must return an empty store and
// register its own cleanup with t.Cleanup. Subtests do not call t.Parallel,
// but several of them use the store from many goroutines at once.
//
// Besides what the interface documents, the suite fixes these rules:
//   - times round-trip at least to the millisecond (the suite uses
//     millisecond times) and compare with time.Time.Equal;
//   - Predictions orders equal created_at times by id, descending, so that
//     pages are deterministic;
//   - the last page of Predictions returns the cursor "", even when it is full;
//   - a malformed Predictions cursor is EInvalid (the cursor may come from a
//     client);
//   - AddBalance, CompletePrediction, FailPrediction and CancelPrediction of
//     an absent id are ENotFound; CreatePrediction for an absent user is ENotFound or
//     EInsufficient, and stores nothing.
func Run(t *testing.T, newStore func(t *testing.T) mlsvc.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s mlsvc.Store)
	}{
		{"CreateUser", testCreateUser},
		{"UserByUsernameCaseInsensitive", testUserByUsernameCaseInsensitive},
		{"UsernameUniqueCaseInsensitive", testUsernameUnique},
		{"DuplicateUserID", testDuplicateUserID},
		{"UserNotFound", testUserNotFound},
		{"AddBalance", testAddBalance},
		{"AddBalanceNotFound", testAddBalanceNotFound},
		{"PutModel", testPutModel},
		{"PutModelReplace", testPutModelReplace},
		{"CreateModelOnlyOnce", testCreateModelOnlyOnce},
		{"ModelNotFound", testModelNotFound},
		{"ModelsOrder", testModelsOrder},
		{"CreatePrediction", testCreatePrediction},
		{"CreatePredictionChargesExactly", testCreatePredictionChargesExactly},
		{"CreatePredictionInsufficient", testCreatePredictionInsufficient},
		{"CreatePredictionDuplicateID", testCreatePredictionDuplicateID},
		{"CreatePredictionUnknownUser", testCreatePredictionUnknownUser},
		{"PredictionRoundTrip", testPredictionRoundTrip},
		{"PredictionNotFound", testPredictionNotFound},
		{"LongKeysNotFound", testLongKeysNotFound},
		{"PredictionsPagination", testPredictionsPagination},
		{"PredictionsTiesOrderedByID", testPredictionsTies},
		{"PredictionsLastPageFull", testPredictionsLastPageFull},
		{"PredictionsEmpty", testPredictionsEmpty},
		{"PredictionsBadCursor", testPredictionsBadCursor},
		{"CompletePrediction", testCompletePrediction},
		{"FailPrediction", testFailPrediction},
		{"FailAfterComplete", testFailAfterComplete},
		{"FinishNotFound", testFinishNotFound},
		{"ConcurrentCreatePrediction", testConcurrentCreatePrediction},
		{"ConcurrentFailPrediction", testConcurrentFailPrediction},
		{"ConcurrentAddBalance", testConcurrentAddBalance},
		{"ConcurrentCreateUser", testConcurrentCreateUser},
		{"PendingPredictions", testPendingPredictions},
		{"CancelPrediction", testCancelPrediction},
		{"CancelFinal", testCancelFinal},
		{"ConcurrentCancel", testConcurrentCancel},
		{"WebhookURLRoundTrip", testWebhookURLRoundTrip},
		{"WebhookSecret", testWebhookSecret},
	}
	tests = append(tests, accessTests...)
	tests = append(tests, ledgerTests...)       // ledger.go
	tests = append(tests, webhookQueueTests...) // webhooks_queue.go
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore(t)) })
	}
}

// t0 is the base time of the fixtures: millisecond precision, with a
// non-zero millisecond part so that truncation to seconds shows.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func newUser(id, username string, balance mlsvc.Cents) *mlsvc.User {
	return &mlsvc.User{
		ID:           id,
		Firstname:    "First " + id,
		Username:     username,
		PasswordHash: "$2a$10$hash.of." + id,
		Balance:      balance,
		CreatedAt:    t0,
	}
}

func createUser(t *testing.T, s mlsvc.Store, id, username string, balance mlsvc.Cents) *mlsvc.User {
	t.Helper()
	u := newUser(id, username, balance)
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s, %q): %v", id, username, err)
	}
	return u
}

func newPrediction(id, userID string, cost mlsvc.Cents, created time.Time) *mlsvc.Prediction {
	return &mlsvc.Prediction{
		ID:      id,
		UserID:  userID,
		ModelID: "risk",
		Status:  mlsvc.StatusPending,
		Cost:    cost,
		Rows:    3,
		// Both kept for replays and views.
		InputBytes:  4_200_000,
		RequestHash: "c0ffee" + id,
		Delay:       12*time.Second + 500*time.Millisecond,
		CreatedAt:   created,
		UpdatedAt:   created,
	}
}

func createPrediction(t *testing.T, s mlsvc.Store, p *mlsvc.Prediction) {
	t.Helper()
	if err := s.CreatePrediction(t.Context(), p); err != nil {
		t.Fatalf("CreatePrediction(%s): %v", p.ID, err)
	}
}

func balance(t *testing.T, s mlsvc.Store, userID string) mlsvc.Cents {
	t.Helper()
	u, err := s.UserByID(t.Context(), userID)
	if err != nil {
		t.Fatalf("UserByID(%s): %v", userID, err)
	}
	return u.Balance
}

func getPrediction(t *testing.T, s mlsvc.Store, id string) *mlsvc.Prediction {
	t.Helper()
	p, err := s.Prediction(t.Context(), id)
	if err != nil {
		t.Fatalf("Prediction(%s): %v", id, err)
	}
	return p
}

// wantCode reports an error unless err has the code want ("" for no error).
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := mlsvc.ErrorCode(err); got != want {
		t.Errorf("%s: error code = %q (err: %v), want %q", what, got, err, want)
	}
}

// pendingPrediction creates user u1 (username) with 10.00 and its pending
// prediction p1 of cost, and checks the charge.
func pendingPrediction(t *testing.T, s mlsvc.Store, username string, cost mlsvc.Cents) *mlsvc.Prediction {
	t.Helper()
	createUser(t, s, "u1", username, 10_00)
	p := newPrediction("p1", "u1", cost, t0)
	createPrediction(t, s, p)
	wantBalance(t, s, "u1", 10_00-cost)
	return p
}

func wantBalance(t *testing.T, s mlsvc.Store, userID string, want mlsvc.Cents) {
	t.Helper()
	if got := balance(t, s, userID); got != want {
		t.Errorf("balance of %s = %d cents, want %d", userID, got, want)
	}
}

// checkUser, checkModel and checkPrediction compare a record read back with
// the one written.
var (
	checkUser       = checkRecord[mlsvc.User]
	checkModel      = checkRecord[mlsvc.CatalogEntry]
	checkPrediction = checkRecord[mlsvc.Prediction]
)

// checkRecord reports each field of got that differs from want's, one error
// a field: times as instants, an empty list as none. It walks the fields, so
// a field added to a record is held to its round trip at once.
func checkRecord[T any](t *testing.T, what string, got, want *T) {
	t.Helper()
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range g.NumField() {
		field := g.Type().Field(i).Name
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		switch gt, isTime := gf.(time.Time); {
		case isTime:
			if wt := wf.(time.Time); !gt.Equal(wt) {
				t.Errorf("%s: %s = %s, want %s", what, field,
					gt.UTC().Format(time.RFC3339Nano), wt.UTC().Format(time.RFC3339Nano))
			}
		case g.Field(i).Kind() == reflect.Slice && g.Field(i).Len() == 0 && w.Field(i).Len() == 0:
		case !reflect.DeepEqual(gf, wf):
			t.Errorf("%s: %s = %#v, want %#v", what, field, gf, wf)
		}
	}
}

// Users and balances.

func testCreateUser(t *testing.T, s mlsvc.Store) {
	want := newUser("u1", "Alice", 12_34)
	// A time in another zone must come back as the same instant.
	want.CreatedAt = t0.In(time.FixedZone("UTC+3", 3*60*60))
	if err := s.CreateUser(t.Context(), want); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.UserByID(t.Context(), "u1")
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, "UserByID", got, want)
	got, err = s.UserByUsername(t.Context(), "Alice")
	if err != nil {
		t.Fatalf("UserByUsername: %v", err)
	}
	checkUser(t, "UserByUsername", got, want)
}

func testUserByUsernameCaseInsensitive(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "Alice.Smith", 0)
	for _, name := range []string{"Alice.Smith", "alice.smith", "ALICE.SMITH", "aLiCe.SmItH"} {
		u, err := s.UserByUsername(t.Context(), name)
		if err != nil {
			t.Errorf("UserByUsername(%q): %v", name, err)
			continue
		}
		if u.ID != "u1" || u.Username != "Alice.Smith" {
			t.Errorf("UserByUsername(%q) = id %q username %q, want id %q username %q (as registered)",
				name, u.ID, u.Username, "u1", "Alice.Smith")
		}
	}
}

func testUsernameUnique(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "Bob", 5_00)
	for i, name := range []string{"Bob", "bob", "BOB"} {
		id := fmt.Sprintf("dup%d", i)
		err := s.CreateUser(t.Context(), newUser(id, name, 0))
		wantCode(t, fmt.Sprintf("CreateUser(%q) after %q", name, "Bob"), err, mlsvc.EConflict)
		_, err = s.UserByID(t.Context(), id)
		wantCode(t, fmt.Sprintf("UserByID(%s) of the rejected user", id), err, mlsvc.ENotFound)
	}
	u, err := s.UserByUsername(t.Context(), "bob")
	if err != nil {
		t.Fatalf("UserByUsername: %v", err)
	}
	checkUser(t, "first user after rejected duplicates", u, newUser("u1", "Bob", 5_00))
}

func testDuplicateUserID(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "carol", 1_00)
	err := s.CreateUser(t.Context(), newUser("u1", "dave", 0))
	wantCode(t, "CreateUser with a taken id", err, mlsvc.EConflict)
	wantBalance(t, s, "u1", 1_00)
	// The rejected user's username must not stay reserved.
	_, err = s.UserByUsername(t.Context(), "dave")
	wantCode(t, "UserByUsername of the rejected user", err, mlsvc.ENotFound)
	createUser(t, s, "u2", "dave", 0)
}

func testUserNotFound(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "erin", 0)
	_, err := s.UserByID(t.Context(), "nobody")
	wantCode(t, "UserByID(absent)", err, mlsvc.ENotFound)
	_, err = s.UserByUsername(t.Context(), "nobody")
	wantCode(t, "UserByUsername(absent)", err, mlsvc.ENotFound)
	_, err = s.UserByUsername(t.Context(), "erin2")
	wantCode(t, "UserByUsername(prefix match)", err, mlsvc.ENotFound)
}

func testAddBalance(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "frank", 0)
	var want mlsvc.Cents
	add := func(amount mlsvc.Cents) {
		t.Helper()
		want += amount
		got, err := s.AddBalance(t.Context(), "u1", amount)
		if err != nil {
			t.Fatalf("AddBalance(%d): %v", amount, err)
		}
		if got != want {
			t.Fatalf("AddBalance(%d) = %d, want %d", amount, got, want)
		}
	}
	// 0.01 a hundred times is exactly 1.00; 0.10 ten times too (binary
	// floats get both wrong).
	for range 100 {
		add(1)
	}
	for range 10 {
		add(10)
	}
	add(19_99)
	add(mlsvc.MaxTopUp)
	add(mlsvc.MaxTopUp)
	wantBalance(t, s, "u1", 2*mlsvc.MaxTopUp+2_00+19_99)
}

func testAddBalanceNotFound(t *testing.T, s mlsvc.Store) {
	_, err := s.AddBalance(t.Context(), "nobody", 1_00)
	wantCode(t, "AddBalance(absent user)", err, mlsvc.ENotFound)
	_, err = s.UserByID(t.Context(), "nobody")
	wantCode(t, "UserByID after AddBalance(absent user)", err, mlsvc.ENotFound)
}

// Models.

func riskModel() *mlsvc.CatalogEntry {
	return &mlsvc.CatalogEntry{
		ID:          "risk",
		Name:        "Risk Assessment Model",
		Cost:        10_00,
		Description: "Linear regression — «risk» score",
		File:        "models/risk.json",
		Format:      "linear",
		Features:    []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"},
		Metric:      "r2",
		Score:       0.8731234567890123,
		CreatedAt:   t0,
	}
}

func testPutModel(t *testing.T, s mlsvc.Store) {
	want := riskModel()
	if err := s.PutModel(t.Context(), want); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	got, err := s.Model(t.Context(), "risk")
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	checkModel(t, "Model", got, want)

	// A model without features or metric.
	bare := &mlsvc.CatalogEntry{ID: "bare", Name: "Bare", Cost: 1, File: "models/bare.json", Format: "linear", CreatedAt: t0}
	if err := s.PutModel(t.Context(), bare); err != nil {
		t.Fatalf("PutModel(bare): %v", err)
	}
	got, err = s.Model(t.Context(), "bare")
	if err != nil {
		t.Fatalf("Model(bare): %v", err)
	}
	if len(got.Features) != 0 {
		t.Errorf("Model(bare): Features = %q, want none", got.Features)
	}
	got.Features = nil
	checkModel(t, "Model(bare)", got, bare)
}

// testPutModelReplace, like testPredictionRoundTrip, reads the record back
// both ways, by its key and in the listing, since an adapter may store them
// apart (an index, a cache).
func testPutModelReplace(t *testing.T, s mlsvc.Store) {
	if err := s.PutModel(t.Context(), riskModel()); err != nil {
		t.Fatalf("PutModel: %v", err)
	}
	want := &mlsvc.CatalogEntry{
		ID: "risk", Name: "Risk Model v2", Cost: 12_50, Description: "retrained",
		File: "models/risk-v2.json", Format: "sklearn-trees", Features: []string{"a", "b"},
		Metric: "rmse", Score: 1.5, CreatedAt: t0.Add(time.Hour),
	}
	if err := s.PutModel(t.Context(), want); err != nil {
		t.Fatalf("PutModel(replacement): %v", err)
	}
	got, err := s.Model(t.Context(), "risk")
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	checkModel(t, "Model after replace", got, want)
	ms, err := s.Models(t.Context())
	if err != nil {
		t.Fatalf("Models: %v", err)
	}
	if len(ms) != 1 {
		t.Fatalf("Models after replace: %d models, want 1", len(ms))
	}
	checkModel(t, "Models()[0] after replace", ms[0], want)
}

func testModelNotFound(t *testing.T, s mlsvc.Store) {
	_, err := s.Model(t.Context(), "nope")
	wantCode(t, "Model(absent)", err, mlsvc.ENotFound)
}

func testModelsOrder(t *testing.T, s mlsvc.Store) {
	ms, err := s.Models(t.Context())
	if err != nil {
		t.Fatalf("Models of an empty store: %v", err)
	}
	if len(ms) != 0 {
		t.Fatalf("Models of an empty store: %d models, want 0", len(ms))
	}
	// Inserted out of order; cost 10 appears twice, so name breaks the tie.
	in := []struct {
		id, name string
		cost     mlsvc.Cents
	}{
		{"premium", "Premium Analysis Model", 20_00},
		{"risk", "Risk Assessment Model", 10_00},
		{"cheap", "Budget Model", 5},
		{"return", "Return Prediction Model", 15_00},
		{"alpha", "Alpha Model", 10_00},
	}
	for _, m := range in {
		err := s.PutModel(t.Context(), &mlsvc.CatalogEntry{
			ID: m.id, Name: m.name, Cost: m.cost, File: "models/" + m.id + ".json",
			Format: "linear", Features: []string{"x"}, CreatedAt: t0,
		})
		if err != nil {
			t.Fatalf("PutModel(%s): %v", m.id, err)
		}
	}
	ms, err = s.Models(t.Context())
	if err != nil {
		t.Fatalf("Models: %v", err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.ID)
	}
	want := []string{"cheap", "alpha", "risk", "return", "premium"}
	if !slices.Equal(got, want) {
		t.Errorf("Models order = %q, want %q (by cost, then name)", got, want)
	}
}

// Predictions: charging.

func testCreatePrediction(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "grace", 10_00)
	p := newPrediction("p1", "u1", 1_50, t0)
	if err := s.CreatePrediction(t.Context(), p); err != nil {
		t.Fatalf("CreatePrediction: %v", err)
	}
	wantBalance(t, s, "u1", 8_50)
	checkPrediction(t, "Prediction after create", getPrediction(t, s, "p1"), p)
}

func testCreatePredictionChargesExactly(t *testing.T, s mlsvc.Store) {
	// 1.00 covers seven predictions of 0.13 and leaves 0.09.
	createUser(t, s, "u1", "heidi", 1_00)
	want := mlsvc.Cents(1_00)
	for i := range 7 {
		want -= 13
		p := newPrediction(fmt.Sprintf("p%d", i), "u1", 13, t0.Add(time.Duration(i)*time.Second))
		createPrediction(t, s, p)
		wantBalance(t, s, "u1", want)
	}
	err := s.CreatePrediction(t.Context(), newPrediction("p7", "u1", 13, t0))
	wantCode(t, "CreatePrediction over the balance", err, mlsvc.EInsufficient)
	wantBalance(t, s, "u1", 9)
}

func testCreatePredictionInsufficient(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "ivan", 99)
	err := s.CreatePrediction(t.Context(), newPrediction("p1", "u1", 1_00, t0))
	wantCode(t, "CreatePrediction(cost 1.00, balance 0.99)", err, mlsvc.EInsufficient)
	wantBalance(t, s, "u1", 99)
	_, err = s.Prediction(t.Context(), "p1")
	wantCode(t, "Prediction of a rejected prediction", err, mlsvc.ENotFound)
	ps, _, err := s.Predictions(t.Context(), "u1", mlsvc.Page{Limit: 10})
	if err != nil {
		t.Fatalf("Predictions: %v", err)
	}
	if len(ps) != 0 {
		t.Errorf("Predictions after a rejected charge: %d, want 0", len(ps))
	}

	// A balance equal to the cost is enough, and leaves exactly zero.
	if _, err := s.AddBalance(t.Context(), "u1", 1); err != nil {
		t.Fatalf("AddBalance: %v", err)
	}
	createPrediction(t, s, newPrediction("p1", "u1", 1_00, t0))
	wantBalance(t, s, "u1", 0)
}

func testCreatePredictionDuplicateID(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "judy", 10_00)
	createUser(t, s, "u2", "mallory", 10_00)
	first := newPrediction("p1", "u1", 1_00, t0)
	createPrediction(t, s, first)

	err := s.CreatePrediction(t.Context(), newPrediction("p1", "u1", 1_00, t0.Add(time.Second)))
	wantCode(t, "CreatePrediction(same id, same user)", err, mlsvc.EConflict)
	wantBalance(t, s, "u1", 9_00)

	err = s.CreatePrediction(t.Context(), newPrediction("p1", "u2", 2_00, t0.Add(time.Second)))
	wantCode(t, "CreatePrediction(same id, other user)", err, mlsvc.EConflict)
	wantBalance(t, s, "u2", 10_00)

	checkPrediction(t, "Prediction after duplicates", getPrediction(t, s, "p1"), first)
	ps, _, err := s.Predictions(t.Context(), "u2", mlsvc.Page{Limit: 10})
	if err != nil {
		t.Fatalf("Predictions(u2): %v", err)
	}
	if len(ps) != 0 {
		t.Errorf("Predictions(u2) after a rejected duplicate: %d, want 0", len(ps))
	}
}

func testCreatePredictionUnknownUser(t *testing.T, s mlsvc.Store) {
	err := s.CreatePrediction(t.Context(), newPrediction("p1", "nobody", 1_00, t0))
	if code := mlsvc.ErrorCode(err); code != mlsvc.ENotFound && code != mlsvc.EInsufficient {
		t.Errorf("CreatePrediction(absent user): error code = %q (err: %v), want %q or %q",
			code, err, mlsvc.ENotFound, mlsvc.EInsufficient)
	}
	_, err = s.Prediction(t.Context(), "p1")
	wantCode(t, "Prediction of a rejected prediction", err, mlsvc.ENotFound)
}

// testPredictionRoundTrip, like testPutModelReplace, reads the record back
// both ways, by its key and in the listing (on DynamoDB, an index).
func testPredictionRoundTrip(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "niaj", 100_00)
	zone := time.FixedZone("UTC-7", -7*60*60)
	want := &mlsvc.Prediction{
		ID:        "0f8fad5b-d9cb-469f-a165-70867728950e",
		UserID:    "u1",
		ModelID:   "premium",
		Status:    mlsvc.StatusPending,
		Cost:      20_01,
		Rows:      10_000,
		Delay:     24*time.Second + 999*time.Millisecond,
		CreatedAt: t0.In(zone),
		UpdatedAt: t0.Add(time.Millisecond).In(zone),
	}
	createPrediction(t, s, want)
	checkPrediction(t, "Prediction", getPrediction(t, s, want.ID), want)

	ps, _, err := s.Predictions(t.Context(), "u1", mlsvc.Page{Limit: 10})
	if err != nil {
		t.Fatalf("Predictions: %v", err)
	}
	if len(ps) != 1 {
		t.Fatalf("Predictions: %d, want 1", len(ps))
	}
	checkPrediction(t, "Predictions()[0]", ps[0], want)
}

func testPredictionNotFound(t *testing.T, s mlsvc.Store) {
	_, err := s.Prediction(t.Context(), "nope")
	wantCode(t, "Prediction(absent)", err, mlsvc.ENotFound)
}

// Predictions: listing.

// listAll reads every page of userID's predictions and returns them with the
// size of each page.
func listAll(t *testing.T, s mlsvc.Store, userID string, limit int) ([]*mlsvc.Prediction, []int) {
	t.Helper()
	var all []*mlsvc.Prediction
	var sizes []int
	cursor := ""
	for {
		ps, next, err := s.Predictions(t.Context(), userID, mlsvc.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("Predictions(%s, limit %d, page %d): %v", userID, limit, len(sizes)+1, err)
		}
		if len(ps) > limit {
			t.Fatalf("Predictions(%s, limit %d, page %d): %d items, more than the limit",
				userID, limit, len(sizes)+1, len(ps))
		}
		all = append(all, ps...)
		sizes = append(sizes, len(ps))
		if next == "" {
			return all, sizes
		}
		if next == cursor || len(sizes) > 100 {
			t.Fatalf("Predictions(%s, limit %d): the cursor does not advance (%q)", userID, limit, next)
		}
		cursor = next
	}
}

func ids(ps []*mlsvc.Prediction) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func testPredictionsPagination(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "olivia", 100_00)
	createUser(t, s, "u2", "peggy", 100_00)
	want := map[string]*mlsvc.Prediction{}
	// Created out of time order, interleaved with another user's.
	for _, i := range []int{2, 0, 4, 1, 3} {
		p := newPrediction(fmt.Sprintf("a%d", i), "u1", 1_00, t0.Add(time.Duration(i)*time.Minute))
		p.Rows = i + 1
		createPrediction(t, s, p)
		want[p.ID] = p
		createPrediction(t, s, newPrediction(fmt.Sprintf("b%d", i), "u2", 1_00, t0.Add(time.Duration(i)*time.Minute+time.Second)))
	}

	got, sizes := listAll(t, s, "u1", 2)
	if !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Errorf("page sizes with limit 2 over 5 = %v, want [2 2 1]", sizes)
	}
	wantIDs := []string{"a4", "a3", "a2", "a1", "a0"}
	if !slices.Equal(ids(got), wantIDs) {
		t.Fatalf("paged ids = %q, want %q (newest first, no duplicates, no gaps, no other user's)", ids(got), wantIDs)
	}
	for _, p := range got {
		checkPrediction(t, "listed "+p.ID, p, want[p.ID])
	}

	// One page holding everything gives the same order.
	got, sizes = listAll(t, s, "u1", 100)
	if len(sizes) != 1 || !slices.Equal(ids(got), wantIDs) {
		t.Errorf("one page of 100: pages %v, ids %q; want 1 page, ids %q", sizes, ids(got), wantIDs)
	}
}

func testPredictionsTies(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "rupert", 100_00)
	// Five predictions share one created_at; one is older, one newer.
	for _, id := range []string{"t-c", "t-a", "t-e", "t-b", "t-d"} {
		createPrediction(t, s, newPrediction(id, "u1", 1, t0))
	}
	createPrediction(t, s, newPrediction("z-old", "u1", 1, t0.Add(-time.Millisecond)))
	createPrediction(t, s, newPrediction("a-new", "u1", 1, t0.Add(time.Millisecond)))
	want := []string{"a-new", "t-e", "t-d", "t-c", "t-b", "t-a", "z-old"}
	for _, limit := range []int{1, 2, 3, 100} {
		got, _ := listAll(t, s, "u1", limit)
		if !slices.Equal(ids(got), want) {
			t.Errorf("limit %d: ids = %q, want %q (equal times ordered by id, descending)", limit, ids(got), want)
		}
	}
}

func testPredictionsLastPageFull(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "sybil", 100_00)
	for i := range 4 {
		createPrediction(t, s, newPrediction(fmt.Sprintf("p%d", i), "u1", 1, t0.Add(time.Duration(i)*time.Second)))
	}
	got, sizes := listAll(t, s, "u1", 2)
	if !slices.Equal(sizes, []int{2, 2}) {
		t.Errorf("page sizes with limit 2 over 4 = %v, want [2 2] (no empty last page)", sizes)
	}
	if len(got) != 4 {
		t.Errorf("listed %d predictions, want 4", len(got))
	}
	_, sizes = listAll(t, s, "u1", 4)
	if !slices.Equal(sizes, []int{4}) {
		t.Errorf("page sizes with limit 4 over 4 = %v, want [4]", sizes)
	}
}

func testPredictionsEmpty(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "trent", 100_00)
	createUser(t, s, "u2", "victor", 100_00)
	createPrediction(t, s, newPrediction("p1", "u2", 1, t0))
	ps, next, err := s.Predictions(t.Context(), "u1", mlsvc.Page{Limit: 10})
	if err != nil {
		t.Fatalf("Predictions: %v", err)
	}
	if len(ps) != 0 || next != "" {
		t.Errorf("Predictions of a user without any = %d items, cursor %q; want 0 items, cursor \"\"", len(ps), next)
	}
}

func testPredictionsBadCursor(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "walter", 100_00)
	createPrediction(t, s, newPrediction("p1", "u1", 1, t0))
	for _, cursor := range []string{"not a cursor!", "%%%", "AAAA"} {
		_, _, err := s.Predictions(t.Context(), "u1", mlsvc.Page{Limit: 10, Cursor: cursor})
		wantCode(t, fmt.Sprintf("Predictions(cursor %q)", cursor), err, mlsvc.EInvalid)
	}
}

// Predictions: completing and failing.

func testCompletePrediction(t *testing.T, s mlsvc.Store) {
	p := pendingPrediction(t, s, "alice", 3_00)
	done := t0.Add(17*time.Second + 123*time.Millisecond)
	if err := s.CompletePrediction(t.Context(), "p1", done); err != nil {
		t.Fatalf("CompletePrediction: %v", err)
	}
	want := *p
	want.Status, want.UpdatedAt = mlsvc.StatusCompleted, done
	checkPrediction(t, "Prediction after complete", getPrediction(t, s, "p1"), &want)

	err := s.CompletePrediction(t.Context(), "p1", done.Add(time.Second))
	wantCode(t, "second CompletePrediction", err, mlsvc.EConflict)
	checkPrediction(t, "Prediction after second complete", getPrediction(t, s, "p1"), &want)
	wantBalance(t, s, "u1", 7_00)
}

func testFailPrediction(t *testing.T, s mlsvc.Store) {
	p := pendingPrediction(t, s, "bob", 3_33)

	failed := t0.Add(20 * time.Second)
	if err := s.FailPrediction(t.Context(), "p1", "model file missing", failed); err != nil {
		t.Fatalf("FailPrediction: %v", err)
	}
	wantBalance(t, s, "u1", 10_00)
	want := *p
	want.Status, want.Error, want.UpdatedAt = mlsvc.StatusFailed, "model file missing", failed
	checkPrediction(t, "Prediction after fail", getPrediction(t, s, "p1"), &want)

	err := s.FailPrediction(t.Context(), "p1", "again", failed.Add(time.Second))
	wantCode(t, "second FailPrediction", err, mlsvc.EConflict)
	wantBalance(t, s, "u1", 10_00)

	err = s.CompletePrediction(t.Context(), "p1", failed.Add(time.Second))
	wantCode(t, "CompletePrediction after fail", err, mlsvc.EConflict)
	checkPrediction(t, "Prediction after fail, fail, complete", getPrediction(t, s, "p1"), &want)
	wantBalance(t, s, "u1", 10_00)
}

func testFailAfterComplete(t *testing.T, s mlsvc.Store) {
	p := pendingPrediction(t, s, "carol", 2_50)
	done := t0.Add(15 * time.Second)
	if err := s.CompletePrediction(t.Context(), "p1", done); err != nil {
		t.Fatalf("CompletePrediction: %v", err)
	}
	err := s.FailPrediction(t.Context(), "p1", "late failure", done.Add(time.Second))
	wantCode(t, "FailPrediction after complete", err, mlsvc.EConflict)
	wantBalance(t, s, "u1", 7_50)
	want := *p
	want.Status, want.UpdatedAt = mlsvc.StatusCompleted, done
	checkPrediction(t, "Prediction after complete, fail", getPrediction(t, s, "p1"), &want)
}

func testFinishNotFound(t *testing.T, s mlsvc.Store) {
	err := s.CompletePrediction(t.Context(), "nope", t0)
	wantCode(t, "CompletePrediction(absent)", err, mlsvc.ENotFound)
	err = s.FailPrediction(t.Context(), "nope", "reason", t0)
	wantCode(t, "FailPrediction(absent)", err, mlsvc.ENotFound)
}

// Concurrency: real goroutines released at once.

// parallel runs f(0) … f(n-1) in n goroutines started together and returns
// their errors by index.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts errors by code, "" counting the successes.
func tally(errs []error) map[string]int {
	n := map[string]int{}
	for _, err := range errs {
		n[mlsvc.ErrorCode(err)]++
	}
	return n
}

// firstErrors describes up to three errors whose codes are not in skip.
func firstErrors(errs []error, skip ...string) string {
	var out []string
	for _, err := range errs {
		if err != nil && !slices.Contains(skip, mlsvc.ErrorCode(err)) && len(out) < 3 {
			out = append(out, err.Error())
		}
	}
	return strings.Join(out, "; ")
}

func testConcurrentCreatePrediction(t *testing.T, s mlsvc.Store) {
	const cost, covered, callers = 7_77, 5, 30
	createUser(t, s, "u1", "dave", covered*cost)
	createUser(t, s, "u2", "eve", 1_00) // a bystander
	errs := parallel(callers, func(i int) error {
		p := newPrediction(fmt.Sprintf("p%02d", i), "u1", cost, t0.Add(time.Duration(i)*time.Millisecond))
		err := s.CreatePrediction(t.Context(), p)
		return err
	})
	n := tally(errs)
	if n[""] != covered || n[mlsvc.EInsufficient] != callers-covered {
		t.Errorf("%d concurrent charges for %d covered: %d succeeded, %d insufficient, %v in all; want %d and %d (other errors: %s)",
			callers, covered, n[""], n[mlsvc.EInsufficient], n, covered, callers-covered,
			firstErrors(errs, mlsvc.EInsufficient))
	}
	wantBalance(t, s, "u1", 0)
	wantBalance(t, s, "u2", 1_00)
	listed, _ := listAll(t, s, "u1", 100)
	if len(listed) != covered {
		t.Errorf("stored %d predictions, want %d", len(listed), covered)
	}
	for i, err := range errs {
		id := fmt.Sprintf("p%02d", i)
		_, perr := s.Prediction(t.Context(), id)
		switch {
		case err == nil && perr != nil:
			t.Errorf("prediction %s was charged but Prediction: %v", id, perr)
		case err != nil && mlsvc.ErrorCode(perr) != mlsvc.ENotFound:
			t.Errorf("prediction %s was rejected (%v) but Prediction: err %v, want %q", id, err, perr, mlsvc.ENotFound)
		}
	}
}

func testConcurrentFailPrediction(t *testing.T, s mlsvc.Store) {
	const callers = 10
	createUser(t, s, "u1", "frank", 10_00)
	createPrediction(t, s, newPrediction("p1", "u1", 4_44, t0))
	errs := parallel(callers, func(i int) error {
		return s.FailPrediction(t.Context(), "p1", fmt.Sprintf("reason %d", i), t0.Add(time.Minute))
	})
	n := tally(errs)
	if n[""] != 1 || n[mlsvc.EConflict] != callers-1 {
		t.Errorf("%d concurrent FailPrediction: %d succeeded, %d conflicts, %v in all; want 1 and %d (other errors: %s)",
			callers, n[""], n[mlsvc.EConflict], n, callers-1, firstErrors(errs, mlsvc.EConflict))
	}
	wantBalance(t, s, "u1", 10_00)
	p := getPrediction(t, s, "p1")
	if p.Status != mlsvc.StatusFailed {
		t.Errorf("status = %q, want %q", p.Status, mlsvc.StatusFailed)
	}
	winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	if want := fmt.Sprintf("reason %d", winner); winner >= 0 && p.Error != want {
		t.Errorf("Error = %q, want the reason of the call that succeeded, %q", p.Error, want)
	}
}

func testConcurrentAddBalance(t *testing.T, s mlsvc.Store) {
	const callers = 20
	createUser(t, s, "u1", "grace", 0)
	got := make([]mlsvc.Cents, callers)
	var want mlsvc.Cents
	for i := range callers {
		want += mlsvc.Cents(i*101 + 1)
	}
	errs := parallel(callers, func(i int) error {
		var err error
		got[i], err = s.AddBalance(t.Context(), "u1", mlsvc.Cents(i*101+1))
		return err
	})
	if n := tally(errs); n[""] != callers {
		t.Fatalf("%d concurrent AddBalance: %v; want all to succeed (errors: %s)", callers, n, firstErrors(errs))
	}
	wantBalance(t, s, "u1", want)
	// Each call saw its own sum: the returned balances are distinct and the
	// largest is the total.
	slices.Sort(got)
	if len(slices.Compact(slices.Clone(got))) != callers || got[callers-1] != want {
		t.Errorf("returned balances %v: want %d distinct values, the largest %d", got, callers, want)
	}
}

func testConcurrentCreateUser(t *testing.T, s mlsvc.Store) {
	const callers = 10
	names := []string{"Heidi", "heidi", "HEIDI", "hEiDi"}
	errs := parallel(callers, func(i int) error {
		return s.CreateUser(t.Context(), newUser(fmt.Sprintf("u%d", i), names[i%len(names)], 0))
	})
	n := tally(errs)
	if n[""] != 1 || n[mlsvc.EConflict] != callers-1 {
		t.Fatalf("%d concurrent CreateUser of one name: %d succeeded, %d conflicts, %v in all; want 1 and %d (other errors: %s)",
			callers, n[""], n[mlsvc.EConflict], n, callers-1, firstErrors(errs, mlsvc.EConflict))
	}
	winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	u, err := s.UserByUsername(t.Context(), "heidi")
	if err != nil {
		t.Fatalf("UserByUsername: %v", err)
	}
	if want := fmt.Sprintf("u%d", winner); u.ID != want {
		t.Errorf("UserByUsername = %s, want the user that was created, %s", u.ID, want)
	}
}

// Pending predictions.

func testPendingPredictions(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "ivan", 100_00)
	createUser(t, s, "u2", "judy", 100_00)
	want := map[string]*mlsvc.Prediction{}
	for i, userID := range []string{"u1", "u2", "u1", "u2", "u1"} {
		p := newPrediction(fmt.Sprintf("p%d", i), userID, 1_00, t0.Add(time.Duration(i)*time.Second))
		createPrediction(t, s, p)
		want[p.ID] = p
	}
	if err := s.CompletePrediction(t.Context(), "p1", t0.Add(time.Minute)); err != nil {
		t.Fatalf("CompletePrediction: %v", err)
	}
	if err := s.FailPrediction(t.Context(), "p2", "boom", t0.Add(time.Minute)); err != nil {
		t.Fatalf("FailPrediction: %v", err)
	}
	delete(want, "p1")
	delete(want, "p2")

	ps, err := s.PendingPredictions(t.Context())
	if err != nil {
		t.Fatalf("PendingPredictions: %v", err)
	}
	got := ids(ps) // oldest first
	if wantIDs := []string{"p0", "p3", "p4"}; !slices.Equal(got, wantIDs) {
		t.Errorf("PendingPredictions = %q, want %q", got, wantIDs)
	}
	for _, p := range ps {
		if w := want[p.ID]; w != nil {
			checkPrediction(t, "pending "+p.ID, p, w)
		}
	}
}

// testLongKeysNotFound: ids and names far longer than any stored one (as a
// client may send) are simply not found, not a backend error.
func testLongKeysNotFound(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	long := strings.Repeat("x", 3000)
	checks := map[string]error{}
	_, checks["UserByID"] = s.UserByID(ctx, long)
	_, checks["UserByUsername"] = s.UserByUsername(ctx, long)
	_, checks["Model"] = s.Model(ctx, long)
	_, checks["Prediction"] = s.Prediction(ctx, long)
	for name, err := range checks {
		if got := mlsvc.ErrorCode(err); got != mlsvc.ENotFound {
			t.Errorf("%s(3000 bytes): %v (code %q), want %q", name, err, got, mlsvc.ENotFound)
		}
	}
}

// testCreateModelOnlyOnce: CreateModel never replaces; of concurrent
// creators exactly one wins.
func testCreateModelOnlyOnce(t *testing.T, s mlsvc.Store) {
	errs := parallel(10, func(i int) error {
		m := &mlsvc.CatalogEntry{ID: "risk", Name: fmt.Sprintf("Risk %d", i), Cost: mlsvc.Cents(100 + i), File: "models/risk.json",
			Format: "linear", Features: []string{"feature_0"}, CreatedAt: t0}
		return s.CreateModel(t.Context(), m)
	})
	if n := tally(errs); n[""] != 1 || n[mlsvc.EConflict] != 9 {
		t.Fatalf("10 concurrent CreateModel of one id: %v; want 1 success and 9 %s", n, mlsvc.EConflict)
	}
	first, err := s.Model(t.Context(), "risk")
	if err != nil {
		t.Fatal(err)
	}
	again := *first
	again.Name, again.Cost = "Replaced", 1
	wantCode(t, "CreateModel of a published id", s.CreateModel(t.Context(), &again), mlsvc.EConflict)
	if got, _ := s.Model(t.Context(), "risk"); got.Name != first.Name || got.Cost != first.Cost {
		t.Errorf("after a refused CreateModel: %s %s, want %s %s", got.Name, got.Cost, first.Name, first.Cost)
	}
}
