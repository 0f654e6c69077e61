package mlsvc

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Register creates a user with a zero balance.
func (s *Service) Register(ctx context.Context, firstname, username, password string) (*User, error) {
	firstname = strings.TrimSpace(firstname)
	switch n := utf8.RuneCountInString(firstname); {
	case n == 0:
		return nil, Errorf(EInvalid, "firstname is required")
	case n > 100:
		return nil, Errorf(EInvalid, "firstname must be at most 100 characters")
	}
	if err := validUsername(username); err != nil {
		return nil, err
	}
	if err := validPassword("password", password); err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u := &User{
		ID: s.newID(), Firstname: firstname, Username: username,
		PasswordHash: string(hash), CreatedAt: s.now().UTC(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if ErrorCode(err) == EConflict {
			return nil, Errorf(EConflict, "username %q is already taken", username)
		}
		return nil, err
	}
	s.log.InfoContext(ctx, "user registered", "user_id", u.ID)
	return u, nil
}

func validUsername(name string) error {
	if len(name) < 3 || len(name) > 64 {
		return Errorf(EInvalid, "username must be 3 to 64 characters")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)
		if !ok {
			return Errorf(EInvalid, "username may contain only letters, digits and . _ - @")
		}
	}
	return nil
}

// UsernameKey is the form in which usernames are unique and looked up:
// registration admits only ASCII letters, digits and ._-@, so this is ASCII
// case folding, and no other character folds onto a registered name.
func UsernameKey(username string) string {
	b := []byte(username)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Authenticate returns the user whose username and password match, or
// EUnauthorized. It costs one slow hash whatever the outcome, so the answer
// takes as long for an unknown user as for a wrong password.
func (s *Service) Authenticate(ctx context.Context, username, password string) (*User, error) {
	bad := Errorf(EUnauthorized, "invalid username or password")
	if validUsername(username) != nil || len(password) > maxPasswordBytes {
		// No such user can exist: refuse as for an unknown one.
		_ = s.compare(ctx, s.dummyHash(), password)
		return nil, bad
	}
	u, err := s.store.UserByUsername(ctx, username)
	if ErrorCode(err) == ENotFound {
		_ = s.compare(ctx, s.dummyHash(), password)
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if s.compare(ctx, []byte(u.PasswordHash), password) != nil {
		return nil, bad
	}
	return u, nil
}

// maxPasswordBytes is bcrypt's input limit; longer passwords are refused at
// registration and at sign-in alike.
const maxPasswordBytes = 72

// hash and compare run bcrypt, at most one per CPU at a time: a burst of
// sign-in attempts queues instead of taking every core from other requests.
func (s *Service) hash(ctx context.Context, password string) ([]byte, error) {
	if err := s.acquireHasher(ctx); err != nil {
		return nil, err
	}
	defer func() { <-s.hashers }()
	return bcrypt.GenerateFromPassword([]byte(password), s.cost)
}

func (s *Service) compare(ctx context.Context, hash []byte, password string) error {
	if err := s.acquireHasher(ctx); err != nil {
		return err
	}
	defer func() { <-s.hashers }()
	return bcrypt.CompareHashAndPassword(hash, []byte(password))
}

func (s *Service) acquireHasher(ctx context.Context) error {
	select {
	case s.hashers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return Errorf(EUnavailable, "request canceled while waiting to check the password")
	}
}

func (s *Service) dummyHash() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dummy == nil {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), s.cost)
	}
	return s.dummy
}

// User returns the user with id.
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err == nil {
		remember(ctx, u) // memo.go
	}
	return u, err
}

// TopUp adds amount to the user's balance and returns the new balance.
func (s *Service) TopUp(ctx context.Context, userID string, amount Cents) (Cents, error) {
	if err := s.selfTopUp(TopUpOpen); err != nil {
		return 0, err
	}
	if amount <= 0 || amount > MaxTopUp {
		return 0, Errorf(EInvalid, "amount must be between 0.01 and %s", MaxTopUp)
	}
	bal, err := s.store.Credit(ctx, &LedgerEntry{
		ID: s.newID(), UserID: userID, Type: EntryTopUp, Amount: amount, CreatedAt: s.now().UTC(),
	})
	if err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "balance topped up", "user_id", userID, "amount", amount.String(), "balance", bal.String())
	return bal, nil
}
