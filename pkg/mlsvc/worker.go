package mlsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sync"
	"time"

	"mlsvc/pkg/model"
	"mlsvc/pkg/rowio"
)

// Reasons recorded on a failed prediction, shown to its owner. Both
// runtimes' workflows use these; the refund is part of each.
const (
	ReasonNotStarted = "the prediction could not be started; the charge was refunded"
	ReasonNotRun     = "the prediction could not be run; the charge was refunded"
	ReasonStale      = "the prediction did not finish in time; the charge was refunded"
)

// StaleAfter is how long past its wait a prediction may stay pending before
// SettleStale fails it: longer than any run of the workflow with all its
// retries. On AWS the state machine's TimeoutSeconds (1350 s, the worst case
// worked out in docs/OPERATIONS.md) ends every execution before it, and
// EventBridge settles an ended one at once; locally the runner's retries
// take seconds. A test in test/aws keeps the two in step.
const StaleAfter = 25 * time.Minute

// Worker runs the prediction workflow's steps: inference (RunPrediction),
// failure with refund (FailPrediction) and the settlement of predictions
// whose workflow was lost (SettleStale). The local runner and the Step
// Functions tasks call it.
type Worker struct {
	store   Store
	blobs   Blobs
	builtin fs.FS
	now     func() time.Time
	log     *slog.Logger
	metrics Metrics
	// finished is Config.OnFinish.
	finished func(ctx context.Context, id string)

	mu     sync.Mutex
	models map[string]*model.Model // parsed model files by blob key and version
}

// NewWorker returns the Worker of cfg (its Workflow, Delay, NewID and
// BcryptCost are not used).
func NewWorker(cfg Config) *Worker {
	cfg = cfg.withDefaults()
	return &Worker{
		store: cfg.Store, blobs: cfg.Blobs, builtin: cfg.Builtin, now: cfg.Now, log: cfg.Logger,
		metrics: cfg.Metrics, finished: cfg.OnFinish, models: map[string]*model.Model{},
	}
}

// permanent is an EPermanent error: the prediction cannot succeed and the
// workflow fails it at once with reason.
func permanent(format string, args ...any) error { return Errorf(EPermanent, format, args...) }

// RunPrediction is the inference step: it reads the rows, runs the model,
// writes the result JSON and CSV and marks the prediction completed. It is
// idempotent: a prediction that is no longer pending is left as it is. An
// EPermanent error means the prediction cannot succeed (its message is the
// reason to record); other errors are worth a retry.
func (w *Worker) RunPrediction(ctx context.Context, id string) error {
	p, err := w.store.Prediction(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return permanent("prediction not found")
		}
		return err
	}
	if p.Status != StatusPending {
		return nil
	}
	m, err := w.store.Model(ctx, p.ModelID)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return permanent("model %q is no longer published", p.ModelID)
		}
		return err
	}
	pm, err := w.loadModel(ctx, m)
	if err != nil {
		return err
	}
	input, err := readInput(ctx, w.store, w.blobs, id)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return permanent("the input rows are missing")
		}
		return err
	}
	rows, err := rowio.ParseJSON(input, pm.Features(), MaxRows)
	if err != nil {
		return permanent("input_data: %v", err)
	}
	began := time.Now()
	preds := rowio.Predict(pm, rows)
	inference := time.Since(began)
	result, err := json.Marshal(Output{Predictions: preds, Quality: quality(m)})
	if err != nil {
		return permanent("the model produced values that are not finite numbers")
	}
	var csv bytes.Buffer
	if err := rowio.WriteCSV(&csv, rows, preds); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := w.blobs.Put(ctx, CSVKey(id), "text/csv", &csv); err != nil {
		return fmt.Errorf("store csv: %w", err)
	}
	if err := w.blobs.Put(ctx, ResultKey(id), "application/json", bytes.NewReader(result)); err != nil {
		return fmt.Errorf("store result: %w", err)
	}
	if err := w.store.CompletePrediction(ctx, id, w.now().UTC()); err != nil {
		if ErrorCode(err) == EConflict {
			return nil // finished meanwhile by another attempt
		}
		return err
	}
	w.log.InfoContext(ctx, "prediction completed", "prediction_id", id, "rows", len(preds))
	w.metrics.PredictionFinished(ctx, p.ModelID, StatusCompleted, 0, inference)
	w.finished(ctx, id)
	return nil
}

// FailPrediction marks a pending prediction failed and refunds its charge,
// exactly once: it does nothing to a prediction that is already final.
func (w *Worker) FailPrediction(ctx context.Context, id, reason string) error {
	return failPrediction(ctx, w.store, w.now, w.log, w.metrics, w.finished, id, reason)
}

func failPrediction(ctx context.Context, store Store, now func() time.Time, log *slog.Logger, m Metrics, finished func(context.Context, string), id, reason string) error {
	err := store.FailPrediction(ctx, id, reason, now().UTC())
	if ErrorCode(err) == EConflict {
		return nil
	}
	if err != nil {
		return err
	}
	log.WarnContext(ctx, "prediction failed and refunded", "prediction_id", id, "reason", reason)
	observeFailed(ctx, store, m, log, id)
	finished(ctx, id)
	return nil
}

// Output is a completed prediction's result.
type Output struct {
	Predictions []float64 `json:"predictions"`
	Quality     *Quality  `json:"quality,omitempty"`
}

// Quality is a model's held-out quality metric.
type Quality struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
}

func quality(m *CatalogEntry) *Quality {
	if m.Metric == "" {
		return nil
	}
	return &Quality{Metric: m.Metric, Value: m.Score}
}

// loadModel returns the parsed model file of m, from a cache, Blobs, or the
// built-in files. A file that is missing or does not parse is EPermanent.
func (w *Worker) loadModel(ctx context.Context, m *CatalogEntry) (*model.Model, error) {
	cacheKey := m.File + "@" + m.CreatedAt.Format(time.RFC3339Nano)
	w.mu.Lock()
	pm := w.models[cacheKey]
	w.mu.Unlock()
	if pm != nil {
		return pm, nil
	}
	data, err := readBlob(ctx, w.blobs, m.File)
	if ErrorCode(err) == ENotFound && w.builtin != nil {
		data, err = fs.ReadFile(w.builtin, path.Base(m.File))
		if errors.Is(err, fs.ErrNotExist) {
			err = Errorf(ENotFound, "no built-in file %s", m.File)
		}
	}
	if ErrorCode(err) == ENotFound {
		return nil, permanent("the file of model %q is missing", m.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	if pm, err = model.Parse(data); err != nil {
		return nil, permanent("model %q cannot be loaded: %v", m.ID, err)
	}
	w.mu.Lock()
	w.models[cacheKey] = pm
	w.mu.Unlock()
	return pm, nil
}

// SettleStale fails and refunds every prediction still pending StaleAfter
// past its wait: one whose workflow was lost (its failure step could not
// run, say). A late inference then finds it final and changes nothing. It
// returns how many it settled.
func (w *Worker) SettleStale(ctx context.Context) (int, error) {
	pending, err := w.store.PendingPredictions(ctx)
	if err != nil {
		return 0, err
	}
	now, settled := w.now(), 0
	defer func() { w.metrics.PredictionsSettled(ctx, settled) }()
	for _, p := range pending {
		if now.Before(p.CreatedAt.Add(p.Delay + StaleAfter)) {
			continue
		}
		if err := w.FailPrediction(ctx, p.ID, ReasonStale); err != nil {
			return settled, err
		}
		settled++
	}
	return settled, nil
}
