package mlsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenKey is one signing key of session tokens, named by its kid.
type TokenKey struct {
	ID     string `json:"kid"`
	Secret []byte `json:"secret"` // at least 32 bytes; base64 in JSON
}

// Keyset holds the key that signs new tokens and the previous ones, which
// still verify tokens they signed until those expire: rotating the key
// signs nobody out. Its JSON form is the local key file and the AWS secret:
//
//	{"current": {"kid": "…", "secret": "<base64>"}, "previous": [{…}]}
type Keyset struct {
	Current  TokenKey   `json:"current"`
	Previous []TokenKey `json:"previous,omitempty"`
}

// NewKeyset returns a keyset with one new random key.
func NewKeyset() *Keyset {
	return &Keyset{Current: newTokenKey()}
}

func newTokenKey() TokenKey {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return TokenKey{ID: hex.EncodeToString(id), Secret: secret}
}

// Rotate returns a keyset with a new current key; the current one becomes
// the first previous one, and only one previous key is kept: rotate at
// most once per TokenTTL so that no valid token loses its key.
func (k *Keyset) Rotate() *Keyset {
	return &Keyset{Current: newTokenKey(), Previous: []TokenKey{k.Current}}
}

// ParseKeyset reads a keyset's JSON form. A value that is not JSON (such
// as the random string Secrets Manager generates) is one key, named by
// its hash.
func ParseKeyset(b []byte) (*Keyset, error) {
	var k Keyset
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &k); err != nil {
			return nil, fmt.Errorf("token keyset: %w", err)
		}
	} else {
		h := sha256.Sum256(b)
		k.Current = TokenKey{ID: hex.EncodeToString(h[:6]), Secret: b}
	}
	for _, key := range append([]TokenKey{k.Current}, k.Previous...) {
		if key.ID == "" || len(key.Secret) < 32 {
			return nil, errors.New("token keyset: every key needs a kid and a secret of at least 32 bytes")
		}
	}
	return &k, nil
}

// key returns the key named kid.
func (k *Keyset) key(kid string) (TokenKey, bool) {
	if k.Current.ID == kid {
		return k.Current, true
	}
	for _, p := range k.Previous {
		if p.ID == kid {
			return p, true
		}
	}
	return TokenKey{}, false
}

type tokenClaims struct {
	// Gen is the user's password generation when the token was issued: a
	// changed password changes it, and older tokens are refused.
	Gen string `json:"gen"`
	jwt.RegisteredClaims
}

// IssueToken returns a session token for u, valid for TokenTTL.
func (s *Service) IssueToken(u *User) (token string, ttl time.Duration, err error) {
	now := s.now()
	claims := tokenClaims{
		Gen: passwordGen(u.PasswordHash),
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   u.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = s.tokenKeys.Current.ID
	signed, err := t.SignedString(s.tokenKeys.Current.Secret)
	if err != nil {
		return "", 0, fmt.Errorf("sign token: %w", err)
	}
	return signed, TokenTTL, nil
}

// UserByToken returns the user of a session token, or EUnauthorized.
//
// The signature and expiry are checked without the store, so forged and
// expired tokens cost nothing. A valid one then costs one read of its
// user (in local mode, a read less than a second old will do:
// usercache.go), to refuse tokens issued before a password change at once,
// on every instance of the service.
func (s *Service) UserByToken(ctx context.Context, token string) (*User, error) {
	bad := Errorf(EUnauthorized, "invalid or expired session token: sign in again")
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := s.tokenKeys.key(kid)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k.Secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now))
	if err != nil || claims.Subject == "" || claims.IssuedAt == nil ||
		claims.ExpiresAt.Sub(claims.IssuedAt.Time) > TokenTTL {
		return nil, bad
	}
	u, err := s.AuthUser(ctx, claims.Subject) // usercache.go
	if ErrorCode(err) == ENotFound {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if claims.Gen != passwordGen(u.PasswordHash) {
		return nil, Errorf(EUnauthorized, "the password has changed since this session token was issued: sign in again")
	}
	return u, nil
}

// passwordGen names a password hash: it changes with every password change
// (bcrypt salts each hash) and tells nothing of the password.
func passwordGen(hash string) string {
	h := sha256.Sum256([]byte("mlsvc password generation\x00" + hash))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// PasswordGen is the password generation of u, which caches of verified
// credentials compare to forget them when the password changes.
func PasswordGen(u *User) string { return passwordGen(u.PasswordHash) }

// MarshalJSON returns the keyset's JSON form.
func (k *Keyset) MarshalJSON() ([]byte, error) {
	type plain Keyset
	return json.Marshal((*plain)(k))
}
