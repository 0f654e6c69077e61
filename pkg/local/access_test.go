package local_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
)

// accessApp is the local service with the given limits, on a clock the
// test moves.
type accessApp struct {
	t   testing.TB
	app *local.App
	srv *httptest.Server

	mu  sync.Mutex
	now time.Time
}

func openAccess(t testing.TB, dir string, cfg local.Config) *accessApp {
	t.Helper()
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	a := &accessApp{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg.DataDir, cfg.Catalog, cfg.Builtin = dir, entries, catalog.Files
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.MinCost
	}
	cfg.Now = a.clock
	a.app, err = local.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(a.app.Handler())
	t.Cleanup(func() { a.srv.Close(); a.app.Close() })
	return a
}

func (a *accessApp) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now
}

func (a *accessApp) advance(d time.Duration) {
	a.mu.Lock()
	a.now = a.now.Add(d)
	a.mu.Unlock()
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) detail() string {
	var e struct{ Detail string }
	_ = json.Unmarshal([]byte(r.body), &e)
	return e.Detail
}

// call sends a request with the Authorization header auth ("" for none).
func (a *accessApp) call(method, path, auth, body string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{resp.StatusCode, resp.Header, string(data)}
	if r.status >= 400 && r.detail() == "" {
		a.t.Errorf("%s %s: %d without a JSON detail: %s", method, path, r.status, data)
	}
	return r
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func (a *accessApp) register(name, pass string) {
	a.t.Helper()
	r := a.call("POST", "/users", "", fmt.Sprintf(`{"firstname":"Ann","username":%q,"password":%q}`, name, pass))
	if r.status != 201 {
		a.t.Fatalf("register %s: %d %s", name, r.status, r.body)
	}
}

// token signs in and returns "Bearer <token>".
func (a *accessApp) token(name, pass string) string {
	a.t.Helper()
	r := a.call("POST", "/auth/token", "", fmt.Sprintf(`{"username":%q,"password":%q}`, name, pass))
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &tok) != nil || tok.AccessToken == "" {
		a.t.Fatalf("POST /auth/token as %s: %d %s", name, r.status, r.body)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.ExpiresIn > 3600 {
		a.t.Errorf("token response %s: want token_type Bearer and 0 < expires_in ≤ 3600", r.body)
	}
	return "Bearer " + tok.AccessToken
}

func TestSessionTokens(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{})
	a.register("ann", "password-one")
	a.register("bob", "password-bob")
	bearer := a.token("ann", "password-one")
	if r := a.call("GET", "/users/me", bearer, ""); r.status != 200 || !strings.Contains(r.body, `"username":"ann"`) {
		t.Fatalf("GET /users/me with a token: %d %s", r.status, r.body)
	}
	// Basic on /auth/token works too.
	if r := a.call("POST", "/auth/token", basicAuth("ANN", "password-one"), ""); r.status != 200 {
		t.Errorf("POST /auth/token with Basic: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ name, auth, body string }{
		{"missing password", "", `{"username":"ann"}`},
		{"not JSON", "", `username=ann`},
	} {
		if r := a.call("POST", "/auth/token", c.auth, c.body); r.status != 400 && r.status != 415 {
			t.Errorf("%s: %d %s, want 400 or 415", c.name, r.status, r.body)
		}
	}
	// Forged or tampered tokens.
	parts := strings.Split(strings.TrimPrefix(bearer, "Bearer "), ".")
	for name, tok := range map[string]string{
		"bad signature": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":      base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"garbage":       "abc.def.ghi",
	} {
		if r := a.call("GET", "/users/me", "Bearer "+tok, ""); r.status != 401 {
			t.Errorf("%s: %d %s, want 401", name, r.status, r.body)
		}
	}
	// An expired token.
	a.advance(mlsvc.TokenTTL + time.Second)
	if r := a.call("GET", "/users/me", bearer, ""); r.status != 401 {
		t.Errorf("expired token: %d %s, want 401", r.status, r.body)
	}
}

func TestPasswordChangeRevokesTokens(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{})
	a.register("ann", "password-one")
	old := a.token("ann", "password-one")
	oldBasic := basicAuth("ann", "password-one")
	// The first call signs in and caches the credentials; the second checks
	// them against the user, which local mode keeps for a second.
	for range 2 {
		if r := a.call("GET", "/users/me", oldBasic, ""); r.status != 200 {
			t.Fatalf("Basic: %d", r.status)
		}
	}
	for _, c := range []struct {
		name, body string
		status     int
	}{
		{"wrong current", `{"current_password":"nope-nope","new_password":"password-two"}`, 400},
		{"short new", `{"current_password":"password-one","new_password":"short"}`, 400},
		{"missing new", `{"current_password":"password-one"}`, 400},
	} {
		if r := a.call("POST", "/users/me/password", old, c.body); r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
		}
	}
	r := a.call("POST", "/users/me/password", old, `{"current_password":"password-one","new_password":"password-two"}`)
	if r.status != 204 {
		t.Fatalf("change password: %d %s", r.status, r.body)
	}
	// At once, with no time passing: the old token and the cached Basic
	// credentials are refused.
	if r := a.call("GET", "/users/me", old, ""); r.status != 401 {
		t.Errorf("token issued before the change: %d %s, want 401", r.status, r.body)
	}
	if r := a.call("GET", "/users/me", oldBasic, ""); r.status != 401 {
		t.Errorf("old Basic credentials: %d %s, want 401", r.status, r.body)
	}
	fresh := a.token("ann", "password-two")
	if r := a.call("GET", "/users/me", fresh, ""); r.status != 200 {
		t.Errorf("new token: %d %s", r.status, r.body)
	}
}

// keyJSON is an API key as a client decodes it, declared here like
// predictionJSON (local_test.go) rather than taken from httpapi.
type keyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Key        string     `json:"key"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func TestAPIKeys(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{})
	a.register("ann", "password-one")
	a.register("bob", "password-bob")
	ann, bob := a.token("ann", "password-one"), a.token("bob", "password-bob")

	r := a.call("POST", "/api-keys", ann, `{"name":"  ci deploys "}`)
	var k keyJSON
	if r.status != 201 || json.Unmarshal([]byte(r.body), &k) != nil {
		t.Fatalf("POST /api-keys: %d %s", r.status, r.body)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k.Key, "mlsk_"))
	if !strings.HasPrefix(k.Key, "mlsk_") || err != nil || len(raw) < 32 || !strings.HasPrefix(k.Key, k.Prefix) ||
		len(k.Prefix) >= len(k.Key)/2 || k.Name != "ci deploys" || k.ID == "" || k.CreatedAt.IsZero() {
		t.Errorf("created key %+v", k)
	}
	key := "Bearer " + k.Key
	if r := a.call("GET", "/users/me", key, ""); r.status != 200 || !strings.Contains(r.body, `"username":"ann"`) {
		t.Fatalf("GET /users/me with the key: %d %s", r.status, r.body)
	}
	// The list shows no key, and the use.
	r = a.call("GET", "/api-keys", ann, "")
	var list []keyJSON
	if r.status != 200 || json.Unmarshal([]byte(r.body), &list) != nil || len(list) != 1 {
		t.Fatalf("GET /api-keys: %d %s", r.status, r.body)
	}
	if strings.Contains(r.body, k.Key) || strings.Contains(r.body, `"key"`) || list[0].ID != k.ID ||
		list[0].Prefix != k.Prefix || list[0].LastUsedAt == nil {
		t.Errorf("GET /api-keys = %s", r.body)
	}
	if !strings.Contains(a.call("GET", "/api-keys", bob, "").body, "[]") {
		t.Error("bob sees ann's keys")
	}
	// Bob cannot delete ann's key.
	if r := a.call("DELETE", "/api-keys/"+k.ID, bob, ""); r.status != 404 {
		t.Errorf("DELETE another user's key: %d, want 404", r.status)
	}
	// Bad input.
	for _, body := range []string{`{}`, `{"name":""}`, `{"name":7}`, `{"name":"` + strings.Repeat("x", 101) + `"}`} {
		if r := a.call("POST", "/api-keys", ann, body); r.status != 400 || !strings.Contains(r.detail(), "name") {
			t.Errorf("POST /api-keys %s: %d %s, want 400 naming the field", body, r.status, r.body)
		}
	}
	// A key may create keys; at most MaxAPIKeys.
	for i := 1; i < mlsvc.MaxAPIKeys; i++ {
		if r := a.call("POST", "/api-keys", key, fmt.Sprintf(`{"name":"k%d"}`, i)); r.status != 201 {
			t.Fatalf("key %d: %d %s", i+1, r.status, r.body)
		}
	}
	if r := a.call("POST", "/api-keys", ann, `{"name":"one too many"}`); r.status != 409 || !strings.Contains(r.detail(), "20") {
		t.Errorf("key 21: %d %s, want 409 saying the limit", r.status, r.body)
	}
	// Revocation is effective at once.
	if r := a.call("DELETE", "/api-keys/"+k.ID, ann, ""); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := a.call("GET", "/users/me", key, ""); r.status != 401 {
		t.Errorf("revoked key: %d %s, want 401", r.status, r.body)
	}
	if r := a.call("DELETE", "/api-keys/"+k.ID, ann, ""); r.status != 404 {
		t.Errorf("second DELETE: %d, want 404", r.status)
	}
	// A made-up key.
	if r := a.call("GET", "/users/me", "Bearer mlsk_"+strings.Repeat("A", 43), ""); r.status != 401 {
		t.Errorf("unknown key: %d", r.status)
	}
}

func TestAPIKeyLastUsedWrittenOncePerMinute(t *testing.T) {
	a := openAccess(t, t.TempDir(), local.Config{})
	a.register("ann", "password-one")
	ann := a.token("ann", "password-one")
	var k keyJSON
	_ = json.Unmarshal([]byte(a.call("POST", "/api-keys", ann, `{"name":"x"}`).body), &k)
	lastUsed := func() time.Time {
		got, err := a.app.Store.APIKey(context.Background(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	a.call("GET", "/users/me", "Bearer "+k.Key, "")
	first := lastUsed()
	a.advance(30 * time.Second)
	a.call("GET", "/users/me", "Bearer "+k.Key, "")
	if got := lastUsed(); !got.Equal(first) {
		t.Errorf("last_used_at written again after 30 s: %v, then %v", first, got)
	}
	a.advance(31 * time.Second)
	a.call("GET", "/users/me", "Bearer "+k.Key, "")
	if got := lastUsed(); !got.After(first) {
		t.Errorf("last_used_at not written after 61 s: %v", got)
	}
}

func TestKeysetFile(t *testing.T) {
	dir := t.TempDir()
	a := openAccess(t, dir, local.Config{})
	a.register("ann", "password-one")
	bearer := a.token("ann", "password-one")
	fi, err := os.Stat(filepath.Join(dir, local.KeysetFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", local.KeysetFile, fi.Mode().Perm())
	}
	a.srv.Close()
	a.app.Close()
	// Rotated: tokens signed by the previous key still work; new ones use the new key.
	b, _ := os.ReadFile(filepath.Join(dir, local.KeysetFile))
	ks, err := mlsvc.ParseKeyset(b)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := ks.Rotate().MarshalJSON()
	if err := os.WriteFile(filepath.Join(dir, local.KeysetFile), rotated, 0o600); err != nil {
		t.Fatal(err)
	}
	a2 := openAccess(t, dir, local.Config{})
	if r := a2.call("GET", "/users/me", bearer, ""); r.status != 200 {
		t.Errorf("token of the previous key after rotation: %d %s", r.status, r.body)
	}
	fresh := a2.token("ann", "password-one")
	head, _ := base64.RawURLEncoding.DecodeString(strings.Split(strings.TrimPrefix(fresh, "Bearer "), ".")[0])
	if !strings.Contains(string(head), `"kid"`) || strings.Contains(string(head), ks.Current.ID) {
		t.Errorf("new token header %s: want the new key's kid", head)
	}
}

// TestRoutesFailClosed: every route but an explicit few requires
// authentication, and answers 401 {"detail"} without credentials.
func TestRoutesFailClosed(t *testing.T) {
	public := map[string]bool{
		"POST /users": true, "GET /models": true, "POST /auth/token": true,
		"POST /webhooks/stripe": true, "GET /openapi.json": true, "GET /docs": true,
	}
	a := openAccess(t, t.TempDir(), local.Config{})
	routes := httpapi.New(a.app.Service, nil, nil).Routes()
	if len(routes) < 13 {
		t.Fatalf("%d routes, want the whole table", len(routes))
	}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Pattern
		if public[key] {
			if rt.Auth {
				t.Logf("%s is on the public list but requires authentication", key)
			}
			continue
		}
		if !rt.Auth {
			t.Errorf("route %s (%s) has Auth false and is not on the public list", key, rt.Name)
			continue
		}
		path := strings.NewReplacer("{id}", "00000000-0000-4000-8000-000000000000").Replace(rt.Pattern)
		for _, auth := range []string{"", "Bearer ", "Bearer nope", "Basic !!!", basicAuth("nobody-"+rt.Name, "wrong-password")} {
			body := ""
			if rt.Method == "POST" {
				body = `{}`
			}
			if r := a.call(rt.Method, path, auth, body); r.status != 401 {
				t.Errorf("%s with Authorization %q: %d %s, want 401", key, auth, r.status, r.body)
			}
		}
	}
}
