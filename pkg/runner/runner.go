// Package runner runs the prediction workflow in-process for local mode: the
// same steps as the Step Functions state machine on AWS (wait, inference
// with retries, failure with refund), with pending predictions resumed
// after a restart.
package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Runner schedules predictions. Bind a Service before the first Start.
type Runner struct {
	svc     *mlsvc.Service
	log     *slog.Logger
	now     func() time.Time
	retries int           // extra attempts after a transient failure
	backoff time.Duration // first wait between attempts, doubled each time

	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{} // bounds inference running at once
	wg     sync.WaitGroup

	mu        sync.Mutex
	scheduled map[string]bool
}

var _ mlsvc.Workflow = (*Runner)(nil)

// New returns a Runner running at most workers inferences at once.
func New(workers int, log *slog.Logger) *Runner {
	if workers < 1 {
		workers = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{
		log: log, now: time.Now, retries: 3, backoff: 500 * time.Millisecond,
		ctx: ctx, cancel: cancel, sem: make(chan struct{}, workers), scheduled: map[string]bool{},
	}
}

// Bind sets the Service whose steps the Runner calls.
func (r *Runner) Bind(svc *mlsvc.Service) { r.svc = svc }

// Start schedules p to run once its delay, counted from its creation, has
// passed. Starting a prediction twice is harmless.
func (r *Runner) Start(_ context.Context, p *mlsvc.Prediction) error {
	if r.svc == nil {
		return errors.New("runner: no service bound")
	}
	if r.ctx.Err() != nil {
		return mlsvc.Errorf(mlsvc.EUnavailable, "the service is shutting down")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scheduled[p.ID] {
		return nil
	}
	r.scheduled[p.ID] = true
	wait := p.CreatedAt.Add(p.Delay).Sub(r.now())
	r.wg.Add(1)
	go r.run(p.ID, wait)
	return nil
}

// Resume schedules every prediction still pending in store, such as those
// left by a stopped process.
func (r *Runner) Resume(ctx context.Context, store mlsvc.PendingLister) (int, error) {
	ps, err := store.PendingPredictions(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if err := r.Start(ctx, p); err != nil {
			return 0, err
		}
	}
	return len(ps), nil
}

// Close stops scheduling, waits for running inferences to finish and leaves
// the rest pending for the next start.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

func (r *Runner) run(id string, wait time.Duration) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.scheduled, id)
		r.mu.Unlock()
	}()
	if !r.sleep(wait) {
		return
	}
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		return
	}
	defer func() { <-r.sem }()

	// The steps run to the end once begun, even during shutdown.
	ctx := context.WithoutCancel(r.ctx)
	backoff := r.backoff
	for attempt := 0; ; attempt++ {
		err := r.svc.RunPrediction(ctx, id)
		if err == nil {
			return
		}
		var perm *mlsvc.PermanentError
		if errors.As(err, &perm) {
			r.fail(ctx, id, perm.Reason)
			return
		}
		r.log.Warn("inference attempt failed", "prediction_id", id, "attempt", attempt+1, "err", err)
		if attempt >= r.retries {
			r.fail(ctx, id, "the prediction could not be run; the charge was refunded")
			return
		}
		if !r.sleep(backoff) {
			return
		}
		backoff *= 2
	}
}

func (r *Runner) fail(ctx context.Context, id, reason string) {
	if err := r.svc.FailPrediction(ctx, id, reason); err != nil {
		// Left pending: the next start resumes and settles it.
		r.log.Error("failing prediction", "prediction_id", id, "err", err)
	}
}

// sleep waits d and reports whether the Runner is still open.
func (r *Runner) sleep(d time.Duration) bool {
	if d <= 0 {
		return r.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}
