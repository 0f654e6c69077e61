package mlsvc

import (
	"context"
	"time"
)

// maxCachedModels bounds the catalog cache. It holds published models only,
// so the catalog bounds it already, not the model ids callers send.
const maxCachedModels = 1000

// modelCache keeps the catalog entries requests read, each for CatalogTTL
// (limits.go).
type modelCache struct {
	c ttlCache[*CatalogEntry]
}

func newModelCache() *modelCache {
	return &modelCache{ttlCache[*CatalogEntry]{ttl: CatalogTTL, max: maxCachedModels}}
}

// model returns the published model with id, from the cache when it was
// read less than CatalogTTL ago.
func (m *modelCache) model(ctx context.Context, store Store, id string) (*CatalogEntry, error) {
	if e, ok := m.c.get(id); ok {
		return e, nil
	}
	at := time.Now()
	e, err := store.Model(ctx, id)
	if err != nil {
		return nil, err
	}
	m.c.put(e.ID, e, at)
	return e, nil
}

// put caches e, read (or published) at time at.
func (m *modelCache) put(e *CatalogEntry, at time.Time) { m.c.put(e.ID, e, at) }
