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
// one process), a user read less than UserCacheTTL ago (limits.go) serves
// both:
//   - a password change through this Service empties the cache before it
//     returns, and a read that overlapped the change is not kept (the
//     epoch), so a changed password stops working at once, as before;
//   - a balance changed elsewhere (`mlsvc credit` beside the server) is
//     seen within UserCacheTTL, and the pre-check refuses on a fresh read
//     only (affordable); the charge itself always checks atomically.

// userCache is a ttlCache of users with the epoch of password changes.
type userCache struct {
	mu    sync.Mutex // orders put after its epoch check against passwordChanged
	epoch uint64     // password changes made through the Service
	c     ttlCache[*User]
}

func newUserCache() *userCache {
	return &userCache{c: ttlCache[*User]{ttl: UserCacheTTL, max: MaxCachedUsers}}
}

// get returns the user with id read less than UserCacheTTL ago, or nil.
func (c *userCache) get(id string) *User {
	u, _ := c.c.get(id)
	return u
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
	if epoch == c.epoch {
		c.c.put(u.ID, u, at)
	}
}

// passwordChanged empties the cache and turns away the reads in flight.
func (c *userCache) passwordChanged() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.c.clear()
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
