package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
)

// scrape returns GET /metrics as name{labels} → value.
func (a *testApp) scrape() map[string]float64 {
	a.t.Helper()
	body := get(a.t, a.srv.URL+"/metrics", 200)
	out := map[string]float64{}
	for _, l := range strings.Split(body, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			a.t.Fatalf("metrics line %q: %v", l, err)
		}
		out[l[:i]] = v
	}
	return out
}

// delta checks that each series moved by exactly want between before and after.
func delta(t *testing.T, before, after map[string]float64, want map[string]float64) {
	t.Helper()
	for k, d := range want {
		if got := after[k] - before[k]; got != d {
			t.Errorf("%s moved by %v, want %v", k, got, d)
		}
	}
}

func cost(t *testing.T, id string) mlsvc.Cents {
	t.Helper()
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range entries {
		if m.ID == id {
			return m.Cost
		}
	}
	t.Fatalf("no model %s", id)
	return 0
}

// TestMetrics: /metrics counts what happened, exactly, and names no user.
func TestMetrics(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{})
	c := a.register("mia", "100")
	var me struct {
		ID string `json:"user_id"`
	}
	if c.do("GET", "/users/me", "", &me); me.ID == "" {
		t.Fatal("no user id")
	}

	before := a.scrape()
	code, id := c.predict("rf", rows)
	if code != 202 {
		t.Fatalf("predict: %d", code)
	}
	if p := c.wait(id); p.Status != "completed" {
		t.Fatalf("status %s", p.Status)
	}
	after := a.scrape()
	rf := float64(cost(t, "rf"))
	delta(t, before, after, map[string]float64{
		`mlsvc_predictions_created_total{model="rf"}`:                      1,
		`mlsvc_predictions_completed_total{model="rf"}`:                    1,
		`mlsvc_predictions_failed_total{model="rf"}`:                       0,
		`mlsvc_predictions_refunded_total{model="rf"}`:                     0,
		`mlsvc_revenue_cents_total{model="rf"}`:                            rf,
		`mlsvc_refunded_cents_total{model="rf"}`:                           0,
		`mlsvc_inference_duration_seconds_count{model="rf"}`:               1,
		`mlsvc_http_requests_total{route="POST /predict",status="202"}`:    1,
		`mlsvc_http_request_duration_seconds_count{route="POST /predict"}`: 1,
	})
	if n := after[`mlsvc_http_requests_total{route="GET /predict/{id}",status="200"}`]; n < 1 {
		t.Errorf("GET /predict/{id} counted %v times under its pattern", n)
	}
	if after["mlsvc_predictions_pending"] != 0 {
		t.Errorf("pending = %v, want 0", after["mlsvc_predictions_pending"])
	}

	// A failed prediction: failed and refunded, nothing completed.
	ctx := context.Background()
	if err := a.app.Blobs.Put(ctx, "models/broken.json", "application/json", strings.NewReader(`{"format":"linear"`)); err != nil {
		t.Fatal(err)
	}
	if err := a.app.Store.PutModel(ctx, &mlsvc.CatalogEntry{
		ID: "broken", Name: "Broken", Cost: 7_25, File: "models/broken.json",
		Features: []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"}, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	before = a.scrape()
	_, id = c.predict("broken", rows)
	if p := c.wait(id); p.Status != "failed" {
		t.Fatalf("status %s", p.Status)
	}
	after = a.scrape()
	delta(t, before, after, map[string]float64{
		`mlsvc_predictions_created_total{model="broken"}`:   1,
		`mlsvc_predictions_failed_total{model="broken"}`:    1,
		`mlsvc_predictions_refunded_total{model="broken"}`:  1,
		`mlsvc_predictions_completed_total{model="broken"}`: 0,
		`mlsvc_revenue_cents_total{model="broken"}`:         7_25,
		`mlsvc_refunded_cents_total{model="broken"}`:        7_25,
		`mlsvc_predictions_completed_total{model="rf"}`:     0,
	})

	body := get(t, a.srv.URL+"/metrics", 200)
	for _, secret := range []string{me.ID, "mia"} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}
}

// TestPendingGauge: a prediction waiting for its delay is pending.
func TestPendingGauge(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	c := a.register("pat", "100")
	if code, _ := c.predict("lr", rows); code != 202 {
		t.Fatalf("predict: %d", code)
	}
	if got := a.scrape()["mlsvc_predictions_pending"]; got != 1 {
		t.Errorf("pending = %v, want 1", got)
	}
}

// syncBuffer is a bytes.Buffer for concurrent writers. test/aws's
// harness_test.go has its own: two test packages share no unexported
// helper, and these few lines do not make a package worth importing.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log lines written so far, parsed as pkg/obs's
// tests parse theirs (lines in obs_test.go): each test package reads the
// logs it captured.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestRequestLog: one JSON line per request with the route's pattern, the
// status, the request id and the user; the domain's lines of the request
// carry its id; 4xx at INFO, 5xx at ERROR, a client gone at INFO as 499.
func TestRequestLog(t *testing.T) {
	var logs syncBuffer
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	app, err := local.Open(context.Background(), local.Config{
		DataDir: t.TempDir(), Catalog: entries, Builtin: catalog.Files, BcryptCost: bcrypt.MinCost,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{t: t, app: app, srv: httptest.NewServer(app.Handler())}
	t.Cleanup(a.close)
	c := a.register("lou", "100")
	var me struct {
		ID string `json:"user_id"`
	}
	if c.do("GET", "/users/me", "", &me); me.ID == "" {
		t.Fatal("no user id")
	}

	send := func(method, path, requestID string, body string) (int, http.Header) {
		t.Helper()
		code, hdr, _ := c.send(method, path, jsonType(body), body, "X-Request-Id", requestID)
		return code, hdr
	}
	// requestLines are the lines of the request id.
	requestLines := func(id string) (line map[string]any, others []map[string]any) {
		t.Helper()
		for _, l := range logs.lines(t) {
			if l["request_id"] != id {
				continue
			}
			if _, ok := l["route"]; ok {
				if line != nil {
					t.Errorf("two request lines for %s", id)
				}
				line = l
			} else {
				others = append(others, l)
			}
		}
		if line == nil {
			t.Fatalf("no request line with request_id %s: %v", id, logs.lines(t))
		}
		return line, others
	}
	// check is the check of pkg/lambdafn's TestRequestLog too: both
	// runtimes' request lines are held to the same fields.
	check := func(name string, line map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", name, k, line[k], v, line)
			}
		}
		if _, ok := line["duration_ms"].(float64); !ok {
			t.Errorf("%s: no duration_ms", name)
		}
	}

	code, hdr := send("POST", "/predict", "req-predict-1", `{"model_id":"lr","input_data":`+rows+`}`)
	if code != 202 || hdr.Get("X-Request-Id") != "req-predict-1" {
		t.Fatalf("predict: %d, X-Request-Id %q", code, hdr.Get("X-Request-Id"))
	}
	line, others := requestLines("req-predict-1")
	check("predict", line, map[string]any{
		"level": "INFO", "method": "POST", "route": "POST /predict", "status": 202.0, "user_id": me.ID,
	})
	pid, _ := line["prediction_id"].(string)
	if pid == "" {
		t.Fatalf("predict line without prediction_id: %v", line)
	}
	var requested bool
	for _, l := range others {
		requested = requested || l["msg"] == "prediction requested" && l["prediction_id"] == pid && l["user_id"] == me.ID
	}
	if !requested {
		t.Errorf("the domain's line of the request does not carry its request_id: %v", others)
	}

	// The runner's lines of the prediction carry the request that made it.
	// (The line follows the completion: it may come after c.wait sees it.)
	c.wait(pid)
	completed := false
	for deadline := time.Now().Add(10 * time.Second); !completed && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range logs.lines(t) {
			if l["msg"] == "prediction completed" {
				completed = l["prediction_id"] == pid && l["request_id"] == "req-predict-1" && l["user_id"] == me.ID
			}
		}
	}
	if !completed {
		t.Errorf("no completion line with the prediction, its request id and user: %v", logs.lines(t))
	}

	_, hdr = send("GET", "/predict/"+pid, "", "")
	id := hdr.Get("X-Request-Id")
	if len(id) != 32 {
		t.Fatalf("generated X-Request-Id %q", id)
	}
	line, _ = requestLines(id)
	check("get", line, map[string]any{"route": "GET /predict/{id}", "status": 200.0, "prediction_id": pid, "user_id": me.ID})

	send("GET", "/predict/no-such-id", "req-404", "")
	line, _ = requestLines("req-404")
	check("404", line, map[string]any{"level": "INFO", "route": "GET /predict/{id}", "status": 404.0})
	send("GET", "/predict/"+strings.Repeat("a", 1000), "req-long", "")
	if line, _ = requestLines("req-long"); line["prediction_id"] != nil || line["status"] != 404.0 {
		t.Errorf("a path id of 1000 characters: %v", line)
	}

	// A client that went away: its canceled request is a 499 at INFO.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/predictions", nil).WithContext(ctx)
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("X-Request-Id", "req-gone")
	app.Handler().ServeHTTP(httptest.NewRecorder(), req)
	line, others = requestLines("req-gone")
	check("client gone", line, map[string]any{"level": "INFO", "status": 499.0, "msg": "client closed request", "route": "GET /predictions"})
	for _, l := range others {
		if l["level"] == "ERROR" {
			t.Errorf("client gone: an ERROR line: %v", l)
		}
	}

	// A server error: ERROR, and exactly one line with its numeric status
	// (the metric filter { $.status >= 500 } counts lines).
	app.Store.Close()
	send("GET", "/models", "req-500", "")
	line, others = requestLines("req-500")
	check("500", line, map[string]any{"level": "ERROR", "route": "GET /models", "status": 500.0})
	if line["err"] == nil {
		t.Errorf("500 line without the error: %v", line)
	}
	fives := 0
	for _, l := range logs.lines(t) {
		if s, ok := l["status"].(float64); ok && s >= 500 {
			fives++
		}
	}
	if fives != 1 {
		t.Errorf("%d lines with status >= 500, want 1 (one per 5xx answer)", fives)
	}
	if regexp.MustCompile(`"status":"`).MatchString(func() string { logs.mu.Lock(); defer logs.mu.Unlock(); return logs.b.String() }()) {
		t.Error("a status logged as a string")
	}
}
