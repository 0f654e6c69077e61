package local_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"mlsvc/api"
	"mlsvc/pkg/mlsvc"
)

// documented checks every response of a's API against api/openapi.yaml: its
// status must be listed for the operation and its headers and body must
// match the document. It returns the set of "METHOD path status" seen.
func documented(t *testing.T, a *testApp) *sync.Map {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.YAML())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil // match any host
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	seen := &sync.Map{}
	next := a.srv.Config.Handler
	a.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		res := rec.Result()
		body := rec.Body.Bytes()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(body)

		route, params, err := router.FindRoute(r)
		if err != nil {
			if !strings.HasPrefix(r.URL.Path, "/files/") { // the signed blob URLs are not the API
				t.Errorf("%s %s: not in the document: %v", r.Method, r.URL.Path, err)
			}
			return
		}
		seen.Store(fmt.Sprintf("%s %s %d", r.Method, route.Path, res.StatusCode), true)
		if route.Operation.Responses.Status(res.StatusCode) == nil {
			t.Errorf("%s %s: status %d is not documented", r.Method, route.Path, res.StatusCode)
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
			Status:                 res.StatusCode,
			Header:                 res.Header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("%s %s → %d %.300s: does not match the document: %v", r.Method, r.URL.Path, res.StatusCode, body, err)
		}
	})
	return seen
}

// send makes a request with the given content type and headers (name,
// value pairs; an empty value sets none) and returns the status, headers
// and body. Every request helper of these tests goes through it.
func (c *client) send(method, path, contentType, body string, hdr ...string) (int, http.Header, string) {
	c.a.t.Helper()
	req, err := http.NewRequest(method, c.a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] != "" {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestResponsesMatchDocument drives a realistic journey through every route
// and fails on any response the OpenAPI document does not describe.
func TestResponsesMatchDocument(t *testing.T) {
	fast := open(t, t.TempDir(), mlsvc.Delay{})
	slow := open(t, t.TempDir(), mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	seen := documented(t, fast)
	seenSlow := documented(t, slow)

	want := func(c *client, status int, method, path, contentType, body string, hdr ...string) string {
		t.Helper()
		code, _, b := c.send(method, path, contentType, body, hdr...)
		if code != status {
			t.Errorf("%s %s: %d %s, want %d", method, path, code, b, status)
		}
		return b
	}
	anon := &client{a: fast}
	ann := fast.register("ann", "100")
	want(anon, 409, "POST", "/users", "application/json", `{"firstname":"A","username":"ann","password":"password-ann"}`)
	want(anon, 200, "POST", "/auth/token", "application/json", `{"username":"ann","password":"password-ann"}`)
	want(anon, 401, "POST", "/auth/token", "application/json", `{"username":"ann","password":"wrong-password"}`)
	want(anon, 401, "GET", "/users/me", "", "")
	want(ann, 200, "GET", "/users/me", "", "")
	want(ann, 200, "POST", "/account/topup", "application/json", `{"amount":1.5}`)
	want(ann, 400, "POST", "/account/topup", "application/json", `{"amount":"x"}`)
	want(anon, 200, "GET", "/models", "", "")

	input := `{"model_id":"lr","input_data":` + rows + `}`
	_, id := ann.predict("lr", rows)
	ann.wait(id)
	want(ann, 200, "GET", "/predict/"+id, "", "")
	want(ann, 302, "GET", "/predict/"+id+"/download", "", "")
	want(ann, 202, "POST", "/predict?model_id=lr", "text/csv",
		"feature_0,feature_1,feature_2,feature_3,feature_4\n1,2,3,4,5\n")
	want(ann, 202, "POST", "/predict", "application/json", input, "Idempotency-Key", "k1")
	want(ann, 202, "POST", "/predict", "application/json", input, "Idempotency-Key", "k1")
	want(ann, 422, "POST", "/predict", "application/json", `{"model_id":"rf","input_data":`+rows+`}`, "Idempotency-Key", "k1")
	want(ann, 200, "POST", "/predict", "application/json", input, "Prefer", "wait=5")
	want(ann, 400, "POST", "/predict", "application/json", `{"model_id":"lr"}`)
	want(ann, 404, "POST", "/predict", "application/json", `{"model_id":"nope","input_data":`+rows+`}`)
	want(ann, 415, "POST", "/predict", "text/plain", "hello")
	want(ann, 413, "POST", "/predict", "application/json", `{"model_id":"lr","input_data":"`+strings.Repeat("a", 6_100_000)+`"}`)
	want(ann, 404, "GET", "/predict/nope", "", "")
	want(ann, 404, "GET", "/predict/nope/download", "", "")
	want(ann, 409, "POST", "/predict/"+id+"/cancel", "", "")
	want(ann, 200, "GET", "/predictions?limit=2", "", "")
	want(ann, 400, "GET", "/predictions?limit=0", "", "")
	want(ann, 200, "GET", "/account/transactions?limit=2", "", "")
	want(ann, 400, "GET", "/account/transactions?limit=x", "", "")
	want(ann, 200, "GET", "/account/webhook-secret", "", "")
	want(ann, 200, "POST", "/account/webhook-secret/rotate", "", "")

	key := want(ann, 201, "POST", "/api-keys", "application/json", `{"name":"ci"}`)
	var keyID string
	if i := strings.Index(key, `"id":"`); i >= 0 {
		keyID, _, _ = strings.Cut(key[i+6:], `"`)
	}
	want(ann, 400, "POST", "/api-keys", "application/json", `{}`)
	want(ann, 200, "GET", "/api-keys", "", "")
	want(ann, 204, "DELETE", "/api-keys/"+keyID, "", "")
	want(ann, 404, "DELETE", "/api-keys/"+keyID, "", "")
	want(anon, 404, "POST", "/webhooks/stripe", "application/json", `{}`, "Stripe-Signature", "t=1,v1=00")

	broke := fast.register("broke", "")
	want(broke, 402, "POST", "/predict", "application/json", input)
	want(broke, 400, "POST", "/users/me/password", "application/json", `{"current_password":"password-broke"}`)
	want(broke, 204, "POST", "/users/me/password", "application/json",
		`{"current_password":"password-broke","new_password":"another-password-1"}`)

	// Pending, then canceled.
	bob := slow.register("bob", "100")
	_, pid := bob.predict("lr", rows)
	if p := bob.get(pid); p.Status != "pending" {
		t.Errorf("status %q, want pending", p.Status)
	}
	want(bob, 409, "GET", "/predict/"+pid+"/download", "", "")
	want(bob, 200, "POST", "/predict/"+pid+"/cancel", "", "")
	want(bob, 200, "GET", "/predict/"+pid, "", "")

	// Repeated wrong passwords are throttled, with Retry-After.
	fast.register("eve", "")
	throttled := false
	for range 10 {
		code, hdr, _ := anon.send("POST", "/auth/token", "application/json", `{"username":"eve","password":"wrong-password"}`)
		if code == 429 {
			throttled = hdr.Get("Retry-After") != ""
			break
		}
	}
	if !throttled {
		t.Error("no 429 with Retry-After after 10 wrong passwords")
	}

	// The operator mode refuses top-ups.
	op := openMode(t, "operator", nil)
	seenOp := documented(t, op)
	carl := op.register("carl", "")
	want(carl, 403, "POST", "/account/topup", "application/json", `{"amount":5}`)

	var n int
	for _, s := range []*sync.Map{seen, seenSlow, seenOp} {
		s.Range(func(k, _ any) bool { n++; return true })
	}
	if n < 30 {
		t.Errorf("only %d distinct responses seen", n)
	}
}
