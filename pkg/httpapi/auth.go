package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Auth identifies callers, the same way in the local server and in every
// Lambda function:
//
//   - Authorization: Bearer mlsk_… — an API key: one store read;
//   - Authorization: Bearer <session token> — its signature and expiry are
//     checked without the store; then one read of its user refuses tokens
//     issued before a password change;
//   - Authorization: Basic — a password sign-in (throttled, one slow hash).
//     Verified credentials are remembered for a short time, keyed by a
//     SHA-256 of the header (never the password), so a client polling a
//     prediction does not pay a slow hash per request; a remembered one
//     costs one read of its user, whose password generation must still be
//     the one verified, so a password change refuses the old password at
//     once in every process.
//
// Then the caller (the user, or the API key) passes the rate limiter.
type Auth struct {
	svc     *mlsvc.Service
	ttl     time.Duration
	limiter mlsvc.RateLimiter
	now     func() time.Time

	mu      sync.Mutex
	cache   map[[32]byte]cached
	flights map[[32]byte]*signInFlight // sign-ins running, by header hash (signin_flight.go)
}

type cached struct {
	userID  string
	gen     string // mlsvc.PasswordGen when verified
	expires time.Time
}

// maxCached bounds the cache; when full, expired entries are dropped and, if
// that is not enough, all of them.
const maxCached = 10_000

// NewAuth returns an Auth remembering verified Basic credentials for ttl
// (mlsvc.AuthCacheTTL; 0 disables the cache) and limiting each caller's
// requests with limiter (nil: no limit).
func NewAuth(svc *mlsvc.Service, ttl time.Duration, limiter mlsvc.RateLimiter) *Auth {
	return &Auth{svc: svc, ttl: ttl, limiter: limiter, now: time.Now, cache: map[[32]byte]cached{}, flights: map[[32]byte]*signInFlight{}}
}

var _ Authenticator = (*Auth)(nil)

// Authenticate implements Authenticator.
func (a *Auth) Authenticate(r *http.Request) (string, error) {
	caller, userID, err := a.identify(r)
	if err != nil {
		return "", err
	}
	if a.limiter != nil {
		if err := a.limiter.Allow(r.Context(), caller); err != nil {
			return "", err
		}
	}
	return userID, nil
}

// identify returns the rate-limited caller and the user of a request.
func (a *Auth) identify(r *http.Request) (caller, userID string, err error) {
	ctx := r.Context()
	header := r.Header.Get("Authorization")
	scheme, credentials, _ := strings.Cut(header, " ")
	credentials = strings.TrimSpace(credentials)
	switch {
	case strings.EqualFold(scheme, "Bearer") && strings.HasPrefix(credentials, mlsvc.APIKeyPrefix):
		k, err := a.svc.UserByAPIKey(ctx, credentials)
		if err != nil {
			return "", "", err
		}
		return "key:" + k.ID, k.UserID, nil
	case strings.EqualFold(scheme, "Bearer") && credentials != "":
		u, err := a.svc.UserByToken(ctx, credentials)
		if err != nil {
			return "", "", err
		}
		return "user:" + u.ID, u.ID, nil
	case strings.EqualFold(scheme, "Basic"):
		id, err := a.basic(r, header)
		return "user:" + id, id, err
	}
	return "", "", errMissingCredentials()
}

func errMissingCredentials() error {
	return mlsvc.Errorf(mlsvc.EUnauthorized, "authentication required: Authorization: Bearer <session token or API key>, or Basic")
}

func (a *Auth) basic(r *http.Request, header string) (string, error) {
	username, password, err := parseBasic(header)
	if err != nil {
		return "", err
	}
	key := sha256.Sum256([]byte(header))
	now := a.now()
	a.mu.Lock()
	c, hit := a.cache[key]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		u, err := a.svc.AuthUser(r.Context(), c.userID)
		switch {
		case err == nil && mlsvc.PasswordGen(u) == c.gen:
			return c.userID, nil
		case err != nil && mlsvc.ErrorCode(err) != mlsvc.ENotFound:
			return "", err
		}
		a.mu.Lock()
		delete(a.cache, key) // the password changed (or the user is gone): check again
		a.mu.Unlock()
	}
	// Requests with the same header while it is not cached wait for one
	// sign-in rather than each run their own (signin_flight.go).
	f, leader := a.joinSignIn(key)
	if !leader {
		if id, ok := f.wait(r.Context()); ok {
			return id, nil
		}
	} else {
		defer a.endSignIn(key, f)
	}
	u, err := a.svc.SignIn(r.Context(), username, password, ClientAddr(r))
	if err != nil {
		return "", err
	}
	if leader {
		f.userID = u.ID
	}
	if a.ttl > 0 {
		a.mu.Lock()
		if len(a.cache) >= maxCached {
			for k, v := range a.cache {
				if !now.Before(v.expires) {
					delete(a.cache, k)
				}
			}
			if len(a.cache) >= maxCached {
				clear(a.cache)
			}
		}
		a.cache[key] = cached{u.ID, mlsvc.PasswordGen(u), now.Add(a.ttl)}
		a.mu.Unlock()
	}
	return u.ID, nil
}

// ClientAddr is the address the request came from, as the throttles count
// it: the peer's IP (locally r.RemoteAddr; behind API Gateway its sourceIp,
// which the Lambda adapter puts there). X-Forwarded-For is not trusted.
func ClientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// parseBasic reads "Basic base64(username:password)" (the scheme
// case-insensitively, as RFC 7617 allows).
func parseBasic(header string) (username, password string, err error) {
	missing := errMissingCredentials()
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
