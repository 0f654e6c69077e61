// Package obs is the service's observability that both runtimes share: log
// attributes carried by the context (a request's id, its user, the
// prediction it acts on) and added to every line logged with that context
// (Handler), the one request log line and its 499 for clients that went
// away (Requests, http.go), and the business metrics as CloudWatch Embedded
// Metric Format lines (EMF, emf.go). The Prometheus metrics of local mode
// are in obs/prom, so that the Lambda binaries do not link them.
package obs

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// scope holds the attributes of one context: its own, added by With and
// Add, and its parent's, read when a line is logged.
type scope struct {
	parent *scope
	mu     sync.Mutex
	attrs  []slog.Attr
}

type scopeKey struct{}

func scopeOf(ctx context.Context) *scope {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// With returns a context whose log lines carry args (key-value pairs or
// slog.Attr, as slog.Logger.With takes) besides those of ctx.
func With(ctx context.Context, args ...any) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{parent: scopeOf(ctx), attrs: argsToAttrs(args)})
}

// Carry returns to with the attributes that from carries now, such as a
// request's id for the work it leaves to run after it.
func Carry(from, to context.Context) context.Context { return WithAttrs(to, Attrs(from)) }

// WithAttrs returns a context whose log lines carry attrs besides those of
// ctx; it keeps attrs, which the caller must not change. Carry is
// WithAttrs(to, Attrs(from)): work that waits long before it runs keeps
// the attributes only and makes its context when it runs.
func WithAttrs(ctx context.Context, attrs []slog.Attr) context.Context {
	if len(attrs) == 0 {
		return ctx
	}
	return context.WithValue(ctx, scopeKey{}, &scope{parent: scopeOf(ctx), attrs: attrs})
}

// Add adds args to the attributes of the innermost With of ctx, so that
// they show on the lines logged with ctx from then on and on the request
// line that Requests writes at the end (a handler adds the prediction it
// created, say). An attribute whose key is there already replaces it. It
// reports false, doing nothing, when ctx has no With.
func Add(ctx context.Context, args ...any) bool {
	s := scopeOf(ctx)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range argsToAttrs(args) {
		if i := slices.IndexFunc(s.attrs, func(b slog.Attr) bool { return b.Key == a.Key }); i >= 0 {
			s.attrs[i] = a
		} else {
			s.attrs = append(s.attrs, a)
		}
	}
	return true
}

// Attrs returns the attributes that ctx carries, outermost first; for a
// key set at several levels, the innermost value.
func Attrs(ctx context.Context) []slog.Attr {
	var chain []*scope
	for s := scopeOf(ctx); s != nil; s = s.parent {
		chain = append(chain, s)
	}
	var out []slog.Attr
	for i := len(chain) - 1; i >= 0; i-- {
		s := chain[i]
		s.mu.Lock()
		for _, a := range s.attrs {
			if j := slices.IndexFunc(out, func(b slog.Attr) bool { return b.Key == a.Key }); j >= 0 {
				out[j] = a
			} else {
				out = append(out, a)
			}
		}
		s.mu.Unlock()
	}
	return out
}

// Value returns the value of the attribute key that ctx carries, and
// whether there is one.
func Value(ctx context.Context, key string) (slog.Value, bool) {
	for _, a := range Attrs(ctx) {
		if a.Key == key {
			return a.Value, true
		}
	}
	return slog.Value{}, false
}

func argsToAttrs(args []any) []slog.Attr {
	var r slog.Record
	r.Add(args...)
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	return attrs
}

// Handler is a slog.Handler that adds the attributes of the context (With,
// Add) to each record, and those of its extra functions (such as Lambda's
// request id), before passing it on. An attribute the record has already
// (prediction_id given at the call, say) is not repeated.
type Handler struct {
	next  slog.Handler
	extra []func(context.Context) []slog.Attr
}

// NewHandler returns a Handler in front of next. extra functions add more
// attributes from the context.
func NewHandler(next slog.Handler, extra ...func(context.Context) []slog.Attr) *Handler {
	return &Handler{next: next, extra: extra}
}

// NewLogger returns a logger with a Handler in front of next.
func NewLogger(next slog.Handler, extra ...func(context.Context) []slog.Attr) *slog.Logger {
	return slog.New(NewHandler(next, extra...))
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, r)
	}
	add := Attrs(ctx)
	for _, f := range h.extra {
		add = append(add, f(ctx)...)
	}
	if len(add) == 0 {
		return h.next.Handle(ctx, r)
	}
	have := make(map[string]bool, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		have[a.Key] = true
		return true
	})
	r = r.Clone()
	for _, a := range add {
		if !have[a.Key] {
			have[a.Key] = true
			r.AddAttrs(a)
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), extra: h.extra}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), extra: h.extra}
}
