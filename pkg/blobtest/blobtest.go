// Package blobtest is the contract test suite of mlsvc.Blobs. Every
// implementation (local files, S3) runs the same tests, so they keep the
// same rules: round trips byte for byte, atomic overwrites, ENotFound for
// an absent key, idempotent deletes, URL lifetimes clamped to
// mlsvc.MaxURLTTL, and EUnavailable when the backend is down.
//
// It is a regular (non-test) package so that other packages' tests can
// import it:
//
//	func TestBlobs(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) mlsvc.Blobs { return openEmptyStore(t) }, blobtest.Options{
//			URLTTL: func(t *testing.T, url string) time.Duration { … },
//			Down:   map[string]func(t *testing.T) mlsvc.Blobs{"closed endpoint": …},
//		})
//	}
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Options holds what the suite cannot learn through mlsvc.Blobs. Both
// fields are required: an implementation that cannot provide them does not
// pass the suite.
type Options struct {
	// URLTTL returns how long the URL that Blobs.URL returned stays valid,
	// read from the URL itself (its expiry minus its signing time).
	URLTTL func(t *testing.T, url string) time.Duration
	// Down names ways the backend can be unavailable (a closed endpoint,
	// a throttling or 5xx server, a failing disk), each returning a Blobs
	// whose every Put, Get and Delete meets that failure.
	Down map[string]func(t *testing.T) mlsvc.Blobs
}

// Run tests the Blobs returned by newBlobs against the contract of
// mlsvc.Blobs. newBlobs is called once per subtest; it must return an
// empty store and register its own cleanup with t.Cleanup.
func Run(t *testing.T, newBlobs func(t *testing.T) mlsvc.Blobs, opts Options) {
	if opts.URLTTL == nil || len(opts.Down) == 0 {
		t.Fatal("blobtest.Run: Options.URLTTL and Options.Down are required")
	}
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newBlobs(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, newBlobs(t)) })
	t.Run("ConcurrentOverwrite", func(t *testing.T) { testConcurrentOverwrite(t, newBlobs(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newBlobs(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newBlobs(t)) })
	t.Run("URLTTL", func(t *testing.T) { testURLTTL(t, newBlobs(t), opts.URLTTL) })
	for name, down := range opts.Down {
		t.Run("Unavailable/"+name, func(t *testing.T) { testUnavailable(t, down(t)) })
	}
}

// binary is a body with every byte value, a NUL and a CR LF, which a
// text-mode or line-ending-converting store would mangle.
func binary(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return append(b, "\x00\r\n"...)
}

func put(t *testing.T, b mlsvc.Blobs, key string, body []byte) {
	t.Helper()
	if err := b.Put(context.Background(), key, "application/octet-stream", bytes.NewReader(body)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// QueryInt returns the integer query parameter param of rawURL (as the
// expiry or lifetime a signed URL carries), failing t if it has none.
func QueryInt(t *testing.T, rawURL, param string) int64 {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(u.Query().Get(param), 10, 64)
	if err != nil {
		t.Fatalf("URL %s: %s: %v", rawURL, param, err)
	}
	return n
}

// ReadAll returns the content of key in b, failing t if it cannot be read.
func ReadAll(t *testing.T, b mlsvc.Blobs, key string) []byte {
	t.Helper()
	rc, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data
}

func testRoundTrip(t *testing.T, b mlsvc.Blobs) {
	tests := []struct {
		key  string
		body []byte
	}{
		{mlsvc.CSVKey("p-1"), []byte("feature_0,prediction\n1,2.5\n")},
		{"models/m.json", []byte(`{"format":"linear"}`)},
		{"predictions/p-2/input.json", binary(1 << 20)},
		{"predictions/p-3/empty", []byte{}},
		{"predictions/a key with spaces+plus/é.csv", []byte("x")},
	}
	// The Puts come first, so a store that mixed keys up would show it.
	for _, tt := range tests {
		put(t, b, tt.key, tt.body)
	}
	for _, tt := range tests {
		if got := ReadAll(t, b, tt.key); !bytes.Equal(got, tt.body) {
			t.Errorf("Get(%q) = %d bytes %.40q, want %d bytes %.40q", tt.key, len(got), got, len(tt.body), tt.body)
		}
	}
	// A body read in small pieces, as a network stream arrives.
	want := binary(100_000)
	if err := b.Put(context.Background(), "predictions/p-4/stream", "application/octet-stream", &slowReader{r: bytes.NewReader(want)}); err != nil {
		t.Fatalf("Put(stream): %v", err)
	}
	if got := ReadAll(t, b, "predictions/p-4/stream"); !bytes.Equal(got, want) {
		t.Errorf("Get(stream) = %d bytes, want %d bytes as put", len(got), len(want))
	}
}

// slowReader returns at most 1000 bytes a Read and hides any Seek.
type slowReader struct{ r io.Reader }

func (s *slowReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 1000)]) }

func testOverwrite(t *testing.T, b mlsvc.Blobs) {
	key := "models/m.json"
	put(t, b, key, binary(5000))
	put(t, b, key, []byte(`{"v":2}`)) // shorter: no tail of the old body may remain
	if got, want := string(ReadAll(t, b, key)), `{"v":2}`; got != want {
		t.Errorf("Get after overwrite = %.60q, want %q", got, want)
	}
}

// testConcurrentOverwrite: readers racing writers of one key see one whole
// body or another, never a mix or a partial write.
func testConcurrentOverwrite(t *testing.T, b mlsvc.Blobs) {
	const writers, size = 4, 64 << 10
	key := "predictions/race/result.csv"
	bodies := make(map[string]bool)
	var all [][]byte
	for i := range writers {
		body := bytes.Repeat([]byte{byte('a' + i)}, size)
		bodies[string(body)] = true
		all = append(all, body)
	}
	put(t, b, key, all[0])
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range writers {
		wg.Go(func() {
			for range 5 {
				if err := b.Put(ctx, key, "text/csv", bytes.NewReader(all[i])); err != nil {
					errs <- fmt.Errorf("Put: %w", err)
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 10 {
				rc, err := b.Get(ctx, key)
				if err != nil {
					errs <- fmt.Errorf("Get during overwrites: %w", err)
					return
				}
				data, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errs <- fmt.Errorf("read during overwrites: %w", err)
					return
				}
				if !bodies[string(data)] {
					errs <- fmt.Errorf("Get during overwrites = %d bytes starting %.10q, not one of the bodies put", len(data), data)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := ReadAll(t, b, key); !bodies[string(got)] {
		t.Errorf("final Get = %d bytes, not one of the bodies put", len(got))
	}
}

func testNotFound(t *testing.T, b mlsvc.Blobs) {
	put(t, b, "predictions/p-1/result.csv", []byte("x"))
	for _, key := range []string{
		"predictions/none/result.csv",
		"predictions/p-1/result.json",  // a sibling of a stored key
		"predictions/p-1/result.csv/x", // under a stored key
		"predictions/p",                // a prefix of a stored key
	} {
		rc, err := b.Get(context.Background(), key)
		if err == nil {
			rc.Close()
			t.Errorf("Get(%q) of an absent key succeeded", key)
			continue
		}
		if got := mlsvc.ErrorCode(err); got != mlsvc.ENotFound {
			t.Errorf("Get(%q) code = %q (%v), want %q", key, got, err, mlsvc.ENotFound)
		}
	}
}

func testDelete(t *testing.T, b mlsvc.Blobs) {
	ctx := context.Background()
	keep, gone := "predictions/p-1/input.json", "predictions/p-1/result.csv"
	put(t, b, keep, []byte("keep"))
	put(t, b, gone, []byte("gone"))
	if err := b.Delete(ctx, gone); err != nil {
		t.Fatalf("Delete(%q): %v", gone, err)
	}
	if _, err := b.Get(ctx, gone); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("Get after Delete: error %v, want %s", err, mlsvc.ENotFound)
	}
	if got := string(ReadAll(t, b, keep)); got != "keep" {
		t.Errorf("Get(%q) after deleting its sibling = %q, want %q", keep, got, "keep")
	}
	for _, key := range []string{gone, "predictions/never/put"} {
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of an absent key: %v, want nil", key, err)
		}
	}
	// The key can be used again.
	put(t, b, gone, []byte("again"))
	if got := string(ReadAll(t, b, gone)); got != "again" {
		t.Errorf("Get after Delete and Put = %q, want %q", got, "again")
	}
}

func testURLTTL(t *testing.T, b mlsvc.Blobs, urlTTL func(*testing.T, string) time.Duration) {
	key := mlsvc.CSVKey("p-1")
	put(t, b, key, []byte("a,b\n"))
	max := mlsvc.MaxURLTTL
	tests := []struct {
		ttl, want time.Duration
	}{
		{time.Minute, time.Minute},
		{90 * time.Second, 90 * time.Second},
		{max, max},
		{max + time.Second, max},
		{time.Hour, max},
		{7 * 24 * time.Hour, max},
		{0, max},
		{-time.Second, max},
	}
	for _, tt := range tests {
		u, err := b.URL(context.Background(), key, "prediction-p-1.csv", tt.ttl)
		if err != nil {
			t.Errorf("URL(ttl %v): %v", tt.ttl, err)
			continue
		}
		if got := urlTTL(t, u); got != tt.want {
			t.Errorf("URL(ttl %v) is valid for %v, want %v", tt.ttl, got, tt.want)
		}
	}
	// The object need not exist yet: a URL can be handed out before the
	// result is written.
	if _, err := b.URL(context.Background(), "predictions/later/result.csv", "later.csv", time.Minute); err != nil {
		t.Errorf("URL of a key not yet put: %v", err)
	}
}

func testUnavailable(t *testing.T, down mlsvc.Blobs) {
	ctx := context.Background()
	key := "predictions/p-1/result.csv"
	check := func(op string, err error) {
		t.Helper()
		if got := mlsvc.ErrorCode(err); got != mlsvc.EUnavailable {
			t.Errorf("%s on a backend that is down: code %q (%v), want %q", op, got, err, mlsvc.EUnavailable)
			return
		}
		// The message may reach a user: it says what failed, not where.
		var e *mlsvc.Error
		if errors.As(err, &e) && (e.Message == "" || e.Err != nil && strings.Contains(e.Message, e.Err.Error())) {
			t.Errorf("%s: message %q is empty or shows the cause", op, e.Message)
		}
	}
	check("Put", down.Put(ctx, key, "text/csv", strings.NewReader("a,b\n")))
	rc, err := down.Get(ctx, key)
	if err == nil {
		rc.Close()
	}
	check("Get", err)
	check("Delete", down.Delete(ctx, key))
}
