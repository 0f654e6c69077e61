package mlsvc

import (
	"sync"
	"time"
)

// ttlCache is a map whose entries expire, by the machine's monotonic clock
// (not Config.Now), and which holds at most max entries: full, it is
// emptied, which costs the next reads a miss each rather than an eviction
// policy. It serves the catalog and user caches (modelcache.go,
// usercache.go). Values are shared between requests: read-only.
type ttlCache[V any] struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v     V
	until time.Time
}

// get returns the value for key stored less than ttl ago.
func (c *ttlCache[V]) get(key string) (v V, ok bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		return v, false
	}
	return e.v, true
}

// put stores v for key, read at time at.
func (c *ttlCache[V]) put(key string, v V, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= c.max {
		c.entries = map[string]ttlEntry[V]{}
	}
	c.entries[key] = ttlEntry[V]{v, at.Add(c.ttl)}
}

// clear empties the cache.
func (c *ttlCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// len is the number of entries, expired or not.
func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
