package httpapi

import "context"

// One sign-in per Basic credentials at a time.
//
// When a client's remembered credentials expire (mlsvc.AuthCacheTTL), all
// of its requests in flight miss the cache at once. Each used to sign in on
// its own: a slow hash each, and so many claims on the username's sign-in
// throttle at the same moment that some lost every retry and were refused
// with 429 "too many sign-ins for this username at once" (make bench-api
// saw one per connection every minute). Now the first request with a given
// header signs in and the others with the same header wait for it: its
// success is theirs; if it fails, each then signs in on its own, as before,
// so failures are counted and throttled exactly as they were.

// signInFlight is a sign-in in progress; userID is set, on success, before
// done is closed.
type signInFlight struct {
	done   chan struct{}
	userID string
}

// joinSignIn returns the sign-in in progress for key, or starts one, with
// leader true, which the caller must end with endSignIn.
func (a *Auth) joinSignIn(key [32]byte) (f *signInFlight, leader bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.flights[key]; f != nil {
		return f, false
	}
	f = &signInFlight{done: make(chan struct{})}
	a.flights[key] = f
	return f, true
}

// endSignIn ends the leader's sign-in, releasing those waiting for it.
func (a *Auth) endSignIn(key [32]byte, f *signInFlight) {
	a.mu.Lock()
	delete(a.flights, key)
	a.mu.Unlock()
	close(f.done)
}

// wait waits for the sign-in and returns its user, ok false if it failed
// or ctx ended first.
func (f *signInFlight) wait(ctx context.Context) (userID string, ok bool) {
	select {
	case <-f.done:
		return f.userID, f.userID != ""
	case <-ctx.Done():
		return "", false
	}
}
