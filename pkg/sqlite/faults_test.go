package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/sqlite"
	"mlsvc/pkg/storetest"
)

// TestFaults fails every money operation at each failpoint of its
// transaction, including after the commit; the audit stays clean.
func TestFaults(t *testing.T) {
	storetest.RunFaults(t, func(t *testing.T) (mlsvc.Store, storetest.Arm) {
		s := openFile(t, filepath.Join(t.TempDir(), "mlsvc.db"))
		arm := func(k int) (context.Context, func() bool) {
			var n, hit atomic.Int32
			ctx := sqlite.WithFailpoint(context.Background(), func(step string) error {
				if n.Add(1) == int32(k) {
					hit.Store(1)
					return errors.New("injected fault before step " + step)
				}
				return nil
			})
			return ctx, func() bool { return hit.Load() == 1 }
		}
		return s, arm
	})
}
