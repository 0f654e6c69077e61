package obs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mlsvc/pkg/obs"
)

// lines parses the JSON lines of buf, as pkg/local's syncBuffer.lines
// (obs_test.go) parses the service's: each test package reads the logs it
// captured.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %s: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHandlerAddsContextAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := obs.NewLogger(slog.NewJSONHandler(&buf, nil), func(context.Context) []slog.Attr {
		return []slog.Attr{slog.String("aws_request_id", "lambda-1")}
	})
	ctx := obs.With(context.Background(), "request_id", "r-1")
	child := obs.With(ctx, "prediction_id", "p-1")
	if !obs.Add(ctx, "user_id", "u-1") {
		t.Fatal("Add on a context with With reported false")
	}
	if obs.Add(context.Background(), "user_id", "u-2") {
		t.Error("Add on a context without With reported true")
	}
	if v, ok := obs.Value(obs.Carry(child, context.Background()), "prediction_id"); !ok || v.String() != "p-1" {
		t.Errorf("Carry lost prediction_id: %v", v)
	}
	if got := obs.Carry(context.Background(), ctx); got != ctx {
		t.Error("Carry of nothing made a new context")
	}
	log.InfoContext(child, "one", "prediction_id", "p-given")
	log.With("k", "v").WarnContext(ctx, "two")
	log.Info("three")
	got := lines(t, &buf)
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3", len(got))
	}
	// The parent's later Add shows in the child's lines; the call's own
	// prediction_id wins and is not repeated.
	want := map[string]any{"msg": "one", "request_id": "r-1", "user_id": "u-1", "prediction_id": "p-given", "aws_request_id": "lambda-1"}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("line 1: %s = %v, want %v (%v)", k, got[0][k], v, got[0])
		}
	}
	if n := strings.Count(buf.String(), `"prediction_id"`); n != 1 {
		t.Errorf("prediction_id appears %d times, want once: %s", n, buf.String())
	}
	if got[1]["request_id"] != "r-1" || got[1]["k"] != "v" || got[1]["prediction_id"] != nil {
		t.Errorf("line 2: %v", got[1])
	}
	if got[2]["request_id"] != nil || got[2]["aws_request_id"] != "lambda-1" {
		t.Errorf("line 3 (no context attrs): %v", got[2])
	}
}

// served is one request through Requests in front of a ServeMux.
type served struct {
	resp *http.Response
	line map[string]any
	obs  []string
}

func serve(t *testing.T, mux *http.ServeMux, req *http.Request) served {
	t.Helper()
	var buf bytes.Buffer
	log := obs.NewLogger(slog.NewJSONHandler(&buf, nil))
	var observed []string
	h := obs.Requests(log, mux, obs.RequestsOptions{Observe: func(route string, status int, d time.Duration) {
		observed = append(observed, route+" "+http.StatusText(status))
		if d <= 0 {
			t.Errorf("duration %v", d)
		}
	}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	ls := lines(t, &buf)
	var line map[string]any
	for _, l := range ls {
		if _, ok := l["route"]; ok {
			if line != nil {
				t.Fatalf("two request lines: %s", buf.String())
			}
			line = l
		}
	}
	if line == nil {
		t.Fatalf("no request line: %s", buf.String())
	}
	return served{rec.Result(), line, observed}
}

func TestRequests(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		obs.Add(r.Context(), "user_id", "u-7", "prediction_id", r.PathValue("id"))
		switch r.PathValue("id") {
		case "missing":
			obs.RecordError(r.Context(), errors.New("no such thing"))
			http.Error(w, "no", http.StatusNotFound)
		case "broken":
			obs.RecordError(r.Context(), errors.New("disk on fire"))
			http.Error(w, "no", http.StatusInternalServerError)
		case "slow":
			<-r.Context().Done()
			obs.RecordError(r.Context(), r.Context().Err())
			http.Error(w, "canceled", http.StatusInternalServerError)
		case "panic":
			panic("boom")
		default:
			w.Write([]byte("ok"))
		}
	})
	req := func(path, id string) *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		if id != "" {
			r.Header.Set(obs.RequestIDHeader, id)
		}
		return r
	}

	s := serve(t, mux, req("/things/42", "client-id-1"))
	for k, v := range map[string]any{
		"level": "INFO", "msg": "request", "method": "GET", "route": "GET /things/{id}", "status": 200.0,
		"request_id": "client-id-1", "user_id": "u-7", "prediction_id": "42",
	} {
		if s.line[k] != v {
			t.Errorf("200: %s = %v, want %v", k, s.line[k], v)
		}
	}
	if _, ok := s.line["duration_ms"].(float64); !ok {
		t.Errorf("200: no duration_ms: %v", s.line)
	}
	if got := s.resp.Header.Get(obs.RequestIDHeader); got != "client-id-1" {
		t.Errorf("X-Request-Id = %q, want the client's", got)
	}
	if len(s.obs) != 1 || s.obs[0] != "GET /things/{id} OK" {
		t.Errorf("observed %v", s.obs)
	}

	// An id that is not sane is replaced by a new one.
	for _, bad := range []string{strings.Repeat("a", 65), "a b", "x\"y", "é"} {
		s = serve(t, mux, req("/things/1", bad))
		id := s.resp.Header.Get(obs.RequestIDHeader)
		if id == bad || len(id) != 32 || s.line["request_id"] != id {
			t.Errorf("incoming id %q: answered %q, logged %v", bad, id, s.line["request_id"])
		}
	}

	s = serve(t, mux, req("/things/missing", ""))
	if s.line["level"] != "INFO" || s.line["status"] != 404.0 || s.line["err"] != "no such thing" {
		t.Errorf("404: %v", s.line)
	}
	s = serve(t, mux, req("/things/broken", ""))
	if s.line["level"] != "ERROR" || s.line["status"] != 500.0 || s.line["err"] != "disk on fire" {
		t.Errorf("500: %v", s.line)
	}
	s = serve(t, mux, req("/nowhere", ""))
	if s.line["route"] != "unmatched" || s.line["status"] != 404.0 || s.line["level"] != "INFO" {
		t.Errorf("unmatched: %v", s.line)
	}

	// A client that goes away: 499 at Info, whatever the handler answered.
	ctx, cancel := context.WithCancel(context.Background())
	r := req("/things/slow", "")
	r = r.WithContext(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	s = serve(t, mux, r)
	if s.line["level"] != "INFO" || s.line["status"] != 499.0 || s.line["msg"] != "client closed request" {
		t.Errorf("canceled: %v", s.line)
	}
	if len(s.obs) != 1 || !strings.HasSuffix(s.obs[0], " ") { // 499 has no status text
		t.Errorf("canceled observed %q", s.obs)
	}

	// A panic is logged as a 500 and goes on up.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go on up")
			}
		}()
		serve(t, mux, req("/things/panic", ""))
	}()
}

func TestRequestsPanicLogged(t *testing.T) {
	var buf bytes.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("GET /p", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := obs.Requests(slog.New(slog.NewJSONHandler(&buf, nil)), mux, obs.RequestsOptions{})
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil))
	}()
	ls := lines(t, &buf)
	if len(ls) != 1 || ls[0]["level"] != "ERROR" || ls[0]["status"] != 500.0 || ls[0]["panic"] != "boom" {
		t.Errorf("panic line: %v", ls)
	}
}
