package mlsvc

import (
	"context"
	"sync"
	"time"
)

// A cache of the users that requests authenticate as (Config.SoleWriter).
//
// Every authenticated request checks that the caller's password is still
// the one its cached credentials or token were verified with, and refuses
// a request its balance cannot pay before parsing it: a read of the user
// each time, a tenth of the CPU of accepting a prediction locally. When
// this Service makes every password change its store sees (local mode:
// one process), a user read less than userCacheTTL ago serves both:
//   - a password change through this Service empties the cache before it
//     returns, and a read that overlapped the change is not kept (the
//     epoch), so a changed password stops working at once, as before;
//   - a balance changed elsewhere (`mlsvc credit` beside the server) is
//     seen within userCacheTTL, and the pre-check refuses on a fresh read
//     only (affordable); the charge itself always checks atomically.

// userCacheTTL bounds how old a cached user may be.
const userCacheTTL = time.Second

// maxCachedUsers bounds the cache; when full, it is emptied.
const maxCachedUsers = 10_000

type userCache struct {
	mu      sync.Mutex
	epoch   uint64 // password changes made through the Service
	entries map[string]cachedUser
}

type cachedUser struct {
	u     *User
	until time.Time // by the machine's monotonic clock
}

// get returns the user with id read less than userCacheTTL ago, or nil.
func (c *userCache) get(id string) *User {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok && now.Before(e.until) {
		return e.u
	}
	return nil
}

// begin returns the epoch to pass to put for a read about to start.
func (c *userCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put keeps u, read at time at, unless a password changed since begin
// returned epoch.
func (c *userCache) put(u *User, epoch uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if c.entries == nil || len(c.entries) >= maxCachedUsers {
		c.entries = map[string]cachedUser{}
	}
	c.entries[u.ID] = cachedUser{u, at.Add(userCacheTTL)}
}

// passwordChanged empties the cache and turns away the reads in flight.
func (c *userCache) passwordChanged() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.entries)
}

// AuthUser returns the user with id for an authentication check (is the
// password generation still the one verified?), and remembers it for the
// request's balance pre-check (memo.go). With Config.SoleWriter it may
// come from a read less than a second old; otherwise it is read now. Its
// balance is for the pre-check only: show a user from User.
func (s *Service) AuthUser(ctx context.Context, id string) (*User, error) {
	if !s.soleWriter {
		return s.User(ctx, id)
	}
	if u := s.users.get(id); u != nil {
		remember(ctx, u)
		return u, nil
	}
	epoch, at := s.users.begin(), time.Now()
	u, err := s.User(ctx, id)
	if err == nil {
		s.users.put(u, epoch, at)
	}
	return u, err
}
