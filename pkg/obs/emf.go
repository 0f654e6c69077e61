package obs

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Namespace is the CloudWatch namespace of the business metrics.
const Namespace = "MLService"

// The business metrics' names and units, as docs/OPERATIONS.md documents
// them (the alarms and the dashboard of template.yaml read them).
const (
	MetricCreated           = "PredictionsCreated"
	MetricCompleted         = "PredictionsCompleted"
	MetricFailed            = "PredictionsFailed"
	MetricCanceled          = "PredictionsCanceled"
	MetricRefunded          = "PredictionsRefunded"
	MetricRevenueCents      = "RevenueCents"
	MetricInferenceDuration = "InferenceDuration"
	MetricSettled           = "PredictionsSettled"

	UnitCount        = "Count"
	UnitNone         = "None"
	UnitMilliseconds = "Milliseconds"

	// DimensionModel is the per-model dimension.
	DimensionModel = "ModelId"
)

// EMF is the mlsvc.Metrics of the Lambda functions: each event is one
// CloudWatch Embedded Metric Format line written to w (stdout in a
// function), from which CloudWatch Logs extracts the metrics: no API call,
// no extra permission. Every metric of a prediction is published per
// model and as a total (dimension sets [["ModelId"], []]);
// PredictionsSettled, which has no model, as a total only. The line also
// carries the context's string attributes (request_id, prediction_id) as
// properties, to find the logs of a data point.
type EMF struct {
	mu    sync.Mutex
	w     io.Writer
	now   func() time.Time
	log   *slog.Logger
	extra []func(context.Context) []slog.Attr
}

var _ mlsvc.Metrics = (*EMF)(nil)

// NewEMF returns an EMF writing to w; write errors are logged to log.
// extra functions add more properties from the context, as for Handler.
func NewEMF(w io.Writer, log *slog.Logger, extra ...func(context.Context) []slog.Attr) *EMF {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EMF{w: w, now: time.Now, log: log, extra: extra}
}

// PredictionCreated implements mlsvc.Metrics.
func (e *EMF) PredictionCreated(ctx context.Context, modelID string, cost mlsvc.Cents) {
	e.emit(ctx, modelID, []emfValue{{MetricCreated, UnitCount, 1}, {MetricRevenueCents, UnitNone, float64(cost)}})
}

// PredictionFinished implements mlsvc.Metrics.
func (e *EMF) PredictionFinished(ctx context.Context, modelID string, status mlsvc.Status, refunded mlsvc.Cents, inference time.Duration) {
	var vs []emfValue
	switch status {
	case mlsvc.StatusCompleted:
		vs = append(vs, emfValue{MetricCompleted, UnitCount, 1},
			emfValue{MetricInferenceDuration, UnitMilliseconds, float64(inference.Microseconds()) / 1000})
	case mlsvc.StatusFailed:
		vs = append(vs, emfValue{MetricFailed, UnitCount, 1})
	case mlsvc.StatusCanceled:
		vs = append(vs, emfValue{MetricCanceled, UnitCount, 1})
	}
	if refunded > 0 {
		vs = append(vs, emfValue{MetricRefunded, UnitCount, 1})
	}
	if len(vs) > 0 {
		e.emit(ctx, modelID, vs)
	}
}

// PredictionsSettled implements mlsvc.Metrics. A sweep that settled none
// is published too (0), so the metric shows the sweeper runs.
func (e *EMF) PredictionsSettled(ctx context.Context, n int) {
	e.emit(ctx, "", []emfValue{{MetricSettled, UnitCount, float64(n)}})
}

type emfValue struct {
	name, unit string
	value      float64
}

// EMFLine is the structure of an EMF line's _aws member.
type EMFLine struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []EMFDirective `json:"CloudWatchMetrics"`
}

// EMFDirective is one metric directive of an EMF line.
type EMFDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []EMFMetric `json:"Metrics"`
}

// EMFMetric names a metric of an EMF line and its unit.
type EMFMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emit writes one line: the metrics of one event, per model (modelID not
// empty) and in total.
func (e *EMF) emit(ctx context.Context, modelID string, vs []emfValue) {
	line := map[string]any{}
	attrs := Attrs(ctx)
	for _, f := range e.extra {
		attrs = append(attrs, f(ctx)...)
	}
	for _, a := range attrs {
		if a.Value.Kind() == slog.KindString {
			line[a.Key] = a.Value.String()
		}
	}
	d := EMFDirective{Namespace: Namespace, Dimensions: [][]string{{}}}
	if modelID != "" {
		d.Dimensions = [][]string{{DimensionModel}, {}}
		line[DimensionModel] = modelID
	}
	for _, v := range vs {
		d.Metrics = append(d.Metrics, EMFMetric{Name: v.name, Unit: v.unit})
		line[v.name] = v.value
	}
	line["_aws"] = EMFLine{Timestamp: e.now().UnixMilli(), CloudWatchMetrics: []EMFDirective{d}}
	b, err := json.Marshal(line)
	if err != nil {
		e.log.ErrorContext(ctx, "metrics: EMF line", "err", err)
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	_, err = e.w.Write(b)
	e.mu.Unlock()
	if err != nil {
		e.log.ErrorContext(ctx, "metrics: EMF line not written", "err", err)
	}
}
