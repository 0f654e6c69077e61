package mlsvc

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RateLimiter limits the requests of one caller (a user, or an API key):
// Allow returns EThrottled, with RetryAfter, beyond the limit.
type RateLimiter interface {
	Allow(ctx context.Context, caller string) error
}

// BucketLimiter is an in-process token bucket per caller: rate.N requests
// per rate.Per on average, in bursts of up to rate.N. The local server
// uses it: one process sees every request.
type BucketLimiter struct {
	rate Rate
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the limiter's memory; full buckets are dropped first.
const maxBuckets = 100_000

// NewBucketLimiter returns a limiter of rate (now: nil for time.Now).
func NewBucketLimiter(rate Rate, now func() time.Time) *BucketLimiter {
	if now == nil {
		now = time.Now
	}
	return &BucketLimiter{rate: rate, now: now, buckets: map[string]*bucket{}}
}

// Allow implements RateLimiter.
func (l *BucketLimiter) Allow(_ context.Context, caller string) error {
	if l.rate.Off() {
		return nil
	}
	now := l.now()
	perToken := l.rate.Per / time.Duration(l.rate.N)
	capacity := float64(l.rate.N)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[caller]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now, perToken, capacity)
		}
		b = &bucket{tokens: capacity, at: now}
		l.buckets[caller] = b
	}
	b.tokens = min(capacity, b.tokens+float64(now.Sub(b.at))/float64(perToken))
	b.at = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) * float64(perToken))
		return throttled(wait, fmt.Sprintf("more than %s requests", l.rate))
	}
	b.tokens--
	return nil
}

func (l *BucketLimiter) prune(now time.Time, perToken time.Duration, capacity float64) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(perToken) >= capacity {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// WindowLimiter counts a caller's requests in fixed windows of rate.Per in
// the Store: one write per request, shared by every instance (AWS, where
// each warm function is its own process).
type WindowLimiter struct {
	store Store
	rate  Rate
	now   func() time.Time
}

// NewWindowLimiter returns a limiter of rate counting in store.
func NewWindowLimiter(store Store, rate Rate, now func() time.Time) *WindowLimiter {
	if now == nil {
		now = time.Now
	}
	return &WindowLimiter{store: store, rate: rate, now: now}
}

// Allow implements RateLimiter.
func (l *WindowLimiter) Allow(ctx context.Context, caller string) error {
	if l.rate.Off() {
		return nil
	}
	now := l.now()
	start := now.Truncate(l.rate.Per)
	end := start.Add(l.rate.Per)
	n, err := l.store.AddThrottle(ctx, fmt.Sprintf("rate:%s:%d", caller, start.UnixMilli()), end.Add(time.Minute), now)
	if err != nil {
		return err
	}
	if n > l.rate.N {
		return throttled(end.Sub(now), fmt.Sprintf("more than %s requests", l.rate))
	}
	return nil
}
