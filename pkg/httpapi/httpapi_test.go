package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/internal/localtest"
	"mlsvc/pkg/httperr"
	"mlsvc/pkg/mlsvc"
)

// countingStore counts username lookups: each is one password check.
type countingStore struct {
	mlsvc.Store
	lookups atomic.Int32
}

func (s *countingStore) UserByUsername(ctx context.Context, name string) (*mlsvc.User, error) {
	s.lookups.Add(1)
	return s.Store.UserByUsername(ctx, name)
}

type noWorkflow struct{}

func (noWorkflow) Start(context.Context, *mlsvc.Prediction) error { return nil }

type fixture struct {
	api   *API
	auth  *Auth
	store *countingStore
	srv   *httptest.Server
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, blobs := localtest.Open(t)
	f := &fixture{store: &countingStore{Store: db}, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	svc := mlsvc.New(mlsvc.Config{Store: f.store, Blobs: blobs, Workflow: noWorkflow{}, BcryptCost: bcrypt.MinCost})
	f.auth = NewAuth(svc, mlsvc.AuthCacheTTL, nil)
	f.auth.now = func() time.Time { return f.now }
	f.api = New(svc, f.auth, nil)
	mux := http.NewServeMux()
	f.api.Mount(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	err := db.PutModel(t.Context(), &mlsvc.CatalogEntry{ID: "lr", Name: "Linear", Cost: 1_00, File: "models/lr.json",
		Format: "linear", Features: []string{"a", "b"}, CreatedAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.Register(t.Context(), "Ann", "ann", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TopUp(t.Context(), u.ID, 10_00); err != nil {
		t.Fatal(err)
	}
	return f
}

// send makes a request and returns the status, the {"detail"} of an error
// and the response.
func (f *fixture) send(t *testing.T, method, path, contentType string, body io.Reader, header http.Header) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e httperr.Body
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &e); err != nil || e.Detail == "" {
			t.Errorf("%s %s: %d without a JSON detail: %q", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, e.Detail, resp
}

func basic(user, password string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, password)
	return http.Header{"Authorization": r.Header["Authorization"]}
}

// TestStatusTable: every error code has its status, and an error without
// a code is a 500 that does not show its cause.
func TestStatusTable(t *testing.T) {
	want := map[string]int{
		mlsvc.EInvalid: 400, mlsvc.EUnauthorized: 401, mlsvc.EInsufficient: 402, mlsvc.EForbidden: 403,
		mlsvc.ENotFound: 404, mlsvc.EConflict: 409, mlsvc.EGone: 410, mlsvc.ETooLarge: 413,
		mlsvc.EUnsupported: 415, mlsvc.EMismatch: 422, mlsvc.EPermanent: 422, mlsvc.EThrottled: 429,
		mlsvc.EUnavailable: 503, mlsvc.EInternal: 500,
	}
	for code, status := range want {
		if got := ErrorStatus(mlsvc.Errorf(code, "x")); got != status {
			t.Errorf("status of %s = %d, want %d", code, got, status)
		}
	}
	rec := httptest.NewRecorder()
	httperr.Write(rec, io.ErrUnexpectedEOF)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "EOF") {
		t.Errorf("an internal error answers %d %s; want 500 without its cause", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	httperr.Write(rec, &mlsvc.Error{Code: mlsvc.EThrottled, Message: "slow down", RetryAfter: 1500 * time.Millisecond})
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Errorf("throttled: %d, Retry-After %q; want 429 and 2 (rounded up)", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestDecoding: bad bodies get a 4xx that names the problem; the same
// request always gets the same answer.
func TestDecoding(t *testing.T) {
	f := newFixture(t)
	auth := basic("ann", "password1")
	tests := []struct {
		name, path, ctype, body string
		status                  int
		detail                  string
	}{
		{"no content type", "/users", "", `{"firstname":"A","username":"abc","password":"password1"}`, 415, "Content-Type"},
		{"form post", "/account/topup", "application/x-www-form-urlencoded", `amount=5`, 415, "application/x-www-form-urlencoded"},
		{"text/plain predict", "/predict", "text/plain", `{}`, 415, "application/json or text/csv"},
		{"empty", "/users", "application/json", ``, 400, "empty"},
		{"malformed", "/users", "application/json", `{"firstname":`, 400, "malformed JSON"},
		{"not an object", "/users", "application/json", `[1]`, 400, "JSON object"},
		{"two objects", "/users", "application/json", `{} {}`, 400, "one JSON object"},
		{"wrong type", "/users", "application/json", `{"firstname":1}`, 400, `"firstname" must be a string`},
		{"missing fields, first in order", "/users", "application/json", `{"password":"password1"}`, 400, `"firstname" is required`},
		{"missing later field", "/users", "application/json", `{"firstname":"A","password":"password1"}`, 400, `"username" is required`},
		{"charset parameter is fine", "/account/topup", "application/json; charset=utf-8", `{"amount":"x"}`, 400, `"amount" must be a number`},
		{"missing amount", "/account/topup", "application/json", `{}`, 400, `"amount" is required`},
		{"missing model", "/predict", "application/json", `{"input_data":{"a":1,"b":2}}`, 400, `"model_id" is required`},
		{"missing rows", "/predict", "application/json", `{"model_id":"lr"}`, 400, `"input_data" is required`},
		{"bad limit", "/predictions?limit=1001", "", ``, 400, "limit must be an integer from 1 to 1000"},
		{"duplicate key", "/account/topup", "application/json", `{"amount":1,"amount":1000}`, 400, "twice"},
		{"key differing in case", "/account/topup", "application/json", `{"amount":1,"AMOUNT":1000}`, 400, "duplicates"},
		{"keys match exactly", "/account/topup", "application/json", `{"Amount":5}`, 400, `"Amount" is not a known field`},
		{"invalid UTF-8", "/users", "application/json", "{\"firstname\":\"\xff\",\"username\":\"abc\",\"password\":\"password1\"}", 400, "UTF-8"},
		{"just under a cent, with an exponent", "/account/topup", "application/json", `{"amount":0.0099999e0}`, 400, "at most 2 decimal places"},
		{"duplicate row key", "/predict", "application/json", `{"model_id":"lr","input_data":{"a":1,"b":2,"b":3}}`, 400, "twice"},
		{"output column as input", "/predict", "application/json", `{"model_id":"lr","input_data":{"a":1,"b":2,"Prediction":3}}`, 400, "prediction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if strings.HasPrefix(tt.path, "/predictions") {
				method = "GET"
			}
			for range 3 { // deterministic: the same answer every time
				status, detail, _ := f.send(t, method, tt.path, tt.ctype, strings.NewReader(tt.body), auth)
				if status != tt.status || !strings.Contains(detail, tt.detail) {
					t.Fatalf("%d %q, want %d with %q", status, detail, tt.status, tt.detail)
				}
			}
		})
	}
}

// TestOversizedBody: a body over the limit is a 413 even for a client that
// sends it all before reading the answer (no Expect: 100-continue, as
// Python's http.client), not a reset connection.
func TestOversizedBody(t *testing.T) {
	f := newFixture(t)
	// Far over the limit (more than socket buffers hold), within what is drained.
	body := `{"model_id":"lr","input_data":"` + strings.Repeat("x", MaxBodyBytes*8/3) + `"}`
	for i := range 3 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		var req bytes.Buffer
		fmt.Fprintf(&req, "POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			basic("ann", "password1").Get("Authorization"), len(body), body)
		_, werr := conn.Write(req.Bytes()) // all of it, then read
		resp, rerr := http.ReadResponse(bufio.NewReader(conn), nil)
		if werr != nil || rerr != nil {
			t.Fatalf("attempt %d: write %v, read %v; want the whole body taken and a 413", i+1, werr, rerr)
		}
		data, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(data), "6000000 bytes") {
			t.Fatalf("oversized body: %d %s, want 413 naming the limit", resp.StatusCode, data)
		}
	}
}

// TestIdempotencyKeyHeader: malformed keys are refused; a retry is marked.
func TestIdempotencyKeyHeader(t *testing.T) {
	f := newFixture(t)
	auth := basic("ann", "password1")
	body := `{"model_id":"lr","input_data":{"a":1,"b":2}}`
	for _, key := range []string{strings.Repeat("k", 256), "tab\there", "é"} {
		h := auth.Clone()
		h.Set("Idempotency-Key", key)
		if status, detail, _ := f.send(t, "POST", "/predict", "application/json", strings.NewReader(body), h); status != 400 || !strings.Contains(detail, "Idempotency-Key") {
			t.Errorf("key %q: %d %q, want 400 naming the header", key, status, detail)
		}
	}
	h := auth.Clone()
	h.Set("Idempotency-Key", "order-1")
	for i := range 2 {
		status, _, resp := f.send(t, "POST", "/predict", "application/json", strings.NewReader(body), h)
		if status != 202 || (i == 1) != (resp.Header.Get("Idempotent-Replayed") == "true") {
			t.Fatalf("attempt %d: %d, Idempotent-Replayed %q", i+1, status, resp.Header.Get("Idempotent-Replayed"))
		}
	}
	other := `{"model_id":"lr","input_data":{"a":1,"b":3}}`
	if status, detail, _ := f.send(t, "POST", "/predict", "application/json", strings.NewReader(other), h); status != 422 || !strings.Contains(detail, "input_data") {
		t.Errorf("same key, other rows: %d %q, want 422 naming input_data", status, detail)
	}
}

// TestAuthCache: verified credentials are remembered for AuthCacheTTL and
// checked again after it; wrong ones are never remembered.
func TestAuthCache(t *testing.T) {
	f := newFixture(t)
	get := func(h http.Header) int {
		status, _, _ := f.send(t, "GET", "/users/me", "", nil, h)
		return status
	}
	base := f.store.lookups.Load()
	for range 3 {
		if status := get(basic("ann", "password1")); status != 200 {
			t.Fatalf("GET /users/me: %d", status)
		}
	}
	if n := f.store.lookups.Load() - base; n != 1 {
		t.Errorf("3 requests within the TTL checked the password %d times, want 1", n)
	}
	f.now = f.now.Add(mlsvc.AuthCacheTTL + time.Second)
	get(basic("ann", "password1"))
	if n := f.store.lookups.Load() - base; n != 2 {
		t.Errorf("after the TTL: %d checks in all, want 2", n)
	}
	for range 2 {
		if status := get(basic("ann", "wrong-password")); status != 401 {
			t.Errorf("wrong password: %d, want 401", status)
		}
	}
	if n := f.store.lookups.Load() - base; n != 4 {
		t.Errorf("two wrong passwords: %d checks in all, want 4 (never cached)", n)
	}
}
