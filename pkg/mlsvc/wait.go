package mlsvc

import (
	"context"
	"sync"
	"time"
)

// Broker tells the requests waiting for a prediction (Prefer: wait) that
// it ended, within one process: local mode publishes every end the runner
// and the Service see (Config.OnFinish) and sets Config.Broker. On Lambda
// the prediction ends in another function, so AwaitPrediction polls.
type Broker struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]bool
}

// NewBroker returns an empty Broker.
func NewBroker() *Broker { return &Broker{subs: map[string]map[chan struct{}]bool{}} }

// Publish wakes the subscribers of id. It never blocks.
func (b *Broker) Publish(_ context.Context, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[id] {
		select {
		case ch <- struct{}{}:
		default: // already woken
		}
	}
}

// Subscribe returns a channel that receives when id is published, and the
// function that ends the subscription.
func (b *Broker) Subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs[id] == nil {
		b.subs[id] = map[chan struct{}]bool{}
	}
	b.subs[id][ch] = true
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[id], ch)
		if len(b.subs[id]) == 0 {
			delete(b.subs, id)
		}
	}
}

// subscribers counts the open subscriptions, for tests.
func (b *Broker) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.subs {
		n += len(s)
	}
	return n
}

// How AwaitPrediction reads the store while it waits: with a Broker, once
// a second in case a notification was missed (another process ended it);
// without one, from 250 ms doubling up to 2 s.
const (
	awaitFallbackPoll = time.Second
	awaitFirstPoll    = 250 * time.Millisecond
	awaitMaxPoll      = 2 * time.Second
)

// AwaitPrediction returns the user's prediction once it is final, or as it
// is after max (still pending). Someone else's is ENotFound. It does not
// hold the store busy: it waits for the Broker's word, or polls with
// back-off when there is none.
func (s *Service) AwaitPrediction(ctx context.Context, userID, id string, max time.Duration) (*Prediction, error) {
	var notify <-chan struct{}
	if s.broker != nil {
		// Subscribed before the first read, so an end between the read
		// and the wait is not missed.
		ch, unsubscribe := s.broker.Subscribe(id)
		defer unsubscribe()
		notify = ch
	}
	p, err := s.own(ctx, userID, id)
	if err != nil || p.Status != StatusPending || max <= 0 {
		return p, err
	}
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	poll := awaitFirstPoll
	if notify != nil {
		poll = awaitFallbackPoll
	}
	for {
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return p, nil
		case <-deadline.C:
			t.Stop()
			return p, nil
		case <-notify:
			t.Stop()
		case <-t.C:
			if notify == nil {
				poll = min(2*poll, awaitMaxPoll)
			}
		}
		q, err := s.store.Prediction(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return p, nil
			}
			return nil, err
		}
		if p = q; p.Status != StatusPending {
			return p, nil
		}
	}
}
