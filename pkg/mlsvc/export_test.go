package mlsvc

// IdempotentID exposes idempotentID to the external tests.
var IdempotentID = idempotentID
