package mlsvc

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"mlsvc/pkg/model"
)

// Models lists the published models.
func (s *Service) Models(ctx context.Context) ([]*CatalogEntry, error) { return s.store.Models(ctx) }

// Seed publishes each catalog model whose ID is not in the store yet, so a
// model's price or description changed later is not overwritten. It only
// ever creates (Store.CreateModel): a function that seeds cannot replace a
// published model.
func (s *Service) Seed(ctx context.Context, catalog []*CatalogEntry) error {
	for _, m := range catalog {
		_, err := s.store.Model(ctx, m.ID)
		if err == nil {
			continue
		}
		if ErrorCode(err) != ENotFound {
			return err
		}
		if m.CreatedAt.IsZero() {
			c := *m
			c.CreatedAt = s.now().UTC()
			m = &c
		}
		if err := s.store.CreateModel(ctx, m); err != nil && ErrorCode(err) != EConflict {
			return err // EConflict: published meanwhile by another start
		}
	}
	return nil
}

// PublishModel validates a model file, stores it and publishes it under id
// with a name, a price and a description. An existing id is replaced.
func (s *Service) PublishModel(ctx context.Context, id, name string, cost Cents, description string, file []byte) (*CatalogEntry, error) {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/\\ ") {
		return nil, Errorf(EInvalid, "model id must be 1 to 64 characters without spaces or slashes")
	}
	if strings.TrimSpace(name) == "" {
		return nil, Errorf(EInvalid, "model name is required")
	}
	if cost <= 0 {
		return nil, Errorf(EInvalid, "model cost must be positive")
	}
	pm, err := model.Parse(file)
	if err != nil {
		return nil, &Error{Code: EInvalid, Message: "model file: " + err.Error()}
	}
	m := Describe(pm)
	m.ID, m.Name, m.Cost, m.Description = id, name, cost, description
	m.File = "models/" + id + ".json"
	m.CreatedAt = s.now().UTC()
	if err := s.blobs.Put(ctx, m.File, "application/json", bytes.NewReader(file)); err != nil {
		return nil, fmt.Errorf("store model file: %w", err)
	}
	if err := s.store.PutModel(ctx, m); err != nil {
		return nil, err
	}
	s.models.put(m, time.Now())
	return m, nil
}

// Describe returns the catalog fields a model file determines: format,
// features and quality.
func Describe(pm *model.Model) *CatalogEntry {
	info := pm.Info()
	m := &CatalogEntry{Name: info.Name, Format: info.Format, Features: pm.Features()}
	if info.Quality != nil {
		m.Metric, m.Score = info.Quality.Metric, info.Quality.Value
	}
	return m
}
