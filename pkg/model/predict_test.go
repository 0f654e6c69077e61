package model

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPredictDoesNotAllocate holds Predict to its documented promise for
// every format: no allocation, whatever the number of rows.
func TestPredictDoesNotAllocate(t *testing.T) {
	xgb, err := os.ReadFile(filepath.Join("testdata", "xgboost_binary.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"linear", []byte(linearJSON)},
		{"tree_ensemble", []byte(treeJSON)},
		{"boosting", []byte(boostJSON)},
		{"catboost_depth6", synthCatBoost{trees: 30, depth: 6, features: 5, borders: 254, seed: 1}.json(t)},
		{"catboost_depth11", synthCatBoost{trees: 3, depth: 11, features: 4, borders: 600, seed: 2}.json(t)},
		{"xgboost", xgb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.data)
			const n = 1000
			x := make([]float64, n*len(m.Features()))
			for i := range x {
				x[i] = float64(i%17) / 16
			}
			out := make([]float64, n)
			if a := testing.AllocsPerRun(5, func() { m.Predict(x, n, out) }); a != 0 {
				t.Errorf("Predict of %d rows: %v allocations, want 0", n, a)
			}
		})
	}
}
