package local_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
)

// TestSignInBackoff: consecutive failures of one username are free five
// times, then wait 1 s, 2 s, 4 s …; the answers for a user that exists and
// one that does not are the same, attempt by attempt; a success resets.
func TestSignInBackoff(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{})
	a.register("ann", "password-one")
	type answer struct {
		status     int
		retryAfter string
		body       string
	}
	attempt := func(user, pass string) answer {
		r := a.call("POST", "/auth/token", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pass))
		return answer{r.status, r.header.Get("Retry-After"), r.body}
	}
	var ann, ghost []answer
	script := []time.Duration{0, 0, 0, 0, 0, 0, time.Second, 0, 2 * time.Second, 0, 4 * time.Second}
	for _, wait := range script {
		a.advance(wait)
		ann = append(ann, attempt("ann", "wrong-password"))
		ghost = append(ghost, attempt("ghost", "wrong-password"))
	}
	want := []answer{
		{401, "", ""}, {401, "", ""}, {401, "", ""}, {401, "", ""}, {401, "", ""}, // five free
		{429, "1", ""}, {401, "", ""}, // wait 1 s
		{429, "2", ""}, {401, "", ""}, // wait 2 s
		{429, "4", ""}, {401, "", ""}, // wait 4 s
	}
	for i := range want {
		if ann[i].status != want[i].status || ann[i].retryAfter != want[i].retryAfter {
			t.Errorf("attempt %d: %d Retry-After %q, want %d %q (%s)", i+1, ann[i].status, ann[i].retryAfter, want[i].status, want[i].retryAfter, ann[i].body)
		}
	}
	if !slices.Equal(ann, ghost) {
		t.Errorf("an existing user and an unknown one are told apart:\n ann   %v\n ghost %v", ann, ghost)
	}
	// Refused even with the right password while waiting; a success after
	// the wait resets the count.
	if got := attempt("ann", "password-one"); got.status != 429 {
		t.Errorf("right password during the wait: %d, want 429", got.status)
	}
	a.advance(8 * time.Second)
	if got := attempt("ann", "password-one"); got.status != 200 {
		t.Fatalf("right password after the wait: %+v", got)
	}
	for i := range 5 {
		if got := attempt("ann", "wrong-password"); got.status != 401 {
			t.Errorf("failure %d after a success: %d, want 401 (reset)", i+1, got.status)
		}
	}
	// Basic on any route is throttled the same way, and the username's case
	// does not matter.
	if r := a.call("GET", "/users/me", basicAuth("ANN", "wrong-password"), ""); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("Basic during the wait: %d %q", r.status, r.header.Get("Retry-After"))
	}
	// The wait is capped.
	a.advance(time.Hour)
	for range 40 {
		a.advance(mlsvc.SignInMaxBackoff)
		attempt("ann", "wrong-password")
	}
	if got := attempt("ann", "wrong-password"); got.status != 429 || got.retryAfter != fmt.Sprint(int(mlsvc.SignInMaxBackoff.Seconds())) {
		t.Errorf("after 40 failures: %+v, want 429 with Retry-After %d", got, int(mlsvc.SignInMaxBackoff.Seconds()))
	}
}

// TestSignInParallelGuesses: parallel guesses cannot slip past the wait
// together: of many at once, at most the free ones are checked.
func TestSignInParallelGuesses(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{})
	a.register("ann", "password-one")
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			r := a.call("POST", "/auth/token", "", fmt.Sprintf(`{"username":"ann","password":"guess-%d"}`, i))
			mu.Lock()
			counts[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[401] > mlsvc.SignInFreeFailures+1 || counts[401]+counts[429] != 40 {
		t.Errorf("40 parallel guesses: %v; want at most %d checked (401), the rest 429", counts, mlsvc.SignInFreeFailures+1)
	}
}

func TestAddressLimit(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{AddressLimit: mlsvc.Rate{N: 3, Per: time.Minute}})
	for i := range 3 {
		a.register(fmt.Sprintf("user%d", i), "password-one")
	}
	r := a.call("POST", "/users", "", `{"firstname":"Ann","username":"user9","password":"password-one"}`)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("4th registration in a minute: %d %q %s, want 429 with Retry-After", r.status, r.header.Get("Retry-After"), r.body)
	}
	a.advance(time.Minute)
	a.register("user9", "password-one")

	// Failed sign-ins from one address, over several usernames.
	for i := range 3 {
		if r := a.call("POST", "/auth/token", "", fmt.Sprintf(`{"username":"user%d","password":"wrong-password"}`, i)); r.status != 401 {
			t.Errorf("failure %d: %d", i+1, r.status)
		}
	}
	if r := a.call("POST", "/auth/token", "", `{"username":"user9","password":"password-one"}`); r.status != 429 {
		t.Errorf("sign-in after the address's failures: %d, want 429", r.status)
	}
	// A token already issued is not a sign-in: it still works.
}

func TestRateLimit(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{RateLimit: mlsvc.Rate{N: 5, Per: time.Second}})
	a.register("ann", "password-one")
	a.register("bob", "password-bob")
	ann, bob := a.token("ann", "password-one"), a.token("bob", "password-bob")
	for i := range 5 {
		if r := a.call("GET", "/users/me", ann, ""); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	r := a.call("GET", "/users/me", ann, "")
	if r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("6th request in a second: %d %q %s, want 429 Retry-After 1", r.status, r.header.Get("Retry-After"), r.body)
	}
	if r := a.call("GET", "/users/me", bob, ""); r.status != 200 {
		t.Errorf("another user is limited too: %d", r.status)
	}
	a.advance(time.Second)
	if r := a.call("GET", "/users/me", ann, ""); r.status != 200 {
		t.Errorf("after a second: %d", r.status)
	}
}

// BenchmarkSignInAttackP99 prints how much 30 wrong passwords sent at once
// by parallel clients (30 usernames, so the per-username back-off does not
// stop them: each costs a real bcrypt) raise the p99 latency of another
// user's requests. The domain checks at most one password per CPU at a
// time, so the victim's requests still get CPU.
//
//	go test -run '^$' -bench SignInAttack ./pkg/local/
func BenchmarkSignInAttackP99(b *testing.B) {
	a := openAccess(b, b.TempDir(), local.Config{BcryptCost: bcrypt.DefaultCost})
	a.register("victim", "password-one")
	token := a.token("victim", "password-one")
	measure := func(n int) time.Duration {
		var ds []time.Duration
		for range n {
			start := time.Now()
			if r := a.call("GET", "/users/me", token, ""); r.status != http.StatusOK {
				b.Fatalf("victim: %d", r.status)
			}
			ds = append(ds, time.Since(start))
			time.Sleep(2 * time.Millisecond)
		}
		slices.Sort(ds)
		return ds[len(ds)*99/100]
	}
	var worst time.Duration
	for b.Loop() {
		base := measure(200)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for i := range 30 {
			wg.Go(func() {
				a.call("POST", "/auth/token", "", fmt.Sprintf(`{"username":"attacker%d","password":"wrong-password"}`, i))
			})
		}
		var attacked time.Duration
		go func() { attacked = measure(200); close(stop) }()
		wg.Wait()
		<-stop
		worst = max(worst, attacked-base)
		b.Logf("victim p99: %v alone, %v during 30 parallel wrong passwords (+%v)", base, attacked, attacked-base)
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "p99-increase-ms")
}
