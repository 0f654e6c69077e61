package httpapi

import (
	"context"
	"crypto/sha256"
	"net/http"
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
// (0 disables the cache).
func NewBasicAuth(svc *mlsvc.Service, ttl time.Duration) *BasicAuth {
	return &BasicAuth{svc: svc, ttl: ttl, now: time.Now, cache: map[[32]byte]cached{}}
}

// Authenticate implements Authenticator.
func (b *BasicAuth) Authenticate(r *http.Request) (string, error) {
	header := r.Header.Get("Authorization")
	username, password, ok := r.BasicAuth()
	if !ok {
		return "", mlsvc.Errorf(mlsvc.EUnauthorized, "authentication required: HTTP Basic credentials")
	}
	key := sha256.Sum256([]byte(header))
	now := b.now()
	b.mu.Lock()
	c, hit := b.cache[key]
	b.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c.userID, nil
	}
	u, err := b.svc.Authenticate(r.Context(), username, password)
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

// UserFromBasic checks a raw Authorization header value; the Lambda
// authorizer uses it.
func UserFromBasic(ctx context.Context, svc *mlsvc.Service, header string) (*mlsvc.User, error) {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	r.Header.Set("Authorization", header)
	username, password, ok := r.BasicAuth()
	if !ok {
		return nil, mlsvc.Errorf(mlsvc.EUnauthorized, "authentication required: HTTP Basic credentials")
	}
	return svc.Authenticate(ctx, username, password)
}
