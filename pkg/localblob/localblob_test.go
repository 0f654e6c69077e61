package localblob

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mlsvc/pkg/blobtest"
	"mlsvc/pkg/mlsvc"
)

func TestStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(dir, "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	mux := http.NewServeMux()
	mux.Handle("/blobs/", http.StripPrefix("/blobs/", s.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if err := s.Put(ctx, "predictions/p1/result.csv", "text/csv", strings.NewReader("a,b\n1,2\n")); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(ctx, "predictions/p1/result.csv")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "a,b\n1,2\n" {
		t.Errorf("Get = %q", data)
	}
	if _, err := s.Get(ctx, "predictions/none"); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("Get(absent) error = %v, want not found", err)
	}
	for _, key := range []string{"../etc/passwd", "/abs", "a/../../b", "", ".signing-key"} {
		if err := s.Put(ctx, key, "", strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want refused", key)
		}
	}

	u, err := s.URL(ctx, "predictions/p1/result.csv", "prediction-p1.csv", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	if exp := parsed.Query().Get("exp"); exp != "1800000900" {
		t.Errorf("exp = %s, want capped at 15 minutes (1800000900)", exp)
	}
	resp := fetch(t, srv.URL+u)
	if resp.StatusCode != 200 || resp.body != "a,b\n1,2\n" {
		t.Fatalf("signed URL: %d %q", resp.StatusCode, resp.body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=prediction-p1.csv` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q", ct)
	}

	tampered := []string{
		strings.Replace(u, "p1", "p2", 1),                  // another key
		strings.Replace(u, "exp=18", "exp=19", 1),          // a later expiry
		strings.Replace(u, "name=prediction", "name=x", 1), // another file name
		strings.Split(u, "&sig=")[0],                       // no signature
	}
	for _, bad := range tampered {
		if r := fetch(t, srv.URL+bad); r.StatusCode != 403 {
			t.Errorf("tampered URL %s: %d, want 403", bad, r.StatusCode)
		}
	}
	now = now.Add(16 * time.Minute)
	if r := fetch(t, srv.URL+u); r.StatusCode != 403 || !strings.Contains(r.body, "expired") {
		t.Errorf("expired URL: %d %s, want 403 expired", r.StatusCode, r.body)
	}

	// The key survives a restart, so URLs do too.
	s2, err := New(dir, "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	if string(s2.key) != string(s.key) {
		t.Error("signing key changed across reopen")
	}
}

type response struct {
	*http.Response
	body string
}

// fetch GETs u as a browser would. pkg/local's tests have get of the same
// shape, in their own package.
func fetch(t *testing.T, u string) response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

// TestBlobs runs the mlsvc.Blobs contract suite on a directory.
func TestBlobs(t *testing.T) {
	signedAt := time.Unix(1_800_000_000, 0)
	newStore := func(t *testing.T) *Store {
		s, err := New(t.TempDir(), "/blobs/")
		if err != nil {
			t.Fatal(err)
		}
		s.now = func() time.Time { return signedAt }
		return s
	}
	// failing returns a store on a disk whose calls fail with err after
	// the store was opened, as a disk that filled up or went read-only.
	failing := func(err syscall.Errno) func(t *testing.T) mlsvc.Blobs {
		return func(t *testing.T) mlsvc.Blobs {
			s := newStore(t)
			s.disk = failingDisk{err}
			return s
		}
	}
	blobtest.Run(t, func(t *testing.T) mlsvc.Blobs { return newStore(t) }, blobtest.Options{
		URLTTL: func(t *testing.T, u string) time.Duration {
			return time.Unix(blobtest.QueryInt(t, u, "exp"), 0).Sub(signedAt)
		},
		Down: map[string]func(t *testing.T) mlsvc.Blobs{
			"disk full":     failing(syscall.ENOSPC),
			"read-only":     failing(syscall.EROFS),
			"I/O error":     failing(syscall.EIO),
			"quota reached": failing(syscall.EDQUOT),
		},
	})
}

// failingDisk fails every call with err, as the kernel reports it.
type failingDisk struct{ err syscall.Errno }

func (d failingDisk) fail(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: d.err}
}
func (d failingDisk) MkdirAll(name string, _ fs.FileMode) error {
	return d.fail("mkdir", name)
}
func (d failingDisk) CreateTemp(dir, _ string) (*os.File, error) { return nil, d.fail("open", dir) }
func (d failingDisk) Rename(from, _ string) error                { return d.fail("rename", from) }
func (d failingDisk) Open(name string) (*os.File, error)         { return nil, d.fail("open", name) }
func (d failingDisk) Remove(name string) error                   { return d.fail("remove", name) }
func (d failingDisk) Sync(f *os.File) error                      { return d.fail("sync", f.Name()) }

// TestIOErrorsKeepTheirKind: only failures of the disk itself are
// EUnavailable; an absent blob stays ENotFound and other errors internal.
func TestIOErrorsKeepTheirKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, mlsvc.EUnavailable},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EROFS}, mlsvc.EUnavailable},
		{&fs.PathError{Op: "read", Path: "x", Err: syscall.EIO}, mlsvc.EUnavailable},
		{&fs.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}, mlsvc.EUnavailable},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, mlsvc.EInternal},
		{&fs.PathError{Op: "mkdir", Path: "x", Err: syscall.ENOTDIR}, mlsvc.EInternal},
	}
	for _, tt := range tests {
		if got := mlsvc.ErrorCode(ioError("put", "k", tt.err)); got != tt.want {
			t.Errorf("ioError(%v) code = %q, want %q", tt.err, got, tt.want)
		}
	}
	// Through the store: a real ENOTDIR (the blob directory replaced by a
	// file) is not mistaken for a missing blob or an outage.
	s, err := New(t.TempDir(), "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "predictions"), []byte("not a dir"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "predictions/p/result.csv", "", strings.NewReader("x")); mlsvc.ErrorCode(err) != mlsvc.EInternal {
		t.Errorf("Put under a file: %v (code %q), want an internal error", err, mlsvc.ErrorCode(err))
	}
}

// TestHandlerUnavailable: a download while the disk fails is a 503, not a
// 404 that would tell the user the result is gone.
func TestHandlerUnavailable(t *testing.T) {
	s, err := New(t.TempDir(), "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.URL(context.Background(), "predictions/p/result.csv", "r.csv", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s.disk = failingDisk{syscall.EIO}
	srv := httptest.NewServer(http.StripPrefix("/blobs/", s.Handler()))
	defer srv.Close()
	if r := fetch(t, srv.URL+u); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("download on a failing disk: %d %s, want 503", r.StatusCode, r.body)
	}
}
