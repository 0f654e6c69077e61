package model

import (
	"encoding/json"
	"mlsvc/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fixtureDir returns the shared reference fixtures (../shared/fixtures from the
// repository root, or $MLSVC_FIXTURES), skipping the test when they are absent.
func fixtureDir(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("MLSVC_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures")
	}
	dir = filepath.Join(dir, sub)
	if _, err := os.Stat(dir); err != nil {
		testenv.Skip(t, "reference fixtures not found at %s (set MLSVC_FIXTURES): %v", dir, err)
	}
	return dir
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func mustParse(t testing.TB, data []byte) *Model {
	t.Helper()
	m, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// findPython returns a Python interpreter that can import scikit-learn and
// joblib ($MLSVC_PYTHON, python3, or Debian's /usr/bin/python3), or skips.
func findPython(t testing.TB) string {
	t.Helper()
	candidates := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("MLSVC_PYTHON"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import sklearn, joblib").Run() == nil {
			return p
		}
	}
	testenv.Skip(t, "no python3 with scikit-learn and joblib (tried %v; apt-get install python3-sklearn python3-joblib)", candidates)
	return ""
}

// skFixture is fixtures/sklearn/*.json: a model dump with sklearn's predictions.
type skFixture struct {
	SklearnVersion  string            `json:"sklearn_version"`
	FeatureNames    []string          `json:"feature_names"`
	TestInputs      [][]float64       `json:"test_inputs"`
	EdgeInputs      [][]float64       `json:"edge_inputs"`
	TestPredictions []float64         `json:"test_predictions"`
	EdgePredictions []float64         `json:"edge_predictions"`
	Coef            []float64         `json:"coef"`
	Intercept       float64           `json:"intercept"`
	Trees           []json.RawMessage `json:"trees"`
}

func loadSKFixture(t testing.TB, name string) *skFixture {
	t.Helper()
	var f skFixture
	readJSON(t, filepath.Join(fixtureDir(t, "sklearn"), name), &f)
	return &f
}

// envelope rewrites a fixture dump as an mlsvc model file.
func (f *skFixture) envelope(t testing.TB) []byte {
	t.Helper()
	m := map[string]any{
		"format_version":  1,
		"feature_names":   f.FeatureNames,
		"library":         "scikit-learn",
		"library_version": f.SklearnVersion,
	}
	if f.Coef != nil {
		m["format"], m["estimator"] = "linear", "LinearRegression"
		m["coef"], m["intercept"] = f.Coef, f.Intercept
		return mustJSON(t, m)
	}
	var trees []map[string]json.RawMessage
	for _, raw := range f.Trees {
		var tr map[string]json.RawMessage
		if err := json.Unmarshal(raw, &tr); err != nil {
			t.Fatal(err)
		}
		delete(tr, "node_count")
		delete(tr, "max_depth")
		trees = append(trees, tr)
	}
	m["format"], m["estimator"], m["combine"], m["trees"] = "tree_ensemble", "RandomForestRegressor", "mean", trees
	return mustJSON(t, m)
}

func flatten(rows [][]float64) []float64 {
	var x []float64
	for _, r := range rows {
		x = append(x, r...)
	}
	return x
}
