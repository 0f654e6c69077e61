package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Attribute keys that the request line and the lines of a request carry.
const (
	KeyRequestID    = "request_id"
	KeyUserID       = "user_id"
	KeyPredictionID = "prediction_id"
)

// StatusClientClosed is the status logged (and counted) for a request whose
// client went away before the answer: nginx's 499 "client closed request".
// It is not a server error.
const StatusClientClosed = 499

// RequestIDHeader carries a request's id, in the answer and, from a
// client or a proxy locally, in the request.
const RequestIDHeader = "X-Request-Id"

// RequestsOptions configure Requests.
type RequestsOptions struct {
	// RequestID returns the id of a request (default IncomingOrNewID).
	RequestID func(*http.Request) string
	// Observe, when set, is told each request's route, status and
	// duration, for metrics.
	Observe func(route string, status int, d time.Duration)
}

// requestState is what the handlers of a request tell Requests.
type requestState struct {
	mu  sync.Mutex
	err error
}

type requestKey struct{}

// Requests wraps next with the one log line of each request: method,
// route (the pattern of the ServeMux route that served it, not the path),
// status, duration, the request's id (also answered as X-Request-Id) and
// the attributes the handlers added (obs.Add: user_id, prediction_id) and
// the error they answered (RecordError). A 5xx answer is logged at Error
// (with its numeric status, which a metric filter counts), anything else
// at Info; a request whose client went away is logged as 499.
//
// next should be (or end in) a ServeMux: the route is its pattern.
func Requests(log *slog.Logger, next http.Handler, opts RequestsOptions) http.Handler {
	if opts.RequestID == nil {
		opts.RequestID = IncomingOrNewID
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := opts.RequestID(r)
		w.Header().Set(RequestIDHeader, id)
		st := &requestState{}
		ctx := context.WithValue(With(r.Context(), KeyRequestID, id), requestKey{}, st)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			v := recover() // logged, then panicked again
			status := rec.status
			switch {
			case v != nil:
				status = http.StatusInternalServerError
			case status == 0:
				status = http.StatusOK
			}
			gone := v == http.ErrAbortHandler || ClientGone(r) || rec.writeErr != nil
			if gone && (status >= 500 || rec.status == 0 || rec.writeErr != nil) {
				status = StatusClientClosed
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			level, msg := slog.LevelInfo, "request"
			if status >= 500 {
				level = slog.LevelError
			} else if status == StatusClientClosed {
				msg = "client closed request"
			}
			attrs := append([]slog.Attr{
				slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			}, Attrs(ctx)...)
			st.mu.Lock()
			if st.err != nil {
				attrs = append(attrs, slog.Any("err", st.err))
			}
			st.mu.Unlock()
			if v != nil && v != http.ErrAbortHandler {
				attrs = append(attrs, slog.Any("panic", v))
			}
			log.LogAttrs(ctx, level, msg, attrs...)
			if opts.Observe != nil {
				opts.Observe(route, status, d)
			}
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// RecordError records the error a handler answers, for the request line
// of Requests. It reports false when no Requests serves ctx's request, and
// the caller is to log the error itself.
func RecordError(ctx context.Context, err error) bool {
	st, _ := ctx.Value(requestKey{}).(*requestState)
	if st == nil {
		return false
	}
	st.mu.Lock()
	st.err = err
	st.mu.Unlock()
	return true
}

// ClientGone reports whether the client of r went away: the server
// canceled its context (not a deadline of the server's own).
func ClientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// IncomingOrNewID is the request id of local mode: the request's own
// X-Request-Id when it is a sane one (1 to 64 letters, digits, '-', '_',
// '.', ':'), a new random one otherwise.
func IncomingOrNewID(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); saneID(id) {
		return id
	}
	return NewRequestID()
}

// NewRequestID returns a random 128-bit id in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func saneID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// recorder records the status a handler answered and whether a write
// failed (the connection closed).
type recorder struct {
	http.ResponseWriter
	status   int
	writeErr error
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.writeErr == nil {
		w.writeErr = err
	}
	return n, err
}

// Flush lets handlers stream.
func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap is for http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
