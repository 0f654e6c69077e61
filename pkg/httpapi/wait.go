package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The longest Prefer: wait each runtime honours: an HTTP API on API
// Gateway answers within 30 s, so Lambda functions hold a request at most
// MaxWaitLambda; the local server, MaxWaitLocal. The composition roots
// set it (API.WithMaxWait).
const (
	MaxWaitLocal  = 60 * time.Second
	MaxWaitLambda = 20 * time.Second
)

// WithMaxWait makes the API honour Prefer: wait=N (RFC 7240) on POST
// /predict and GET /predict/{id} up to max; 0 (the default) ignores it.
func (a *API) WithMaxWait(max time.Duration) *API {
	a.maxWait = max
	return a
}

// preferWait returns how long the request asks to wait (Prefer: wait=N,
// in seconds), clamped to the API's maximum, and whether it asks at all.
// A malformed preference is ignored, as RFC 7240 says a server should.
func (a *API) preferWait(r *http.Request) (time.Duration, bool) {
	if a.maxWait <= 0 {
		return 0, false
	}
	for _, header := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(header, ",") {
			token, _, _ := strings.Cut(pref, ";") // parameters: none defined for wait
			name, value, ok := strings.Cut(strings.TrimSpace(token), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			value = strings.Trim(strings.TrimSpace(value), `"`)
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n <= 0 {
				return 0, false
			}
			return min(time.Duration(min(n, 1<<20))*time.Second, a.maxWait), true
		}
	}
	return 0, false
}

// applied says the wait was honoured: Preference-Applied: wait=N, with N
// what was applied (the request's value, or the maximum).
func applied(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Preference-Applied", "wait="+strconv.Itoa(int(d/time.Second)))
	w.Header().Add("Vary", "Prefer")
}
