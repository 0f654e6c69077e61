// Package runner runs the prediction workflow in-process for local mode: the
// same steps as the Step Functions state machine on AWS (wait, inference
// with retries, failure with refund), with pending predictions resumed
// after a restart and, periodically, while running.
package runner

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"
)

// Steps are the workflow's steps: mlsvc.Worker.
type Steps interface {
	RunPrediction(ctx context.Context, id string) error
	FailPrediction(ctx context.Context, id, reason string) error
}

// Pending lists the predictions still pending: mlsvc.Store.
type Pending interface {
	PendingPredictions(ctx context.Context) ([]*mlsvc.Prediction, error)
}

// Config configures a Runner. Steps and Pending are required.
type Config struct {
	Steps   Steps
	Pending Pending
	// Workers bounds the inferences running at once (default 1).
	Workers int
	Logger  *slog.Logger
	// Now is the clock that decides when a prediction's wait is over
	// (default time.Now); tests move it.
	Now func() time.Time
	// Retries is the number of extra inference attempts after a transient
	// failure (default 3), Backoff the first wait between attempts (default
	// 500 ms), doubled each time.
	Retries int
	Backoff time.Duration
	// Sweep is how often pending predictions are listed again and any that
	// is not scheduled (a failure that could not be recorded, say) is
	// scheduled anew (default one minute).
	Sweep time.Duration
}

// Runner schedules predictions. It is an mlsvc.Workflow.
type Runner struct {
	steps   Steps
	pending Pending
	log     *slog.Logger
	now     func() time.Time
	retries int
	backoff time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{} // bounds inference running at once
	wg     sync.WaitGroup

	mu        sync.Mutex
	scheduled map[string]chan struct{} // by prediction id; closed by Stop
	queue     dueQueue                 // the predictions waiting (queue.go)
	wake      chan struct{}            // tells schedule of a new earliest
}

var (
	_ mlsvc.Workflow = (*Runner)(nil)
	_ mlsvc.Stopper  = (*Runner)(nil)
)

// maxFailBackoff bounds the wait between attempts to record a failure.
const maxFailBackoff = time.Minute

// New returns a Runner and starts its periodic sweep.
func New(cfg Config) *Runner {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Sweep == 0 {
		cfg.Sweep = time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{
		steps: cfg.Steps, pending: cfg.Pending, log: cfg.Logger, now: cfg.Now,
		retries: cfg.Retries, backoff: cfg.Backoff,
		ctx: ctx, cancel: cancel, sem: make(chan struct{}, cfg.Workers), scheduled: map[string]chan struct{}{},
		wake: make(chan struct{}, 1),
	}
	r.wg.Add(2)
	go r.sweep(cfg.Sweep)
	go r.schedule()
	return r
}

// Start schedules p to run once its delay, counted from its creation, has
// passed. Starting a prediction twice is harmless.
func (r *Runner) Start(ctx context.Context, p *mlsvc.Prediction) error {
	if r.ctx.Err() != nil {
		return mlsvc.Errorf(mlsvc.EUnavailable, "the service is shutting down")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scheduled[p.ID] != nil {
		return nil
	}
	stop := make(chan struct{})
	r.scheduled[p.ID] = stop
	wait := p.CreatedAt.Add(p.Delay).Sub(r.now())
	// The steps' log lines carry the prediction and the request that
	// started it (obs). A waiting prediction keeps the attributes only (a
	// context is a few more objects for the collector to trace, times
	// every prediction waiting); its context is made when it runs.
	attrs := append(obs.Attrs(ctx), slog.String(obs.KeyPredictionID, p.ID))
	if wait > 0 {
		r.enqueue(&waiting{id: p.ID, due: time.Now().Add(wait), logAttrs: attrs, stop: stop})
		return nil
	}
	r.wg.Add(1)
	go r.run(obs.WithAttrs(context.Background(), attrs), p.ID, 0, stop)
	return nil
}

// Stop ends the wait of prediction id (canceled, say), so its inference
// does not run; one already running finishes (and finds the prediction
// final). Stopping a prediction that is not scheduled does nothing.
func (r *Runner) Stop(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if stop := r.scheduled[id]; stop != nil {
		close(stop)
		delete(r.scheduled, id)
	}
	return nil
}

// Resume schedules every prediction still pending, such as those left by
// a stopped process, and returns how many there are.
func (r *Runner) Resume(ctx context.Context) (int, error) { return r.resume(ctx, 0) }

// resume schedules the pending predictions created at least minAge ago.
func (r *Runner) resume(ctx context.Context, minAge time.Duration) (int, error) {
	ps, err := r.pending.PendingPredictions(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		if r.now().Sub(p.CreatedAt) < minAge {
			continue
		}
		if err := r.Start(ctx, p); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Close stops scheduling, waits for running steps to finish and leaves the
// rest pending for the next start.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

// sweep resumes pending predictions every interval, so one whose failure
// could not be recorded (a full disk, say) is settled once storage is back,
// not only at the next start. It leaves alone predictions younger than the
// interval: a request in flight starts its own.
func (r *Runner) sweep(interval time.Duration) {
	defer r.wg.Done()
	for r.sleep(interval) {
		if _, err := r.resume(r.ctx, interval); err != nil && r.ctx.Err() == nil {
			r.log.Warn("resuming pending predictions", "err", err)
		}
	}
}

func (r *Runner) run(logCtx context.Context, id string, wait time.Duration, stop chan struct{}) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		if r.scheduled[id] == stop {
			delete(r.scheduled, id)
		}
		r.mu.Unlock()
	}()
	if !r.sleepOr(wait, stop) {
		return
	}
	// The steps run to the end once begun, even during shutdown.
	ctx := obs.Carry(logCtx, context.WithoutCancel(r.ctx))
	backoff := r.backoff
	for attempt := 0; ; attempt++ {
		err, ok := r.attempt(ctx, id)
		if !ok {
			return
		}
		if err == nil {
			return
		}
		if mlsvc.ErrorCode(err) == mlsvc.EPermanent {
			r.fail(ctx, id, mlsvc.ErrorMessage(err))
			return
		}
		r.log.WarnContext(ctx, "inference attempt failed", "prediction_id", id, "attempt", attempt+1, "err", err)
		if attempt >= r.retries {
			r.fail(ctx, id, mlsvc.ReasonNotRun)
			return
		}
		// The wait between attempts holds no worker slot.
		if !r.sleep(backoff) {
			return
		}
		backoff *= 2
	}
}

// attempt runs one inference in a worker slot; ok is false when the Runner
// closed before a slot was free.
func (r *Runner) attempt(ctx context.Context, id string) (err error, ok bool) {
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		return nil, false
	}
	defer func() { <-r.sem }()
	return r.steps.RunPrediction(ctx, id), true
}

// fail records the failure and refund, retrying with back-off while the
// Runner is open: a charge must end as a result or a refund.
func (r *Runner) fail(ctx context.Context, id, reason string) {
	backoff := r.backoff
	for {
		err := r.steps.FailPrediction(ctx, id, reason)
		if err == nil {
			return
		}
		r.log.ErrorContext(ctx, "failing prediction", "prediction_id", id, "err", err)
		if !r.sleep(backoff) {
			return // left pending: the next start resumes and settles it
		}
		backoff = min(2*backoff, maxFailBackoff)
	}
}

// sleep waits d and reports whether the Runner is still open.
func (r *Runner) sleep(d time.Duration) bool { return r.sleepOr(d, nil) }

// sleepOr is sleep that also ends, reporting false, when stop is closed.
func (r *Runner) sleepOr(d time.Duration, stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
	}
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
	case <-stop:
		return false
	}
}
