package mlsvc

// IdempotentID and RequestHash are exposed to the external tests.
var (
	IdempotentID = idempotentID
	RequestHash  = requestHash
)
