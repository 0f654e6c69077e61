package mlsvc

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
