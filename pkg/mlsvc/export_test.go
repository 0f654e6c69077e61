package mlsvc

import "time"

// IdempotentID and RequestHash are exposed to the external tests.
var (
	IdempotentID = idempotentID
	RequestHash  = requestHash
)

// CachedModels is how many catalog entries svc's requests keep.
func CachedModels(svc *Service) int {
	svc.models.mu.Lock()
	defer svc.models.mu.Unlock()
	return len(svc.models.entries)
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
