// Package prom is local mode's metrics in the Prometheus text format
// (GET /metrics): the HTTP requests (obs.Requests' Observe) and the
// predictions' business events (an mlsvc.Metrics). No label names a user.
package prom

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mlsvc/pkg/mlsvc"
)

// PendingCacheTTL is how long the pending count is reused between scrapes,
// so that scraping /metrics often does not list pending predictions often.
const PendingCacheTTL = 5 * time.Second

// Metrics is the registry of local mode's metrics. It is an mlsvc.Metrics.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	created, completed, failed, canceled, refunded *prometheus.CounterVec
	revenue, refundedCents                         *prometheus.CounterVec
	inference                                      *prometheus.HistogramVec
	settled                                        prometheus.Counter
}

var _ mlsvc.Metrics = (*Metrics)(nil)

// New returns the metrics; pending counts the predictions still pending
// (nil: no such gauge). Errors of pending are logged to log.
func New(pending func(context.Context) (int, error), log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "mlsvc", Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	m.requests = counter("http_requests_total", "HTTP requests answered, by route pattern and status (499: the client went away).", "route", "status")
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "mlsvc", Name: "http_request_duration_seconds", Help: "HTTP request duration by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	m.created = counter("predictions_created_total", "Predictions charged and created, by model.", "model")
	m.completed = counter("predictions_completed_total", "Predictions completed, by model.", "model")
	m.failed = counter("predictions_failed_total", "Predictions failed (and refunded), by model.", "model")
	m.canceled = counter("predictions_canceled_total", "Predictions canceled, by model.", "model")
	m.refunded = counter("predictions_refunded_total", "Predictions whose charge was refunded, by model.", "model")
	m.revenue = counter("revenue_cents_total", "Cents charged for predictions, by model, before refunds (net revenue: minus mlsvc_refunded_cents_total).", "model")
	m.refundedCents = counter("refunded_cents_total", "Cents refunded for failed or canceled predictions, by model.", "model")
	m.inference = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "mlsvc", Name: "inference_duration_seconds", Help: "How long a model took to evaluate one prediction's rows, by model.",
		Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
	}, []string{"model"})
	m.settled = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "mlsvc", Name: "predictions_settled_total", Help: "Stale pending predictions failed and refunded by a sweep.",
	})
	m.reg.MustRegister(m.duration, m.inference, m.settled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pending != nil {
		p := &pendingCount{count: pending, log: log}
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "mlsvc", Name: "predictions_pending", Help: "Predictions charged and not final yet (at most " + PendingCacheTTL.String() + " old).",
		}, p.get))
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is where the metrics are registered (tests gather it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts a request: obs.RequestsOptions.Observe.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// PredictionCreated implements mlsvc.Metrics.
func (m *Metrics) PredictionCreated(_ context.Context, modelID string, cost mlsvc.Cents) {
	m.created.WithLabelValues(modelID).Inc()
	m.revenue.WithLabelValues(modelID).Add(float64(cost))
}

// PredictionFinished implements mlsvc.Metrics.
func (m *Metrics) PredictionFinished(_ context.Context, modelID string, status mlsvc.Status, refunded mlsvc.Cents, inference time.Duration) {
	switch status {
	case mlsvc.StatusCompleted:
		m.completed.WithLabelValues(modelID).Inc()
		m.inference.WithLabelValues(modelID).Observe(inference.Seconds())
	case mlsvc.StatusFailed:
		m.failed.WithLabelValues(modelID).Inc()
	case mlsvc.StatusCanceled:
		m.canceled.WithLabelValues(modelID).Inc()
	}
	if refunded > 0 {
		m.refunded.WithLabelValues(modelID).Inc()
		m.refundedCents.WithLabelValues(modelID).Add(float64(refunded))
	}
}

// PredictionsSettled implements mlsvc.Metrics.
func (m *Metrics) PredictionsSettled(_ context.Context, n int) { m.settled.Add(float64(n)) }

// pendingCount caches the pending count for PendingCacheTTL.
type pendingCount struct {
	count func(context.Context) (int, error)
	log   *slog.Logger

	mu sync.Mutex
	at time.Time
	n  float64
}

func (p *pendingCount) get() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && time.Since(p.at) < PendingCacheTTL {
		return p.n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := p.count(ctx)
	if err != nil {
		p.log.Warn("metrics: counting pending predictions", "err", err)
		return p.n
	}
	p.at, p.n = time.Now(), float64(n)
	return p.n
}
