// Package local is the composition root of local mode (pkg/lambdafn is the
// one of AWS Lambda): it assembles the whole service on one machine — the
// SQLite store, blobs in a directory behind signed URLs, the in-process
// workflow runner, the HTTP API and the web UI — all under one data
// directory.
package local

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/httperr"
	"mlsvc/pkg/localblob"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"
	"mlsvc/pkg/obs/prom"
	"mlsvc/pkg/runner"
	"mlsvc/pkg/sqlite"
	"mlsvc/pkg/webhook"
)

// Config is the local service's configuration.
type Config struct {
	DataDir string
	Delay   mlsvc.Delay
	// Catalog is published at start-up (models not in the store yet).
	Catalog []*mlsvc.CatalogEntry
	// Builtin holds the catalog's model files.
	Builtin fs.FS
	// BaseURL, such as http://127.0.0.1:8000, makes download URLs absolute;
	// empty leaves them root-relative.
	BaseURL string
	// Web serves the UI at "/"; optional.
	Web        http.Handler
	BcryptCost int // 0: mlsvc.DefaultBcryptCost
	Logger     *slog.Logger
	// Now is the clock of the domain and of the runner (default
	// time.Now); tests move it.
	Now func() time.Time
	// Admin opens the data for an administrative command while a server may
	// be running: pending predictions are left to the server.
	Admin bool
	// AddressLimit bounds registrations and failed sign-ins per client
	// address; RateLimit the requests per user or API key (an in-process
	// token bucket). Zero: off (cmd/mlsvc sets the defaults).
	AddressLimit, RateLimit mlsvc.Rate
	// TopUpMode and Payments: how users add money (mlsvc.Config).
	TopUpMode string
	Payments  mlsvc.Payments
	// WebhookAllowPrivate lets webhooks go to loopback and private
	// addresses, and over http (MLSVC_WEBHOOK_ALLOW_PRIVATE=1; tests only).
	WebhookAllowPrivate bool
}

// App is a running local service.
type App struct {
	Service *mlsvc.Service
	Store   *sqlite.Store
	Blobs   *localblob.Store
	runner  *runner.Runner
	hooks   *webhook.Deliverer
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
	// Lines logged with a request's context carry its request_id, user_id
	// and prediction_id.
	log = obs.NewLogger(log.Handler())
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
	keys, err := LoadKeyset(cfg.DataDir)
	if err != nil {
		store.Close()
		return nil, err
	}
	metrics := prom.New(func(ctx context.Context) (int, error) {
		ps, err := store.PendingPredictions(ctx)
		return len(ps), err
	}, log)
	// Inputs up to sqlite.MaxInlineBytes are kept in the database with
	// their charge (mlsvc.InputStore); larger ones are files, fsynced
	// before the prediction is acknowledged, as the charge is.
	// The runner and the Service tell the broker when a prediction ends,
	// which wakes the requests waiting for it (Prefer: wait).
	// The deliverer sends the webhooks the store queues as predictions
	// end, once nudged, and after a restart.
	broker := mlsvc.NewBroker()
	var api *httpapi.API // set before hooks.Start
	hooks := webhook.New(webhook.Config{
		Queue: store, Secrets: store, AllowPrivate: cfg.WebhookAllowPrivate, Now: cfg.Now, Logger: log,
		Payload: func(ctx context.Context, d *mlsvc.WebhookDelivery) ([]byte, error) { return api.WebhookPayload(ctx, d) },
	})
	domain := mlsvc.Config{
		Store: store, Blobs: blobs, Builtin: cfg.Builtin,
		Delay: cfg.Delay.Pick, BcryptCost: cfg.BcryptCost, Logger: log, Now: cfg.Now,
		OnFinish: func(ctx context.Context, id string) {
			broker.Publish(ctx, id)
			hooks.Nudge(ctx, id)
		},
		Broker: broker, WebhookAllowPrivate: cfg.WebhookAllowPrivate,
		TokenKeys: keys, AddressLimit: cfg.AddressLimit, Metrics: metrics,
		TopUpMode: cfg.TopUpMode, Payments: cfg.Payments,
		SoleWriter: true, // one process: every password change goes through svc
	}
	run := runner.New(runner.Config{
		Steps: mlsvc.NewWorker(domain), Pending: store, Workers: runtime.GOMAXPROCS(0), Logger: log, Now: cfg.Now,
	})
	domain.Workflow = run
	svc := mlsvc.New(domain)
	a := &App{Service: svc, Store: store, Blobs: blobs, runner: run, hooks: hooks, log: log}
	if err := svc.Seed(ctx, cfg.Catalog); err != nil {
		a.Close()
		return nil, fmt.Errorf("publish models: %w", err)
	}
	if !cfg.Admin {
		n, err := run.Resume(ctx)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("resume pending predictions: %w", err)
		}
		if n > 0 {
			log.Info("resumed pending predictions", "count", n)
		}
		// Before serving: no write is in flight yet.
		n, err = blobs.Sweep(tmpAge, func(key string) bool { return orphan(ctx, store, key) })
		if err != nil {
			log.Warn("sweeping unreferenced files", "err", err)
		} else if n > 0 {
			log.Info("removed unreferenced files", "count", n)
		}
	}

	api = httpapi.New(svc, httpapi.NewAuth(svc, mlsvc.AuthCacheTTL, mlsvc.NewBucketLimiter(cfg.RateLimit, cfg.Now)), log).WithMaxWait(httpapi.MaxWaitLocal)
	if !cfg.Admin {
		hooks.Start()
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	mux.Handle("GET /blobs/", http.StripPrefix("/blobs/", blobs.Handler()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	// Prometheus metrics, like /healthz local only and unauthenticated: no
	// label names a user.
	mux.Handle("GET /metrics", metrics.Handler())
	// Everything else: the UI for GET and HEAD, a JSON 404 otherwise.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Web != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			cfg.Web.ServeHTTP(w, r)
			return
		}
		httperr.Detail(w, http.StatusNotFound, "no such endpoint")
	})
	a.handler = obs.Requests(log, mux, obs.RequestsOptions{Observe: metrics.ObserveRequest})
	return a, nil
}

// tmpAge is how old an unfinished write's temporary file must be for the
// start-up sweep to remove it: another process (an admin command) may be
// writing.
const tmpAge = 10 * time.Minute

// orphan reports whether key is a file of a prediction that does not exist:
// the input of a request refused before the charge, by versions that stored
// it first.
func orphan(ctx context.Context, store *sqlite.Store, key string) bool {
	rest, ok := strings.CutPrefix(key, "predictions/")
	id, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return false
	}
	_, err := store.Prediction(ctx, id)
	return mlsvc.ErrorCode(err) == mlsvc.ENotFound
}

// Handler serves the API, the signed blob URLs, /healthz, /metrics and the
// UI, logging each request (obs.Requests).
func (a *App) Handler() http.Handler { return a.handler }

// Close stops the runner (pending predictions stay pending for the next
// start) and closes the store.
func (a *App) Close() error {
	a.runner.Close()
	a.hooks.Close()
	return a.Store.Close()
}
