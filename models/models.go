// Package models holds the three published models: their files, embedded in
// the binary, and their catalog entries (name, price, description).
package models

import (
	"embed"
	"fmt"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/model"
)

// Files holds lr.json, rf.json and cb.json.
//
//go:embed lr.json rf.json cb.json
var Files embed.FS

var published = []struct {
	id, name    string
	cost        mlsvc.Cents
	description string
}{
	{"lr", "Risk Assessment Model", 10_00, "Expected annual loss rate of a loan, in %, by linear regression (scikit-learn): the quick first look."},
	{"rf", "Return Prediction Model", 15_00, "Expected annual loss rate of a loan, in %, by a random forest (scikit-learn): captures non-linear risk."},
	{"cb", "Premium Analysis Model", 20_00, "Expected annual loss rate of a loan, in %, by gradient-boosted oblivious trees (CatBoost format): the most accurate."},
}

// Catalog returns the published models, with format, features and quality
// read from their files.
func Catalog() ([]*mlsvc.Model, error) {
	out := make([]*mlsvc.Model, 0, len(published))
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
		m.ID, m.Name, m.Cost, m.Description = p.id, p.name, p.cost, p.description
		m.File = "models/" + p.id + ".json"
		out = append(out, m)
	}
	return out, nil
}
