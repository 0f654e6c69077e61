// Package webhook delivers the end of a prediction to its webhook URL: a
// POST of the prediction signed per Standard Webhooks, from a persistent
// queue (mlsvc.WebhookQueue; local mode runs a Deliverer in the background,
// the AWS webhooks function one pass per invocation), retried with back-off
// (mlsvc.WebhookBackoff), never to a private, loopback or link-local
// address (checked on every connection, so DNS rebinding does not help),
// never following redirects, with short timeouts and a bounded read.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Limits of one delivery attempt.
const (
	ConnectTimeout  = 5 * time.Second
	AttemptTimeout  = 10 * time.Second
	MaxResponseRead = 64 << 10
	batch           = 20 // deliveries per look at the queue
	parallel        = 8  // attempts at once
)

// Secrets returns a user's signing secret: mlsvc.Store.
type Secrets interface {
	WebhookSecret(ctx context.Context, userID, candidate string) (string, error)
}

// Config configures a Deliverer. Queue, Secrets and Payload are required.
type Config struct {
	Queue   mlsvc.WebhookQueue
	Secrets Secrets
	// Payload is the body of a delivery: the prediction as JSON, with its event.
	Payload func(ctx context.Context, d *mlsvc.WebhookDelivery) ([]byte, error)
	// AllowPrivate allows private and loopback targets and http (tests only).
	AllowPrivate bool
	Now          func() time.Time // default time.Now
	Poll         time.Duration    // how often the queue is read (default 1 s)
	Logger       *slog.Logger
}

// Deliverer sends queued deliveries: in the background from Start until
// Close, or one pass at a time with RunDue.
type Deliverer struct {
	cfg    Config
	client *http.Client
	nudge  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	started bool
}

// New returns a Deliverer; Start starts it in the background.
func New(cfg Config) *Deliverer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Deliverer{
		cfg: cfg, client: Client(cfg.AllowPrivate), nudge: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	return d
}

// Start starts delivering, in the background, until Close.
func (d *Deliverer) Start() {
	d.started = true
	go d.loop()
}

// Nudge makes the Deliverer look at the queue now (a prediction ended).
// It never blocks; it has the signature of mlsvc.Config.OnFinish.
func (d *Deliverer) Nudge(context.Context, string) {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Close stops the Deliverer after the attempts under way; the queue keeps
// the rest for the next start.
func (d *Deliverer) Close() {
	d.cancel()
	if d.started {
		<-d.done
	}
}

func (d *Deliverer) loop() {
	defer close(d.done)
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		_, err := d.RunDue(d.ctx)
		if err != nil && d.ctx.Err() == nil {
			d.cfg.Logger.Warn("reading the webhook queue", "err", err)
		}
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		case <-d.nudge:
		}
	}
}

// BatchTime bounds the time of one batch of attempts: batch deliveries,
// parallel at a time, each at most AttemptTimeout, with a margin for
// building the payloads and recording the outcomes.
const BatchTime = (batch+parallel-1)/parallel*AttemptTimeout + 5*time.Second

// RunDue makes one attempt of every delivery due now, a batch at a time,
// and returns how many attempts it made. It stops when none is due, when
// ctx is done, or when ctx's deadline leaves less than BatchTime for
// another batch (the first batch always runs): the rest stay queued. A
// delivery is attempted at most once per call, even if a failed record
// leaves it due. The AWS webhooks function runs it once per invocation;
// Start runs it whenever the queue may have changed.
//
// ids name predictions whose deliveries may have just come due (that of
// an execution that just ended): each is read from the queue by id, as well
// as listed with the due ones, since the listing may lag behind the write
// that queued it (DynamoDB's index does, by up to about a second).
func (d *Deliverer) RunDue(ctx context.Context, ids ...string) (int, error) {
	attempted := map[string]bool{}
	for first := true; ctx.Err() == nil; first = false {
		if deadline, ok := ctx.Deadline(); ok && !first && time.Until(deadline) < BatchTime {
			break
		}
		listed, err := d.deliverDue(ctx, attempted, ids)
		ids = nil
		if err != nil || listed < batch {
			return len(attempted), err
		}
	}
	return len(attempted), nil
}

// deliverDue makes one attempt of each due delivery (up to batch) and of
// those of ids that are due, but none in attempted, adds them to it, and
// returns how many deliveries were listed due.
func (d *Deliverer) deliverDue(ctx context.Context, attempted map[string]bool, ids []string) (int, error) {
	now := d.cfg.Now()
	due, err := d.cfg.Queue.DueWebhooks(ctx, now, batch)
	if err != nil {
		return 0, err
	}
	listed := len(due)
	for _, id := range ids {
		if slices.ContainsFunc(due, func(w *mlsvc.WebhookDelivery) bool { return w.PredictionID == id }) {
			continue
		}
		w, err := d.cfg.Queue.WebhookDelivery(ctx, id)
		if mlsvc.ErrorCode(err) == mlsvc.ENotFound {
			continue // not ended yet, or no webhook
		}
		if err != nil {
			return 0, err
		}
		if !w.Done && !w.NextAt.After(now) {
			due = append(due, w)
		}
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	fresh := 0
	for _, w := range due {
		if attempted[w.PredictionID] {
			continue
		}
		attempted[w.PredictionID] = true
		fresh++
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.attempt(context.WithoutCancel(ctx), w)
		})
	}
	wg.Wait()
	if fresh == 0 {
		return 0, nil // all seen already: stop rather than spin
	}
	return listed, nil
}

// attempt sends w once and records the outcome and the next attempt.
func (d *Deliverer) attempt(ctx context.Context, w *mlsvc.WebhookDelivery) {
	status, err := d.send(ctx, w)
	now := d.cfg.Now()
	ok := err == nil && status >= 200 && status < 300
	errText := ""
	if err != nil {
		errText = err.Error()
	} else if !ok {
		errText = "HTTP " + strconv.Itoa(status)
	}
	done, next := ok, now
	if !ok {
		if w.Attempts < len(mlsvc.WebhookBackoff) {
			next = now.Add(mlsvc.WebhookBackoff[w.Attempts])
		} else {
			done = true // given up after more than a day
		}
	}
	log := d.cfg.Logger.With("prediction_id", w.PredictionID, "attempt", w.Attempts+1, "status", status)
	switch {
	case ok:
		log.Info("webhook delivered")
	case done:
		log.Warn("webhook given up", "err", errText)
	default:
		log.Info("webhook attempt failed", "err", errText, "next", next)
	}
	if err := d.cfg.Queue.RecordWebhookAttempt(ctx, w.PredictionID, status, errText, next, done); err != nil {
		log.Error("recording a webhook attempt", "err", err)
	}
}

// send POSTs the signed payload and returns the response status.
func (d *Deliverer) send(ctx context.Context, w *mlsvc.WebhookDelivery) (int, error) {
	body, err := d.cfg.Payload(ctx, w)
	if err != nil {
		return 0, fmt.Errorf("build payload: %w", err)
	}
	secret, err := d.cfg.Secrets.WebhookSecret(ctx, w.UserID, mlsvc.NewWebhookSecret())
	if err != nil {
		return 0, fmt.Errorf("signing secret: %w", err)
	}
	if err := mlsvc.ValidateWebhookURL(w.URL, d.cfg.AllowPrivate); err != nil {
		return 0, err
	}
	id := "msg_" + w.PredictionID
	ts := d.cfg.Now().Unix()
	sig, err := mlsvc.SignWebhook(secret, id, ts, body)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mlsvc-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseRead))
	return resp.StatusCode, nil
}

// ErrForbiddenAddress is a connection refused because its address is not public.
var ErrForbiddenAddress = errors.New("webhook: the address is not public")

// Client returns the HTTP client of webhook deliveries: every connection
// goes to an address checked as it is dialled (mlsvc.PublicAddr, unless
// allowPrivate), no proxy, no redirects followed, short timeouts.
func Client(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: ConnectTimeout,
		// Control sees the address actually connected to, after any DNS
		// resolution: a name that resolves to 127.0.0.1, at first or at
		// the second lookup, is refused here.
		Control: func(network, address string, _ syscall.RawConn) error {
			if allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !mlsvc.PublicAddr(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   ConnectTimeout,
		ResponseHeaderTimeout: AttemptTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   AttemptTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is a failed attempt
		},
	}
}
