package model

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cbTolerance is the relative error allowed against CatBoost's own outputs.
// The evaluator sums leaf values in tree order as CatBoost does, so the
// fixtures in fact agree exactly; exp and sigmoid add at most an ulp or two.
const cbTolerance = 1e-12

func TestCatBoostFixtures(t *testing.T) {
	dir := fixtureDir(t, "catboost")
	worstAll := 0.0
	for _, tc := range []struct {
		model, test string
		features    int
	}{
		{"kiwicom/regression-model.json", "kiwicom/regression.json", 8},
		{"kiwicom/xor-model.json", "kiwicom/xor.json", 2},
		{"kiwicom/or-model.json", "kiwicom/or.json", 2},
		{"kiwicom/and-model.json", "kiwicom/and.json", 2},
		{"maxpoletaev/float_regression_model.json", "maxpoletaev/float_regression_test.json", 6},
		{"maxpoletaev/single_tree_model.json", "maxpoletaev/single_tree_test.json", 3},
		{"maxpoletaev/shallow_trees_model.json", "maxpoletaev/shallow_trees_test.json", 4},
		{"maxpoletaev/deep_trees_model.json", "maxpoletaev/deep_trees_test.json", 8},
		{"maxpoletaev/many_borders_model.json", "maxpoletaev/many_borders_test.json", 3},
		{"maxpoletaev/extreme_values_model.json", "maxpoletaev/extreme_values_test.json", 3},
		{"maxpoletaev/large_features_model.json", "maxpoletaev/large_features_test.json", 50},
		{"maxpoletaev/nan_as_false_model.json", "maxpoletaev/nan_as_false_test.json", 4},
		{"maxpoletaev/nan_as_true_model.json", "maxpoletaev/nan_as_true_test.json", 4},
		{"maxpoletaev/float_binary_model.json", "maxpoletaev/float_binary_test.json", 5},
	} {
		t.Run(strings.TrimSuffix(filepath.Base(tc.model), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.model))
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, data)
			if got := len(m.Features()); got != tc.features {
				t.Errorf("%d features, want %d", got, tc.features)
			}
			if info := m.Info(); info.Format != FormatCatBoost || info.Library != "catboost" {
				t.Errorf("Info() = %+v", info)
			}
			x, want, transform := loadCBTest(t, filepath.Join(dir, tc.test))
			n := len(want)
			raw := make([]float64, n)
			m.Predict(x, n, raw)
			nans := 0
			for _, v := range x {
				if math.IsNaN(v) {
					nans++
				}
			}
			worst := 0.0
			for i := range want {
				got := transform(raw[i])
				rel := math.Abs(got-want[i]) / math.Max(math.Abs(want[i]), 1e-300)
				if !(rel <= cbTolerance) {
					t.Errorf("row %d: got %v (raw %v), want %v (relative error %.3g)", i, got, raw[i], want[i], rel)
				}
				worst = math.Max(worst, rel)
			}
			worstAll = math.Max(worstAll, worst)
			t.Logf("%d rows (%d NaN inputs), max relative error %.3g", n, nans, worst)
		})
	}
	t.Logf("all CatBoost fixtures: max relative error %.3g", worstAll)
}

// loadCBTest reads a fixture's inputs (row-major, null = NaN), CatBoost's
// outputs, and the transform from raw score to those outputs.
func loadCBTest(t *testing.T, path string) (x, want []float64, transform func(float64) float64) {
	var f struct {
		X              [][]float64 `json:"x"`
		Y              []float64   `json:"y"`
		PredictionType string      `json:"prediction_type"`
		Samples        []struct {
			Floats []*float64 `json:"floats"`
		} `json:"samples"`
		Predictions [][]float64 `json:"predictions"`
	}
	readJSON(t, path, &f)
	if f.X != nil { // kiwicom: raw values
		return flatten(f.X), f.Y, func(v float64) float64 { return v }
	}
	for _, s := range f.Samples {
		for _, v := range s.Floats {
			if v == nil {
				x = append(x, math.NaN())
			} else {
				x = append(x, *v)
			}
		}
	}
	for _, p := range f.Predictions {
		want = append(want, p[0])
	}
	switch f.PredictionType {
	case "", "RawFormulaVal":
		transform = func(v float64) float64 { return v }
	case "Exponent":
		transform = math.Exp
	case "Probability":
		transform = func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	default:
		t.Fatalf("unknown prediction_type %q", f.PredictionType)
	}
	return x, want, transform
}

func TestCatBoostNonSymmetricRejected(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtureDir(t, "catboost"), "maxpoletaev", "nonsym_regression_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data)
	if err == nil || !strings.Contains(err.Error(), "unsupported") || !strings.Contains(err.Error(), "non-symmetric") {
		t.Fatalf("Parse(nonsym) error = %v, want an unsupported non-symmetric trees error", err)
	}
	t.Logf("nonsym rejected: %v", err)
}

func TestCatBoostMetadata(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtureDir(t, "catboost"), "maxpoletaev", "deep_trees_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, data)
	info := m.Info()
	if info.LibraryVersion != "1.2.10" || info.Quality != nil || info.Name != "" {
		t.Errorf("Info() = %+v, want catboost 1.2.10 without name or quality", info)
	}
	if got := m.Features(); got[0] != "feature_0" || got[7] != "feature_7" {
		t.Errorf("Features() = %v, want feature_<flat_feature_index> for empty feature_id", got)
	}
}
