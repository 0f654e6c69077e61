package mlsvc

import (
	"context"
	"time"
)

// The limits of access (API keys, session tokens, sign-in throttling),
// shared by both runtimes and stated in the README.
const (
	// MaxAPIKeys bounds the API keys of one user.
	MaxAPIKeys = 20
	// APIKeyTouchInterval is how often a key's last_used_at is written at
	// most: a busy key costs one write a minute, not one per request.
	APIKeyTouchInterval = time.Minute
	// TokenTTL is the lifetime of a session token.
	TokenTTL = time.Hour
	// SignInFreeFailures is how many consecutive failed sign-ins of one
	// username are free; each further one doubles the wait before the next
	// attempt, from one second up to SignInMaxBackoff.
	SignInFreeFailures = 5
	SignInMaxBackoff   = 15 * time.Minute
	// SignInForget is how long after its last wait a username's failures
	// are forgotten.
	SignInForget = time.Hour
)

// APIKey is a user's key for programs. The key itself is shown once, when
// it is created; only its SHA-256 (Hash) is kept.
type APIKey struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string // the first characters of the key, to tell keys apart
	Hash       string // hex SHA-256 of the key
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

// Throttle counts events under a key: the consecutive failed sign-ins of
// a username, or the events of one client address or caller in a window.
type Throttle struct {
	Key   string
	Count int
	// Until is when the next attempt is allowed (sign-in back-off).
	Until time.Time
	// Expires is when the record may be forgotten (DynamoDB's TTL).
	Expires time.Time
}

// AccessStore is the part of Store that keeps API keys, password changes
// and throttles. Errors as Store's.
type AccessStore interface {
	// CreateAPIKey stores k unless its user has max keys already
	// (EConflict) or k.ID exists (EConflict).
	CreateAPIKey(ctx context.Context, k *APIKey, max int) error
	// APIKey returns the key with id, or ENotFound. It reads the latest
	// write: a deleted key is not found at once.
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// APIKeys lists a user's keys, oldest first.
	APIKeys(ctx context.Context, userID string) ([]*APIKey, error)
	// DeleteAPIKey deletes the user's key id: ENotFound if there is no such
	// key of that user.
	DeleteAPIKey(ctx context.Context, userID, id string) error
	// TouchAPIKey sets the key's LastUsedAt; an absent key is not an error.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// SetPasswordHash replaces the user's password hash if it is still
	// oldHash: EConflict if it changed meanwhile, ENotFound for no user.
	SetPasswordHash(ctx context.Context, userID, oldHash, newHash string) error

	// Throttle returns the throttle of key; a zero Throttle (Count 0) when
	// there is none or it has expired by now.
	Throttle(ctx context.Context, key string, now time.Time) (Throttle, error)
	// ClaimThrottle stores t if the stored count (0 for none or expired) is
	// still prev, in one conditional write: EConflict otherwise.
	ClaimThrottle(ctx context.Context, t Throttle, prev int, now time.Time) error
	// AddThrottle adds one to the count of key (a new or expired one starts
	// at 1 and expires at expires) in one write, and returns the new count.
	AddThrottle(ctx context.Context, key string, expires, now time.Time) (int, error)
	// DeleteThrottle forgets key; an absent key is not an error.
	DeleteThrottle(ctx context.Context, key string) error
}
