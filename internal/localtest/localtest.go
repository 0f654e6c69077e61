// Package localtest is the setup shared by the tests that run the domain on
// the local adapters: a SQLite store and local blobs in the test's temporary
// directory, and a user with money to spend.
package localtest

import (
	"context"
	"path/filepath"
	"testing"

	"mlsvc/pkg/localblob"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
)

// Open returns a SQLite store and local blobs (URL prefix /blobs/) in a new
// temporary directory of t. The store is closed when the test ends.
func Open(t testing.TB) (*sqlite.Store, *localblob.Store) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := localblob.New(filepath.Join(dir, "blobs"), "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	return db, blobs
}

// FundedUser registers Ann (username ann, password password1) on svc and
// tops her balance up to amount.
func FundedUser(t testing.TB, svc *mlsvc.Service, amount mlsvc.Cents) *mlsvc.User {
	t.Helper()
	ctx := context.Background()
	u, err := svc.Register(ctx, "Ann", "ann", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Balance, err = svc.TopUp(ctx, u.ID, amount); err != nil {
		t.Fatal(err)
	}
	return u
}
