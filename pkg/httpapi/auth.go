package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"mlsvc/pkg/mlsvc"
)

// BasicAuth identifies callers by HTTP Basic credentials checked against the
// Service. Verified credentials are remembered for a short time, keyed by a
// SHA-256 of the header (never the password), so a client polling a
// prediction does not pay a slow password hash per request.
type BasicAuth struct {
	svc *mlsvc.Service
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	userID  string
	expires time.Time
}

// maxCached bounds the cache; when full, expired entries are dropped and, if
// that is not enough, all of them.
const maxCached = 10_000

// NewBasicAuth returns a BasicAuth remembering verified credentials for ttl
// (mlsvc.AuthCacheTTL in the local server; 0 disables the cache).
func NewBasicAuth(svc *mlsvc.Service, ttl time.Duration) *BasicAuth {
	return &BasicAuth{svc: svc, ttl: ttl, now: time.Now, cache: map[[32]byte]cached{}}
}

// Authenticate implements Authenticator.
func (b *BasicAuth) Authenticate(r *http.Request) (string, error) {
	header := r.Header.Get("Authorization")
	if _, _, err := parseBasic(header); err != nil {
		return "", err
	}
	key := sha256.Sum256([]byte(header))
	now := b.now()
	b.mu.Lock()
	c, hit := b.cache[key]
	b.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c.userID, nil
	}
	u, err := UserFromAuthorization(r.Context(), b.svc, header)
	if err != nil {
		return "", err
	}
	if b.ttl > 0 {
		b.mu.Lock()
		if len(b.cache) >= maxCached {
			for k, v := range b.cache {
				if !now.Before(v.expires) {
					delete(b.cache, k)
				}
			}
			if len(b.cache) >= maxCached {
				clear(b.cache)
			}
		}
		b.cache[key] = cached{u.ID, now.Add(b.ttl)}
		b.mu.Unlock()
	}
	return u.ID, nil
}

// UserFromAuthorization returns the user of an Authorization header value
// (HTTP Basic credentials), or EUnauthorized. The local middleware and the
// Lambda authorizer both identify callers with it.
func UserFromAuthorization(ctx context.Context, svc *mlsvc.Service, header string) (*mlsvc.User, error) {
	username, password, err := parseBasic(header)
	if err != nil {
		return nil, err
	}
	return svc.Authenticate(ctx, username, password)
}

// parseBasic reads "Basic base64(username:password)" (the scheme
// case-insensitively, as RFC 7617 allows).
func parseBasic(header string) (username, password string, err error) {
	missing := mlsvc.Errorf(mlsvc.EUnauthorized, "authentication required: HTTP Basic credentials")
	scheme, encoded, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", missing
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", missing
	}
	username, password, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", missing
	}
	return username, password, nil
}
