package mlsvc

import (
	"fmt"
	"time"
)

// IdempotentID and RequestHash are exposed to the external tests.
var (
	IdempotentID = idempotentID
	RequestHash  = requestHash
)

// CachedModels is how many catalog entries svc's requests keep.
func CachedModels(svc *Service) int { return svc.models.c.len() }

// CachedUsersAfter puts n distinct users in a new user cache and returns
// how many entries it then holds.
func CachedUsersAfter(n int) int {
	c := newUserCache()
	epoch, now := c.begin(), time.Now()
	for i := range n {
		c.put(&User{ID: fmt.Sprint("u", i)}, epoch, now)
	}
	return c.c.len()
}

// UserCacheRace runs a cache fill that overlaps a password change: the
// read starts, the password changes, the read is kept. It reports whether
// the cache then holds the user.
func UserCacheRace(svc *Service, u *User) bool {
	epoch := svc.users.begin()
	svc.users.passwordChanged()
	svc.users.put(u, epoch, time.Now())
	return svc.users.get(u.ID) != nil
}
