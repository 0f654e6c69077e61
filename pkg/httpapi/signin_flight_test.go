package httpapi

import (
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentSignInsShareOne: many requests with the same Basic
// credentials and nothing cached (a client whose remembered sign-in just
// expired) all succeed after one password check, none refused by the
// username's sign-in throttle; wrong credentials alongside are still
// refused.
func TestConcurrentSignInsShareOne(t *testing.T) {
	f := newFixture(t)
	const n = 64
	for round := range 2 { // the second after the remembered sign-in expires
		f.now = f.now.Add(2 * f.auth.ttl)
		before := f.store.lookups.Load()
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", f.srv.URL+"/users/me", nil)
				req.SetBasicAuth("ann", "password1")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for i, code := range codes {
			if code != http.StatusOK {
				t.Errorf("round %d, request %d: %d, want 200", round, i, code)
			}
		}
		if got := f.store.lookups.Load() - before; got != 1 {
			t.Errorf("round %d: %d password checks for %d concurrent requests with one header, want 1", round, got, n)
		}
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/users/me", nil)
	req.SetBasicAuth("ann", "wrong-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d, want 401", resp.StatusCode)
	}
}
