// Package local assembles the whole service on one machine: the SQLite
// store, blobs in a directory behind signed URLs, the in-process workflow
// runner, the HTTP API and the web UI, all under one data directory.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/localblob"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/runner"
	"mlsvc/pkg/sqlite"
)

// Config is the local service's configuration.
type Config struct {
	DataDir string
	Delay   Delay
	// Catalog is published at start-up (models not in the store yet).
	Catalog []*mlsvc.Model
	// Builtin holds the catalog's model files.
	Builtin fs.FS
	// BaseURL, such as http://127.0.0.1:8000, makes download URLs absolute;
	// empty leaves them root-relative.
	BaseURL string
	// Web serves the UI at "/"; optional.
	Web        http.Handler
	BcryptCost int
	Logger     *slog.Logger
	// Admin opens the data for an administrative command while a server may
	// be running: pending predictions are left to the server.
	Admin bool
}

// App is a running local service.
type App struct {
	Service *mlsvc.Service
	Store   *sqlite.Store
	Blobs   *localblob.Store
	runner  *runner.Runner
	handler http.Handler
	log     *slog.Logger
}

// Open opens (or creates) the data directory, publishes the catalog and
// resumes predictions left pending by a previous run.
func Open(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	store, err := sqlite.Open(filepath.Join(cfg.DataDir, "mlsvc.db"))
	if err != nil {
		return nil, err
	}
	blobs, err := localblob.New(filepath.Join(cfg.DataDir, "blobs"), strings.TrimSuffix(cfg.BaseURL, "/")+"/blobs/")
	if err != nil {
		store.Close()
		return nil, err
	}
	run := runner.New(runtime.GOMAXPROCS(0), log)
	svc := mlsvc.New(mlsvc.Config{
		Store: store, Blobs: blobs, Workflow: run, Builtin: cfg.Builtin,
		Delay: cfg.Delay.Pick, BcryptCost: cfg.BcryptCost, Logger: log,
	})
	run.Bind(svc)
	a := &App{Service: svc, Store: store, Blobs: blobs, runner: run, log: log}
	if err := svc.Seed(ctx, cfg.Catalog); err != nil {
		a.Close()
		return nil, fmt.Errorf("publish models: %w", err)
	}
	if !cfg.Admin {
		n, err := run.Resume(ctx, store)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("resume pending predictions: %w", err)
		}
		if n > 0 {
			log.Info("resumed pending predictions", "count", n)
		}
	}

	api := httpapi.New(svc, httpapi.NewBasicAuth(svc, 5*time.Minute), log)
	mux := http.NewServeMux()
	api.Mount(mux)
	mux.Handle("GET /blobs/", http.StripPrefix("/blobs/", blobs.Handler()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	// Everything else: the UI for GET and HEAD, a JSON 404 otherwise.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Web != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			cfg.Web.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, `{"detail":"no such endpoint"}`)
	})
	a.handler = logRequests(log, mux)
	return a, nil
}

// Handler serves the API, the signed blob URLs, /healthz and the UI.
func (a *App) Handler() http.Handler { return a.handler }

// Close stops the runner (pending predictions stay pending for the next
// start) and closes the store.
func (a *App) Close() error {
	a.runner.Close()
	return a.Store.Close()
}

// Delay is the workflow's wait: a fixed duration or a uniform random one in
// [Min, Max].
type Delay struct{ Min, Max time.Duration }

// ParseDelay reads "10s-25s", "1s-2s" or a fixed "0s".
func ParseDelay(s string) (Delay, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	min, err := time.ParseDuration(lo)
	if err != nil {
		return Delay{}, fmt.Errorf("delay %q: want a duration like 10s or a range like 10s-25s", s)
	}
	max := min
	if isRange {
		if max, err = time.ParseDuration(hi); err != nil {
			return Delay{}, fmt.Errorf("delay %q: want a duration like 10s or a range like 10s-25s", s)
		}
	}
	if min < 0 || max < min {
		return Delay{}, errors.New("delay: the range must be non-negative and ascending")
	}
	return Delay{min, max}, nil
}

// Pick returns a delay in the range, rounded to whole seconds as Step
// Functions' Wait state counts them (a sub-second range is kept as it is).
func (d Delay) Pick() time.Duration {
	v := d.Min
	if d.Max > d.Min {
		v += rand.N(d.Max - d.Min + 1)
	}
	if d.Max >= time.Second {
		v = v.Round(time.Second)
	}
	return v
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)))
	})
}
