package mlsvc_test

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/localtest"
	"mlsvc/pkg/mlsvc"
)

// TestUserReadOverlappingPasswordChangeIsNotKept: a user read that started
// before a password change is not cached after it, so the old password
// generation cannot be served from the cache.
func TestUserReadOverlappingPasswordChangeIsNotKept(t *testing.T) {
	db, blobs := localtest.Open(t)
	svc := mlsvc.New(mlsvc.Config{Store: db, Blobs: blobs, Workflow: &starts{}, BcryptCost: bcrypt.MinCost, SoleWriter: true})
	u := localtest.FundedUser(t, svc, 1_00)
	if mlsvc.UserCacheRace(svc, u) {
		t.Fatal("a read that overlapped a password change was cached")
	}
}

// TestCachedBalanceDoesNotRefuse: the balance pre-check refuses on a fresh
// read only. A user authenticated (and cached) while short of funds, then
// credited elsewhere (`mlsvc credit`, another process on the same store),
// is served at once.
func TestCachedBalanceDoesNotRefuse(t *testing.T) {
	db, blobs := localtest.Open(t)
	svc := mlsvc.New(mlsvc.Config{Store: db, Blobs: blobs, Workflow: &starts{}, BcryptCost: bcrypt.MinCost, SoleWriter: true})
	if err := seedCatalog(t, svc); err != nil {
		t.Fatal(err)
	}
	u := localtest.FundedUser(t, svc, 5_00) // lr costs 10
	ctx := mlsvc.WithUserMemo(t.Context())
	if _, err := svc.AuthUser(ctx, u.ID); err != nil { // fills the cache
		t.Fatal(err)
	}
	other := mlsvc.New(mlsvc.Config{Store: db, Blobs: blobs, Workflow: &starts{}, BcryptCost: bcrypt.MinCost})
	if _, _, err := other.Credit(t.Context(), u.Username, 100_00); err != nil {
		t.Fatal(err)
	}
	ctx = mlsvc.WithUserMemo(t.Context())
	if got, err := svc.AuthUser(ctx, u.ID); err != nil || got.Balance != 5_00 {
		t.Fatalf("AuthUser: %v, %v; want the cached record (balance 5)", got, err)
	}
	if _, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "lr"}, []byte(row)); err != nil {
		t.Fatalf("a prediction the fresh balance (105) pays: %v", err)
	}
}

// TestUserCacheIsBounded: users authenticating by the thousand (many
// accounts, each signing in) never grow the cache past MaxCachedUsers.
func TestUserCacheIsBounded(t *testing.T) {
	for _, n := range []int{mlsvc.MaxCachedUsers, mlsvc.MaxCachedUsers + 1, 3*mlsvc.MaxCachedUsers + 7} {
		if got := mlsvc.CachedUsersAfter(n); got > mlsvc.MaxCachedUsers || got == 0 {
			t.Errorf("%d users cached: %d entries, want 1 to %d", n, got, mlsvc.MaxCachedUsers)
		}
	}
}

// seedCatalog publishes the built-in catalog.
func seedCatalog(t *testing.T, svc *mlsvc.Service) error {
	t.Helper()
	entries, err := catalog.Entries()
	if err != nil {
		return err
	}
	return svc.Seed(t.Context(), entries)
}
