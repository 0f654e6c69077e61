package mlsvc

import (
	"context"
	"log/slog"
	"time"
)

// Metrics observes the business events of predictions, for the runtime's
// metrics: Prometheus locally (pkg/obs/prom), CloudWatch Embedded Metric
// Format lines on AWS (obs.EMF). Each event is reported once, when it
// happens: a charge that committed, a transition to a final status (not a
// repeated attempt that finds the prediction final already), a sweep.
// Implementations must be safe for concurrent use and must not block.
type Metrics interface {
	// PredictionCreated: a prediction was charged cost and created.
	PredictionCreated(ctx context.Context, modelID string, cost Cents)
	// PredictionFinished: a prediction reached the final status; refunded
	// is the amount given back (0 when completed), inference how long its
	// model took (0 unless completed).
	PredictionFinished(ctx context.Context, modelID string, status Status, refunded Cents, inference time.Duration)
	// PredictionsSettled: a sweep of stale predictions failed and
	// refunded n of them (each also reported by PredictionFinished).
	PredictionsSettled(ctx context.Context, n int)
}

// NopMetrics is the default Metrics: it records nothing.
type NopMetrics struct{}

var _ Metrics = NopMetrics{}

func (NopMetrics) PredictionCreated(context.Context, string, Cents) {}
func (NopMetrics) PredictionFinished(context.Context, string, Status, Cents, time.Duration) {
}
func (NopMetrics) PredictionsSettled(context.Context, int) {}

// observeFailed reports the failure and refund of the prediction id, which
// just happened: the model and the amount are read back (failures are
// rare; a prediction is small).
func observeFailed(ctx context.Context, store Store, m Metrics, log *slog.Logger, id string) {
	if _, nop := m.(NopMetrics); nop {
		return
	}
	modelID, refunded := "unknown", Cents(0)
	p, err := store.Prediction(context.WithoutCancel(ctx), id)
	if err != nil {
		log.WarnContext(ctx, "metrics: failed prediction not read back", "prediction_id", id, "err", err)
	} else {
		modelID, refunded = p.ModelID, p.Cost
	}
	m.PredictionFinished(ctx, modelID, StatusFailed, refunded, 0)
}
