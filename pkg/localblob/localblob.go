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
	"time"

	"mlsvc/pkg/httperr"
	"mlsvc/pkg/mlsvc"
)

// MaxTTL is the longest a signed URL stays valid, as for S3 here.
const MaxTTL = 15 * time.Minute

// Store keeps blobs under Dir and signs download URLs with Key.
type Store struct {
	dir    string
	key    []byte
	prefix string // URL path the Handler is mounted at, e.g. "/blobs/"
	now    func() time.Time
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
	return &Store{dir: dir, key: key, prefix: prefix, now: time.Now}, nil
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

// Put writes the blob atomically: readers see the old or the new content,
// never a partial file.
func (s *Store) Put(_ context.Context, key, _ string, body io.Reader) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return fmt.Errorf("write blob %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// Get opens the blob; ENotFound if absent.
func (s *Store) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "blob %s not found", key)
	}
	return f, err
}

// URL returns a root-relative URL served by Handler, valid for ttl (at most
// MaxTTL), that downloads key as an attachment named filename.
func (s *Store) URL(_ context.Context, key, filename string, ttl time.Duration) (string, error) {
	if _, err := s.path(key); err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > MaxTTL {
		ttl = MaxTTL
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
