package mlsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// APIKeyPrefix starts every API key, so a key is recognised as one (and
// by secret scanners).
const APIKeyPrefix = "mlsk_"

// apiKeyPrefixLen is how much of a key is kept in clear to tell keys apart.
const apiKeyPrefixLen = len(APIKeyPrefix) + 6

// CreateAPIKey creates a key named name for the user and returns it with
// the key itself, which is never available again: the store keeps its
// SHA-256 only. A fast hash is right here: the key has 256 random bits, so
// there is nothing to guess.
func (s *Service) CreateAPIKey(ctx context.Context, userID, name string) (*APIKey, string, error) {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return nil, "", Errorf(EInvalid, "name is required")
	case n > 100:
		return nil, "", Errorf(EInvalid, "name must be at most 100 characters")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", err
	}
	key := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	hash := hashAPIKey(key)
	k := &APIKey{
		ID: apiKeyID(hash), UserID: userID, Name: name, Prefix: key[:apiKeyPrefixLen],
		Hash: hash, CreatedAt: s.now().UTC().Truncate(1e6),
	}
	if err := s.store.CreateAPIKey(ctx, k, MaxAPIKeys); err != nil {
		if ErrorCode(err) == EConflict {
			return nil, "", Errorf(EConflict, "at most %d API keys per user: delete one first", MaxAPIKeys)
		}
		return nil, "", err
	}
	s.log.InfoContext(ctx, "api key created", "user_id", userID, "key_id", k.ID)
	return k, key, nil
}

// APIKeys lists the user's keys, oldest first.
func (s *Service) APIKeys(ctx context.Context, userID string) ([]*APIKey, error) {
	return s.store.APIKeys(ctx, userID)
}

// DeleteAPIKey revokes the user's key id: the next request with it is
// refused. Another user's key is ENotFound.
func (s *Service) DeleteAPIKey(ctx context.Context, userID, id string) error {
	if err := s.store.DeleteAPIKey(ctx, userID, id); err != nil {
		if ErrorCode(err) == ENotFound {
			return Errorf(ENotFound, "API key %s not found", id)
		}
		return err
	}
	s.log.InfoContext(ctx, "api key deleted", "user_id", userID, "key_id", id)
	return nil
}

// UserByAPIKey returns the key that key is, or EUnauthorized: one store
// read, and a write of its last use at most once per APIKeyTouchInterval.
func (s *Service) UserByAPIKey(ctx context.Context, key string) (*APIKey, error) {
	bad := Errorf(EUnauthorized, "invalid API key")
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) > 200 {
		return nil, bad
	}
	hash := hashAPIKey(key)
	k, err := s.store.APIKey(ctx, apiKeyID(hash))
	if ErrorCode(err) == ENotFound {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 {
		return nil, bad
	}
	now := s.now().UTC()
	if now.Sub(k.LastUsedAt) >= APIKeyTouchInterval {
		if err := s.store.TouchAPIKey(ctx, k.ID, now.Truncate(1e6)); err != nil {
			s.log.WarnContext(ctx, "api key: recording its use failed", "key_id", k.ID, "err", err)
		}
	}
	return k, nil
}

func hashAPIKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// apiKeyID is the key's id: the first 96 bits of its hash, so the key is
// found by its id with one read and no index. It tells nothing of the key.
func apiKeyID(hash string) string { return "ak_" + hash[:24] }
