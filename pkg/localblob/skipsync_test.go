package localblob

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// syncCounter is the os file system, counting fsyncs.
type syncCounter struct {
	osDisk
	n *int
}

func (d syncCounter) Sync(f *os.File) error {
	*d.n++
	return d.osDisk.Sync(f)
}

// TestSkipSync: Put fsyncs a blob before it returns, except for the keys
// SkipSync names, which are stored all the same.
func TestSkipSync(t *testing.T) {
	s, err := New(t.TempDir(), "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	var syncs int
	s.disk = syncCounter{n: &syncs}
	s.SkipSync(func(key string) bool { return strings.HasSuffix(key, "/input.json") })
	ctx := context.Background()
	for _, c := range []struct {
		key   string
		syncs int
	}{
		{"predictions/p1/input.json", 0},
		{"predictions/p1/result.json", 1},
		{"predictions/p2/input.json", 1},
		{"predictions/p2/result.csv", 2},
	} {
		if err := s.Put(ctx, c.key, "", strings.NewReader("content of "+c.key)); err != nil {
			t.Fatalf("Put(%s): %v", c.key, err)
		}
		if syncs != c.syncs {
			t.Errorf("after Put(%s): %d fsyncs, want %d", c.key, syncs, c.syncs)
		}
		rc, err := s.Get(ctx, c.key)
		if err != nil {
			t.Fatalf("Get(%s): %v", c.key, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "content of "+c.key {
			t.Errorf("Get(%s) = %q", c.key, b)
		}
	}
	entries, err := os.ReadDir(s.dir + "/predictions/p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("predictions/p1 holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}
