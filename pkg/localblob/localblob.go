// Package localblob stores blobs as files in a local directory and serves
// them through signed, expiring URLs: the local stand-in for a private S3
// bucket with presigned GET URLs.
package localblob

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mlsvc/pkg/httperr"
	"mlsvc/pkg/mlsvc"
)

// Store keeps blobs under Dir and signs download URLs with Key.
type Store struct {
	dir    string
	key    []byte
	prefix string // URL path the Handler is mounted at, e.g. "/blobs/"
	now    func() time.Time
	disk   disk
	// lazy tells the keys whose Put need not be durable against a power
	// loss (see SkipSync); nil: none.
	lazy func(key string) bool
}

// disk is the part of the file system a Store uses: the os package, or in
// tests one that fails as a full, read-only or broken disk does.
type disk interface {
	MkdirAll(path string, perm fs.FileMode) error
	CreateTemp(dir, pattern string) (*os.File, error)
	Rename(from, to string) error
	Open(name string) (*os.File, error)
	Remove(name string) error
	Sync(f *os.File) error
}

type osDisk struct{}

func (osDisk) MkdirAll(path string, perm fs.FileMode) error {
	// A Put usually makes one directory in an existing one: one system
	// call, where os.MkdirAll first looks at the path and its parent.
	if err := os.Mkdir(path, perm); err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	return os.MkdirAll(path, perm)
}
func (osDisk) CreateTemp(dir, pattern string) (*os.File, error) {
	return os.CreateTemp(dir, pattern)
}
func (osDisk) Rename(from, to string) error       { return os.Rename(from, to) }
func (osDisk) Open(name string) (*os.File, error) { return os.Open(name) }
func (osDisk) Remove(name string) error           { return os.Remove(name) }
func (osDisk) Sync(f *os.File) error              { return f.Sync() }

// ioError wraps a file system failure of op on key. Failures of the disk
// itself rather than of this request (full, read-only, quota, I/O error)
// are mlsvc.EUnavailable, as a throttled or failing S3 is: retrying later
// may work, and the caller refunds rather than blames the input.
func ioError(op, key string, err error) error {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EROFS, syscall.EIO, syscall.EDQUOT} {
		if errors.Is(err, errno) {
			return &mlsvc.Error{Code: mlsvc.EUnavailable, Message: "blob storage is unavailable", Err: fmt.Errorf("localblob: %s %s: %w", op, key, err)}
		}
	}
	return fmt.Errorf("localblob: %s %s: %w", op, key, err)
}

var _ mlsvc.Blobs = (*Store)(nil)

// New returns a Store keeping blobs under dir, with URLs under prefix (such
// as "/blobs/") signed by key. The key lives in dir/.signing-key, created on
// first use, so URLs survive a restart.
func New(dir, prefix string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob dir: %w", err)
	}
	key, err := signingKey(filepath.Join(dir, ".signing-key"))
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, key: key, prefix: prefix, now: time.Now, disk: osDisk{}}, nil
}

func signingKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil && len(key) >= 32 {
		return key, nil
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return key, nil
}

// path maps a key to a file, refusing keys that would leave the directory.
func (s *Store) path(key string) (string, error) {
	if key == "" || !fs.ValidPath(key) || strings.HasPrefix(key, ".") || strings.Contains(key, "\\") {
		return "", mlsvc.Errorf(mlsvc.EInvalid, "invalid blob key %q", key)
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// SkipSync makes Put skip the fsync for the keys match reports. Such a blob
// survives the crash of the process once Put returns (it is in the
// operating system's page cache, renamed into place), but an operating
// system crash or power loss in the next seconds (ext4 writes data back
// within about 30 s) may leave it missing or empty. pkg/local uses it for
// prediction inputs: a charged prediction whose input is missing or
// unreadable is failed and refunded by the workflow, and the fsync is most
// of the cost of accepting a prediction.
func (s *Store) SkipSync(match func(key string) bool) { s.lazy = match }

// Put writes the blob atomically: readers see the old or the new content,
// never a partial file. The content is on disk (fsynced) when Put returns,
// unless SkipSync says otherwise for key.
func (s *Store) Put(_ context.Context, key, _ string, body io.Reader) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := s.disk.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return ioError("put", key, err)
	}
	f, err := s.disk.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return ioError("put", key, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			s.disk.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return ioError("write", key, err)
	}
	if s.lazy == nil || !s.lazy(key) {
		if err := s.disk.Sync(f); err != nil {
			f.Close()
			return ioError("sync", key, err)
		}
	}
	if err := f.Close(); err != nil {
		return ioError("close", key, err)
	}
	if err := s.disk.Rename(f.Name(), p); err != nil {
		return ioError("rename", key, err)
	}
	renamed = true
	return nil
}

// Get opens the blob; ENotFound if absent.
func (s *Store) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := s.disk.Open(p)
	// ENOTDIR: a prefix of key is a blob, so key itself cannot be one.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "blob %s not found", key)
	}
	if err != nil {
		return nil, ioError("get", key, err)
	}
	return f, nil
}

// Delete removes the blob; an absent one is not an error.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := s.disk.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return ioError("delete", key, err)
	}
	return nil
}

// URL returns a root-relative URL served by Handler, valid for ttl, that
// downloads key as an attachment named filename. A ttl <= 0 or above
// mlsvc.MaxURLTTL is mlsvc.MaxURLTTL, as in s3blob.
func (s *Store) URL(_ context.Context, key, filename string, ttl time.Duration) (string, error) {
	if _, err := s.path(key); err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > mlsvc.MaxURLTTL {
		ttl = mlsvc.MaxURLTTL
	}
	exp := strconv.FormatInt(s.now().Add(ttl).Unix(), 10)
	q := url.Values{"exp": {exp}, "name": {filename}}
	q.Set("sig", s.sign(key, exp, filename))
	return s.prefix + (&url.URL{Path: key}).EscapedPath() + "?" + q.Encode(), nil
}

func (s *Store) sign(key, exp, filename string) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%s\n%s", key, exp, filename)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Handler serves signed URLs. Mount it at the prefix given to New, with the
// prefix stripped. A missing, tampered or expired signature is a 403.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		q := r.URL.Query()
		exp, name, sig := q.Get("exp"), q.Get("name"), q.Get("sig")
		deny := func(why string) { httperr.Detail(w, http.StatusForbidden, why) }
		expUnix, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || sig == "" || !hmac.Equal([]byte(sig), []byte(s.sign(key, exp, name))) {
			deny("invalid signature")
			return
		}
		if s.now().Unix() > expUnix {
			deny("this download link has expired")
			return
		}
		rc, err := s.Get(r.Context(), key)
		if mlsvc.ErrorCode(err) == mlsvc.ENotFound {
			// Signed by us, so it existed: it is past its retention.
			httperr.Write(w, mlsvc.Errorf(mlsvc.EGone, "this file is no longer kept"))
			return
		}
		if err != nil {
			httperr.Write(w, err)
			return
		}
		defer rc.Close()
		ctype := "application/octet-stream"
		switch filepath.Ext(key) {
		case ".csv":
			ctype = "text/csv; charset=utf-8"
		case ".json":
			ctype = "application/json"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = io.Copy(w, rc)
	})
}

// Sweep removes what no one will read: temporary files of writes that never
// finished (a process killed mid-Put) older than tmpAge, and the blobs
// whose key orphan reports (a prediction's files with no prediction). It
// returns how many files it removed. Run it when no Put is in flight for
// longer than tmpAge, such as at start-up.
func (s *Store) Sweep(tmpAge time.Duration, orphan func(key string) bool) (int, error) {
	removed := 0
	cutoff := s.now().Add(-tmpAge)
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		stale := false
		if strings.HasPrefix(d.Name(), ".tmp-") {
			info, err := d.Info()
			stale = err == nil && info.ModTime().Before(cutoff)
		} else if !strings.HasPrefix(key, ".") {
			stale = orphan != nil && orphan(key)
		}
		if !stale {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, ioError("sweep", "", err)
	}
	return removed, nil
}
