// Package httperr writes the API's errors: the one table from domain error
// codes (mlsvc.E*) to HTTP statuses, and the one writer of the
// {"detail": "…"} bodies that every error response carries, whoever serves
// it (the API's handlers, the web UI, the signed blob URLs, the local
// server's fallbacks).
package httperr

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	"mlsvc/pkg/mlsvc"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	mlsvc.EInvalid:      http.StatusBadRequest,
	mlsvc.EUnauthorized: http.StatusUnauthorized,
	mlsvc.EInsufficient: http.StatusPaymentRequired,
	mlsvc.EForbidden:    http.StatusForbidden,
	mlsvc.ENotFound:     http.StatusNotFound,
	mlsvc.EConflict:     http.StatusConflict,
	mlsvc.EGone:         http.StatusGone,
	mlsvc.ETooLarge:     http.StatusRequestEntityTooLarge,
	mlsvc.EUnsupported:  http.StatusUnsupportedMediaType,
	mlsvc.EMismatch:     http.StatusUnprocessableEntity,
	mlsvc.EPermanent:    http.StatusUnprocessableEntity,
	mlsvc.EThrottled:    http.StatusTooManyRequests,
	mlsvc.EUnavailable:  http.StatusServiceUnavailable,
	mlsvc.EInternal:     http.StatusInternalServerError,
}

// Status returns the HTTP status for err (500 for an error without a known
// code; 200 for nil).
func Status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if s, ok := statusOf[mlsvc.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Body is the JSON body of every error response.
type Body struct {
	Detail string `json:"detail"`
}

// Write answers err: its status, {"detail": its user-safe message}, and
// Retry-After for a throttled request. Internal causes are never shown.
func Write(w http.ResponseWriter, err error) {
	var e *mlsvc.Error
	if errors.As(err, &e) && e.Code == mlsvc.EThrottled {
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	WriteJSON(w, Status(err), Body{Detail: mlsvc.ErrorMessage(err)})
}

// Detail answers status with {"detail": message}.
func Detail(w http.ResponseWriter, status int, message string) {
	WriteJSON(w, status, Body{Detail: message})
}

// WriteJSON writes v as a JSON response that no cache keeps.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
