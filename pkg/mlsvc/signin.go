package mlsvc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Rate is a number of events per period; the zero Rate is off.
type Rate struct {
	N   int
	Per time.Duration
}

// Defaults of MLSVC_ADDRESS_LIMIT and MLSVC_RATE_LIMIT (both runtimes).
var (
	DefaultAddressLimit = Rate{N: 30, Per: time.Minute}
	DefaultRateLimit    = Rate{N: 20, Per: time.Second}
)

// Off reports whether r limits nothing.
func (r Rate) Off() bool { return r.N <= 0 || r.Per <= 0 }

func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	for unit, d := range map[string]time.Duration{"s": time.Second, "min": time.Minute, "h": time.Hour} {
		if r.Per == d {
			return fmt.Sprintf("%d/%s", r.N, unit)
		}
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// ParseRate reads a limit setting: "" is def, "off" is the zero Rate,
// otherwise N/s, N/min or N/h with N ≥ 1.
func ParseRate(s string, def Rate) (Rate, error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return def, nil
	case "off":
		return Rate{}, nil
	}
	bad := fmt.Errorf("limit %q: want N/s, N/min, N/h or off", s)
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 || count > 1_000_000 {
		return Rate{}, bad
	}
	per := map[string]time.Duration{"s": time.Second, "sec": time.Second, "min": time.Minute, "m": time.Minute, "h": time.Hour}[unit]
	if per == 0 {
		return Rate{}, bad
	}
	return Rate{N: count, Per: per}, nil
}

// SignIn checks a username and password, throttled:
//
//   - per username, consecutive failures back off exponentially (the
//     first SignInFreeFailures are free, then 1 s, 2 s, 4 s … up to
//     SignInMaxBackoff) and a refused attempt is answered before any
//     password hashing. The state is kept under a hash of the name,
//     whether or not such a user exists, so the answers do not tell.
//     Each attempt claims its place with one conditional write, so
//     parallel guesses cannot slip past the wait together;
//   - per client address addr, failed sign-ins beyond the address limit
//     in its window are refused ("" skips it).
//
// A success forgets the username's failures.
func (s *Service) SignIn(ctx context.Context, username, password, addr string) (*User, error) {
	now := s.now()
	if err := s.checkAddress(ctx, "signin", addr, now); err != nil {
		return nil, err
	}
	key := signInKey(username)
	claimed := false
	for range 5 {
		t, err := s.store.Throttle(ctx, key, now)
		if err != nil {
			return nil, err
		}
		if now.Before(t.Until) {
			return nil, throttled(t.Until.Sub(now), "too many failed sign-ins for this username")
		}
		next := Throttle{Key: key, Count: t.Count + 1, Until: now.Add(signInBackoff(t.Count + 1))}
		next.Expires = next.Until.Add(SignInForget)
		err = s.store.ClaimThrottle(ctx, next, t.Count, now)
		if err == nil {
			claimed = true
			break
		}
		if ErrorCode(err) != EConflict {
			return nil, err
		}
	}
	if !claimed {
		return nil, throttled(time.Second, "too many sign-ins for this username at once")
	}
	u, err := s.Authenticate(ctx, username, password)
	switch ErrorCode(err) {
	case "":
		if err := s.store.DeleteThrottle(ctx, key); err != nil {
			s.log.WarnContext(ctx, "sign-in: forgetting failures failed", "err", err)
		}
		return u, nil
	case EUnauthorized:
		s.countAddress(ctx, "signin", addr, now)
	}
	return nil, err
}

// signInBackoff is the wait after the n-th consecutive failure.
func signInBackoff(n int) time.Duration {
	if n < SignInFreeFailures {
		return 0
	}
	shift := n - SignInFreeFailures
	if shift >= 20 {
		return SignInMaxBackoff
	}
	return min(time.Second<<shift, SignInMaxBackoff)
}

// signInKey is the throttle key of a username: a hash of its lookup form,
// so that no name, existing or not, is stored in clear and keys are short.
func signInKey(username string) string {
	h := sha256.Sum256([]byte(UsernameKey(username)))
	return "signin:" + hex.EncodeToString(h[:16])
}

func throttled(wait time.Duration, why string) error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	return &Error{Code: EThrottled, Message: fmt.Sprintf("%s: try again in %d s", why, secs), RetryAfter: time.Duration(secs) * time.Second}
}

// addressWindow is the throttle key and end of addr's current window.
func (s *Service) addressWindow(event, addr string, now time.Time) (string, time.Time) {
	per := s.addressLimit.Per
	start := now.Truncate(per)
	return fmt.Sprintf("addr:%s:%s:%d", event, addr, start.Unix()), start.Add(per)
}

// checkAddress refuses addr when its events in this window reached the limit.
func (s *Service) checkAddress(ctx context.Context, event, addr string, now time.Time) error {
	if addr == "" || s.addressLimit.Off() {
		return nil
	}
	key, end := s.addressWindow(event, addr, now)
	t, err := s.store.Throttle(ctx, key, now)
	if err != nil {
		return err
	}
	if t.Count >= s.addressLimit.N {
		return throttled(end.Sub(now), "too many failed sign-ins from this address")
	}
	return nil
}

// countAddress counts an event of addr, logging (not failing) a store error.
func (s *Service) countAddress(ctx context.Context, event, addr string, now time.Time) int {
	if addr == "" || s.addressLimit.Off() {
		return 0
	}
	key, end := s.addressWindow(event, addr, now)
	n, err := s.store.AddThrottle(ctx, key, end.Add(time.Minute), now)
	if err != nil {
		s.log.WarnContext(ctx, "counting an address's event failed", "event", event, "err", err)
	}
	return n
}

// AllowRegistration counts a registration attempt from addr and refuses
// it beyond the address limit.
func (s *Service) AllowRegistration(ctx context.Context, addr string) error {
	if addr == "" || s.addressLimit.Off() {
		return nil
	}
	now := s.now()
	key, end := s.addressWindow("register", addr, now)
	n, err := s.store.AddThrottle(ctx, key, end.Add(time.Minute), now)
	if err != nil {
		return err
	}
	if n > s.addressLimit.N {
		return throttled(end.Sub(now), "too many registrations from this address")
	}
	return nil
}

// ChangePassword replaces the user's password after checking the current
// one (throttled as a sign-in). Session tokens issued before stop working
// at once: they carry the old password generation.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, addr string) error {
	if err := validPassword("new_password", next); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := s.SignIn(ctx, u.Username, current, addr); err != nil {
		if ErrorCode(err) == EUnauthorized {
			return Errorf(EInvalid, "current_password is not correct")
		}
		return err
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.store.SetPasswordHash(ctx, u.ID, u.PasswordHash, string(hash))
	// Whatever the outcome (an error may follow a commit), cached users
	// must not outlive a change (usercache.go).
	s.users.passwordChanged()
	if err != nil {
		if ErrorCode(err) == EConflict {
			return Errorf(EConflict, "the password was changed meanwhile: sign in again")
		}
		return err
	}
	s.log.InfoContext(ctx, "password changed", "user_id", u.ID)
	return nil
}

// validPassword checks a new password; field names it in the message.
func validPassword(field, password string) error {
	switch {
	case utf8.RuneCountInString(password) < 8:
		return Errorf(EInvalid, "%s must be at least 8 characters", field)
	case len(password) > maxPasswordBytes:
		return Errorf(EInvalid, "%s must be at most %d bytes", field, maxPasswordBytes)
	}
	return nil
}
