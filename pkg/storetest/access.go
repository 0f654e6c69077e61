package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// accessTests cover mlsvc.AccessStore: API keys, password changes and
// throttles. Each file of the suite lists its tests in a table of this shape
// (ledgerTests in ledger.go and webhookQueueTests in webhooks_queue.go too)
// that Run appends to its own.
var accessTests = []struct {
	name string
	test func(t *testing.T, s mlsvc.Store)
}{
	{"APIKeyRoundTrip", testAPIKeyRoundTrip},
	{"APIKeysListOwnOnly", testAPIKeysListOwnOnly},
	{"APIKeyDeleteEffectiveAtOnce", testAPIKeyDelete},
	{"APIKeyDeleteOthersNotFound", testAPIKeyDeleteOthers},
	{"APIKeyLimitConcurrent", testAPIKeyLimitConcurrent},
	{"APIKeyDuplicateID", testAPIKeyDuplicateID},
	{"SetPasswordHash", testSetPasswordHash},
	{"ThrottleAbsent", testThrottleAbsent},
	{"ClaimThrottleConditional", testClaimThrottle},
	{"ClaimThrottleConcurrentOneWins", testClaimThrottleConcurrent},
	{"ThrottleExpired", testThrottleExpired},
	{"AddThrottleConcurrent", testAddThrottleConcurrent},
	{"DeleteThrottle", testDeleteThrottle},
}

func newAPIKey(id, userID string, created time.Time) *mlsvc.APIKey {
	return &mlsvc.APIKey{
		ID: id, UserID: userID, Name: "key " + id, Prefix: "mlsk_" + id[:3],
		Hash: fmt.Sprintf("%064x", len(id)) + id, CreatedAt: created,
	}
}

func testAPIKeyRoundTrip(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "alice", 0)
	k := newAPIKey("ak_one", "u1", t0)
	if err := s.CreateAPIKey(ctx, k, 20); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	got, err := s.APIKey(ctx, "ak_one")
	if err != nil {
		t.Fatalf("APIKey: %v", err)
	}
	if *got != *k {
		t.Errorf("APIKey = %+v, want %+v", got, k)
	}
	used := t0.Add(90 * time.Second)
	if err := s.TouchAPIKey(ctx, "ak_one", used); err != nil {
		t.Fatalf("TouchAPIKey: %v", err)
	}
	if got, _ := s.APIKey(ctx, "ak_one"); !got.LastUsedAt.Equal(used) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
	}
	if err := s.TouchAPIKey(ctx, "ak_absent", used); err != nil {
		t.Errorf("TouchAPIKey(absent) = %v, want nil", err)
	}
	if _, err := s.APIKey(ctx, "ak_absent"); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("APIKey(absent) = %v, want ENotFound", err)
	}
}

func testAPIKeysListOwnOnly(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "alice", 0)
	createUser(t, s, "u2", "bob", 0)
	for i, id := range []string{"ak_b", "ak_a", "ak_c"} {
		if err := s.CreateAPIKey(ctx, newAPIKey(id, "u1", t0.Add(time.Duration(i)*time.Second)), 20); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAPIKey(ctx, newAPIKey("ak_bob", "u2", t0), 20); err != nil {
		t.Fatal(err)
	}
	keys, err := s.APIKeys(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	if fmt.Sprint(ids) != "[ak_b ak_a ak_c]" {
		t.Errorf("APIKeys(u1) = %v, want [ak_b ak_a ak_c] (oldest first)", ids)
	}
	none, err := s.APIKeys(ctx, "u3")
	if err != nil || len(none) != 0 {
		t.Errorf("APIKeys(no keys) = %v, %v; want empty", none, err)
	}
}

func testAPIKeyDelete(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "alice", 0)
	if err := s.CreateAPIKey(ctx, newAPIKey("ak_one", "u1", t0), 20); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAPIKey(ctx, "u1", "ak_one"); err != nil {
		t.Fatalf("DeleteAPIKey: %v", err)
	}
	if _, err := s.APIKey(ctx, "ak_one"); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("APIKey after delete = %v, want ENotFound at once", err)
	}
	if err := s.DeleteAPIKey(ctx, "u1", "ak_one"); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("second DeleteAPIKey = %v, want ENotFound", err)
	}
	// The deleted key frees its place under the limit.
	for i := range 2 {
		if err := s.CreateAPIKey(ctx, newAPIKey(fmt.Sprintf("ak_n%d", i), "u1", t0), 2); err != nil {
			t.Errorf("CreateAPIKey %d of 2 after a delete: %v", i+1, err)
		}
	}
}

func testAPIKeyDeleteOthers(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "alice", 0)
	createUser(t, s, "u2", "bob", 0)
	if err := s.CreateAPIKey(ctx, newAPIKey("ak_one", "u1", t0), 20); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAPIKey(ctx, "u2", "ak_one"); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("DeleteAPIKey by another user = %v, want ENotFound", err)
	}
	if _, err := s.APIKey(ctx, "ak_one"); err != nil {
		t.Errorf("the key is gone after another user's delete: %v", err)
	}
}

func testAPIKeyLimitConcurrent(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "alice", 0)
	const limit, tries = 5, 12
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			err := s.CreateAPIKey(ctx, newAPIKey(fmt.Sprintf("ak_%02d", i), "u1", t0), limit)
			switch mlsvc.ErrorCode(err) {
			case "":
				ok.Add(1)
			case mlsvc.EConflict:
				conflict.Add(1)
			default:
				t.Errorf("CreateAPIKey: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != limit || conflict.Load() != tries-limit {
		t.Errorf("%d created, %d conflicts; want %d and %d", ok.Load(), conflict.Load(), limit, tries-limit)
	}
	keys, _ := s.APIKeys(ctx, "u1")
	if len(keys) != limit {
		t.Errorf("%d keys stored, want %d", len(keys), limit)
	}
}

func testAPIKeyDuplicateID(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "alice", 0)
	if err := s.CreateAPIKey(ctx, newAPIKey("ak_one", "u1", t0), 20); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, newAPIKey("ak_one", "u1", t0), 20); mlsvc.ErrorCode(err) != mlsvc.EConflict {
		t.Errorf("duplicate CreateAPIKey = %v, want EConflict", err)
	}
	if keys, _ := s.APIKeys(ctx, "u1"); len(keys) != 1 {
		t.Errorf("%d keys after a duplicate, want 1", len(keys))
	}
}

func testSetPasswordHash(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	u := createUser(t, s, "u1", "alice", 0)
	if err := s.SetPasswordHash(ctx, "u1", "$2a$wrong", "$2a$new"); mlsvc.ErrorCode(err) != mlsvc.EConflict {
		t.Errorf("SetPasswordHash with a stale hash = %v, want EConflict", err)
	}
	if err := s.SetPasswordHash(ctx, "u1", u.PasswordHash, "$2a$new"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	got, err := s.UserByUsername(ctx, "ALICE")
	if err != nil || got.PasswordHash != "$2a$new" || got.Balance != 0 || got.Firstname != u.Firstname {
		t.Errorf("user after SetPasswordHash = %+v, %v", got, err)
	}
	if err := s.SetPasswordHash(ctx, "nobody", "a", "b"); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("SetPasswordHash(absent user) = %v, want ENotFound", err)
	}
}

// tNow is the base time of the throttle tests: the present, not t0, since
// DynamoDB expires items by their TTL attribute in real time and would
// delete a throttle stamped in 2025 in the middle of a test.
var tNow = time.Now().UTC().Truncate(time.Millisecond)

func testThrottleAbsent(t *testing.T, s mlsvc.Store) {
	got, err := s.Throttle(t.Context(), "signin:nobody", tNow)
	if err != nil || got.Count != 0 || !got.Until.IsZero() {
		t.Errorf("Throttle(absent) = %+v, %v; want a zero count", got, err)
	}
}

func testClaimThrottle(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	first := mlsvc.Throttle{Key: "signin:k", Count: 1, Until: tNow.Add(time.Second), Expires: tNow.Add(time.Hour)}
	if err := s.ClaimThrottle(ctx, first, 0, tNow); err != nil {
		t.Fatalf("ClaimThrottle(new): %v", err)
	}
	if err := s.ClaimThrottle(ctx, first, 0, tNow); mlsvc.ErrorCode(err) != mlsvc.EConflict {
		t.Errorf("ClaimThrottle with a stale count = %v, want EConflict", err)
	}
	got, err := s.Throttle(ctx, "signin:k", tNow)
	if err != nil || got.Count != 1 || !got.Until.Equal(first.Until) || !got.Expires.Equal(first.Expires) {
		t.Errorf("Throttle = %+v, %v; want %+v", got, err, first)
	}
	second := mlsvc.Throttle{Key: "signin:k", Count: 2, Until: tNow.Add(2 * time.Second), Expires: tNow.Add(time.Hour)}
	if err := s.ClaimThrottle(ctx, second, 1, tNow); err != nil {
		t.Fatalf("ClaimThrottle(1→2): %v", err)
	}
	if got, _ := s.Throttle(ctx, "signin:k", tNow); got.Count != 2 {
		t.Errorf("Count = %d, want 2", got.Count)
	}
}

func testClaimThrottleConcurrent(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			err := s.ClaimThrottle(ctx, mlsvc.Throttle{Key: "signin:race", Count: 1, Expires: tNow.Add(time.Hour)}, 0, tNow)
			switch mlsvc.ErrorCode(err) {
			case "":
				ok.Add(1)
			case mlsvc.EConflict:
			default:
				t.Errorf("ClaimThrottle: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Errorf("%d concurrent claims of one count succeeded, want 1", ok.Load())
	}
}

func testThrottleExpired(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	old := mlsvc.Throttle{Key: "signin:old", Count: 7, Until: tNow.Add(time.Minute), Expires: tNow.Add(time.Hour)}
	if err := s.ClaimThrottle(ctx, old, 0, tNow); err != nil {
		t.Fatal(err)
	}
	later := tNow.Add(2 * time.Hour)
	if got, err := s.Throttle(ctx, "signin:old", later); err != nil || got.Count != 0 {
		t.Errorf("Throttle after it expired = %+v, %v; want a zero count", got, err)
	}
	// An expired record counts as absent for a claim, and for AddThrottle.
	if err := s.ClaimThrottle(ctx, mlsvc.Throttle{Key: "signin:old", Count: 1, Expires: later.Add(time.Hour)}, 0, later); err != nil {
		t.Errorf("ClaimThrottle over an expired record: %v", err)
	}
	if _, err := s.AddThrottle(ctx, "addr:x", tNow.Add(time.Minute), tNow); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AddThrottle(ctx, "addr:x", later.Add(time.Minute), later); err != nil || n != 1 {
		t.Errorf("AddThrottle after expiry = %d, %v; want 1", n, err)
	}
}

func testAddThrottleConcurrent(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	const n = 25
	seen := make([]atomic.Bool, n+1)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := s.AddThrottle(ctx, "addr:1.2.3.4", tNow.Add(time.Minute), tNow)
			if err != nil || c < 1 || c > n {
				t.Errorf("AddThrottle = %d, %v", c, err)
				return
			}
			if seen[c].Swap(true) {
				t.Errorf("count %d returned twice", c)
			}
		})
	}
	wg.Wait()
	if got, _ := s.Throttle(ctx, "addr:1.2.3.4", tNow); got.Count != n {
		t.Errorf("Count = %d after %d concurrent adds", got.Count, n)
	}
}

func testDeleteThrottle(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	if err := s.ClaimThrottle(ctx, mlsvc.Throttle{Key: "signin:d", Count: 3, Expires: tNow.Add(time.Hour)}, 0, tNow); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteThrottle(ctx, "signin:d"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Throttle(ctx, "signin:d", tNow); got.Count != 0 {
		t.Errorf("Count after delete = %d, want 0", got.Count)
	}
	if err := s.DeleteThrottle(ctx, "signin:absent"); err != nil {
		t.Errorf("DeleteThrottle(absent) = %v", err)
	}
}
