// Package catalog holds the models the service publishes at first start:
// their files, embedded in the binary, and their catalog entries
// (mlsvc.CatalogEntry: name, price, description, format, features,
// quality). The files are evaluated by pkg/model.
//
// The catalog is kept in catalog.json, generated from the files by
// `go test ./catalog -update`, so that functions that only publish models do
// not carry the model files in their binaries.
package catalog

import (
	"embed"
	"encoding/json"
	"fmt"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/model"
)

// Files holds lr.json, rf.json and cb.json.
//
//go:embed lr.json rf.json cb.json
var Files embed.FS

//go:embed catalog.json
var catalogJSON []byte

var published = []struct {
	id, name    string
	cost        mlsvc.Cents
	description string
}{
	{"lr", "Risk Assessment Model", 10_00, "Expected annual loss rate of a loan, in %, by linear regression (scikit-learn): the quick first look."},
	{"rf", "Return Prediction Model", 15_00, "Expected annual loss rate of a loan, in %, by a random forest (scikit-learn): captures non-linear risk."},
	{"cb", "Premium Analysis Model", 20_00, "Expected annual loss rate of a loan, in %, by gradient-boosted oblivious trees (CatBoost format): the most accurate."},
}

// entry is a catalog.json record.
type entry struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	CostCents   int64    `json:"cost_cents"`
	Description string   `json:"description"`
	File        string   `json:"file"`
	Format      string   `json:"format"`
	Features    []string `json:"features"`
	Metric      string   `json:"metric"`
	Score       float64  `json:"score"`
}

// Catalog returns the published models as catalog.json lists them.
func Entries() ([]*mlsvc.CatalogEntry, error) {
	var entries []entry
	if err := json.Unmarshal(catalogJSON, &entries); err != nil {
		return nil, fmt.Errorf("models: catalog.json: %w", err)
	}
	out := make([]*mlsvc.CatalogEntry, len(entries))
	for i, e := range entries {
		out[i] = &mlsvc.CatalogEntry{
			ID: e.ID, Name: e.Name, Cost: mlsvc.Cents(e.CostCents), Description: e.Description,
			File: e.File, Format: e.Format, Features: e.Features, Metric: e.Metric, Score: e.Score,
		}
	}
	return out, nil
}

// catalogFromFiles builds the catalog from the model files: the source of
// catalog.json.
func catalogFromFiles() ([]entry, error) {
	out := make([]entry, 0, len(published))
	for _, p := range published {
		data, err := Files.ReadFile(p.id + ".json")
		if err != nil {
			return nil, err
		}
		pm, err := model.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("built-in model %s: %w", p.id, err)
		}
		m := mlsvc.Describe(pm)
		out = append(out, entry{
			ID: p.id, Name: p.name, CostCents: int64(p.cost), Description: p.description,
			File: "models/" + p.id + ".json", Format: m.Format, Features: m.Features, Metric: m.Metric, Score: m.Score,
		})
	}
	return out, nil
}
