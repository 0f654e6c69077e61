package mlsvc

import (
	"fmt"
	"strconv"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The product's limits and lifetimes, shared by both runtimes and stated in
// the README. Limits of the transport (request body size, how much input a
// response carries) are the HTTP layer's: see pkg/httpapi.
const (
	// MaxRows bounds the rows of one prediction.
	MaxRows = 10_000
	// MaxStoredInput bounds a prediction's rows as stored (JSON): CSV input
	// written as JSON repeats the column names in every row.
	MaxStoredInput = 24_000_000

	// DefaultPageLimit and MaxPageLimit bound one page of a listing.
	DefaultPageLimit = 100
	MaxPageLimit     = 1000

	// DownloadURLTTL is the lifetime of a result's download URL; MaxURLTTL
	// is the longest any Blobs.URL lives (both adapters clamp to it).
	DownloadURLTTL = 10 * time.Minute
	MaxURLTTL      = 15 * time.Minute

	// AuthCacheTTL is how long verified Basic credentials are remembered by
	// each process (the local server, each warm function) before the next
	// slow hash; a changed password is refused at once all the same
	// (httpapi.Auth compares the password generation).
	AuthCacheTTL = 60 * time.Second

	// CatalogTTL is how long a prediction request may use a catalog entry
	// read by an earlier request (modelcache.go). A model published through
	// this Service replaces its entry at once; one published elsewhere
	// (`mlsvc models add` beside a running service, or another Lambda
	// instance) is charged for at its new price at most CatalogTTL after it
	// is stored. GET /models always reads the store. A request's charge uses
	// the price of the entry it read, and the answer and the ledger say which.
	CatalogTTL = time.Second

	// UserCacheTTL is how long authentication may use a user read by an
	// earlier request, in local mode only (usercache.go); a password change
	// through the Service empties that cache at once.
	UserCacheTTL = time.Second

	// MaxCachedUsers bounds that cache; full, it is emptied.
	MaxCachedUsers = 10_000

	// DefaultBcryptCost is the password hashing cost unless configured
	// (MLSVC_BCRYPT_COST on both runtimes).
	DefaultBcryptCost = bcrypt.DefaultCost
)

// Size is the number of entries the page asks for: DefaultPageLimit when
// Limit is not positive, at most MaxPageLimit.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// ParseBcryptCost reads a password hashing cost setting: "" is
// DefaultBcryptCost, otherwise an integer from bcrypt's minimum (4) to 31.
func ParseBcryptCost(s string) (int, error) {
	if s == "" {
		return DefaultBcryptCost, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < bcrypt.MinCost || n > bcrypt.MaxCost {
		return 0, fmt.Errorf("bcrypt cost %q: want an integer from %d to %d", s, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return n, nil
}
