package mlsvc

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each names a kind of failure a caller can act on; the HTTP
// layer and the state machine each map them in exactly one table.
const (
	EInvalid      = "invalid"      // bad input: the message names the field or row
	EUnauthorized = "unauthorized" // missing or wrong credentials
	ENotFound     = "not_found"    // absent, or not the caller's
	EConflict     = "conflict"     // state does not allow it (duplicate, not ready, already final)
	EInsufficient = "insufficient" // balance does not cover the charge
	ETooLarge     = "too_large"    // body or row count over a limit
	EUnavailable  = "unavailable"  // a dependency is down or full; retrying may help
	EForbidden    = "forbidden"    // not allowed for this caller or in this mode
	EGone         = "gone"         // existed, but is past its retention
	EUnsupported  = "unsupported"  // a request body of a media type the API does not read
	EMismatch     = "mismatch"     // well-formed but contradicts an earlier request (idempotency key reuse)
	EThrottled    = "throttled"    // too many requests; Error.RetryAfter says when to retry
	EPermanent    = "permanent"    // a prediction that cannot succeed: retrying will not help
	EInternal     = "internal"     // a bug or an unexpected failure
)

// Error is a domain error: a code and a message that is safe to show to the user.
// Causes are wrapped with fmt.Errorf around an *Error, or kept in Err, and are
// logged, never shown.
type Error struct {
	Code    string
	Message string
	Err     error // optional cause, for logs
	// RetryAfter, for EThrottled, is how long the caller should wait.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-safe message of err: the message of its *Error,
// or a generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}
