package mlsvc

import (
	"context"
	"sync"
	"time"
)

// CatalogTTL is how long a prediction request may use a catalog entry read
// by an earlier request. A model published through this Service replaces
// its entry at once; one published elsewhere (`mlsvc models add` beside a
// running service, or another Lambda instance) is charged for at its new
// price at most CatalogTTL after it is stored. GET /models always reads the
// store. A request's charge uses the price of the entry it read, and the
// answer and the ledger say which.
const CatalogTTL = time.Second

// modelCache keeps the catalog entries requests read, each for CatalogTTL.
// It holds only published models, so its size is bounded by the catalog,
// not by the model ids callers send. Entries are shared: read-only.
type modelCache struct {
	mu      sync.Mutex
	entries map[string]cachedModel
}

type cachedModel struct {
	m     *CatalogEntry
	until time.Time // monotonic: by the machine's clock, not Config.Now
}

// model returns the published model with id, from the cache when it was
// read less than CatalogTTL ago.
func (c *modelCache) model(ctx context.Context, store Store, id string) (*CatalogEntry, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.m, nil
	}
	m, err := store.Model(ctx, id)
	if err != nil {
		return nil, err
	}
	c.put(m, now)
	return m, nil
}

// put caches m, read at time at.
func (c *modelCache) put(m *CatalogEntry, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedModel{}
	}
	c.entries[m.ID] = cachedModel{m, at.Add(CatalogTTL)}
}
