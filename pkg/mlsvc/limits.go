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
