package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// synthCatBoost is a CatBoost JSON export of random oblivious trees: each
// split picks a random feature and one of `borders` grid borders in (0, 1)
// (CatBoost quantizes each feature to at most 254 borders by default), so a
// model has the shape of a trained one without CatBoost. nanModes cycles
// through the features.
type synthCatBoost struct {
	trees, depth, features, borders int
	nanModes                        []string
	seed                            uint64
}

func (s synthCatBoost) json(t testing.TB) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(s.seed, 7))
	type split struct {
		Border            float64 `json:"border"`
		FloatFeatureIndex int     `json:"float_feature_index"`
		SplitType         string  `json:"split_type"`
	}
	type tree struct {
		LeafValues []float64 `json:"leaf_values"`
		Splits     []split   `json:"splits"`
	}
	type feature struct {
		FeatureIndex      int       `json:"feature_index"`
		FlatFeatureIndex  int       `json:"flat_feature_index"`
		FeatureID         string    `json:"feature_id"`
		Borders           []float64 `json:"borders"`
		NanValueTreatment string    `json:"nan_value_treatment"`
	}
	grid := make([][]float64, s.features)
	for j := range grid {
		for k := range s.borders {
			// Irregular like quantiles, and not exact in float32.
			grid[j] = append(grid[j], (float64(k)+0.5+0.4*(r.Float64()-0.5))/float64(s.borders)+1e-9*r.Float64())
		}
	}
	feats := make([]feature, s.features)
	for j := range feats {
		mode := "AsFalse"
		if len(s.nanModes) > 0 {
			mode = s.nanModes[j%len(s.nanModes)]
		}
		feats[j] = feature{j, j, fmt.Sprintf("f%d", j), grid[j], mode}
	}
	trees := make([]tree, s.trees)
	for i := range trees {
		tr := &trees[i]
		tr.Splits = []split{} // depth 0: [], not null
		for range s.depth {
			j := r.IntN(s.features)
			tr.Splits = append(tr.Splits, split{grid[j][r.IntN(s.borders)], j, "FloatFeature"})
		}
		for range 1 << s.depth {
			tr.LeafValues = append(tr.LeafValues, 0.1*r.NormFloat64())
		}
	}
	return mustJSON(t, map[string]any{
		"features_info":   map[string]any{"float_features": feats},
		"oblivious_trees": trees,
		"scale_and_bias":  []any{1.5, []float64{0.25}},
		"model_info":      map[string]any{"mlsvc_name": "synthetic"},
	})
}

// referenceCatBoost evaluates a CatBoost JSON export row by row, split by
// split, exactly as DESIGN.md states CatBoost's rule: bit d of the leaf index
// is float32(x) > float32(border), NaN per nan_value_treatment.
func referenceCatBoost(t *testing.T, data []byte, x []float64, n int) []float64 {
	t.Helper()
	var f struct {
		FeaturesInfo struct {
			FloatFeatures []struct {
				NanValueTreatment string `json:"nan_value_treatment"`
			} `json:"float_features"`
		} `json:"features_info"`
		ObliviousTrees []struct {
			LeafValues []float64 `json:"leaf_values"`
			Splits     []struct {
				Border            float64 `json:"border"`
				FloatFeatureIndex int     `json:"float_feature_index"`
			} `json:"splits"`
		} `json:"oblivious_trees"`
		ScaleAndBias []json.RawMessage `json:"scale_and_bias"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	var scale float64
	var bias []float64
	if err := json.Unmarshal(f.ScaleAndBias[0], &scale); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(f.ScaleAndBias[1], &bias); err != nil {
		t.Fatal(err)
	}
	nf := len(f.FeaturesInfo.FloatFeatures)
	out := make([]float64, n)
	for r := range n {
		sum := 0.0
		for _, tr := range f.ObliviousTrees {
			idx := 0
			for d, s := range tr.Splits {
				v := x[r*nf+s.FloatFeatureIndex]
				var bit bool
				if math.IsNaN(v) {
					bit = f.FeaturesInfo.FloatFeatures[s.FloatFeatureIndex].NanValueTreatment == "AsTrue"
				} else {
					bit = float32(v) > float32(s.Border)
				}
				if bit {
					idx |= 1 << d
				}
			}
			sum += tr.LeafValues[idx]
		}
		out[r] = float64(scale*sum) + bias[0]
	}
	return out
}

// TestObliviousKernel checks the binarized, 8-rows-at-a-time kernel against
// the split-by-split rule on random models: shallow and deep trees (the second
// index word), more than 127 and more than 254 borders per feature (several
// binarized bytes), every NaN treatment, rows on the borders and just beside
// them, ±Inf, values beyond float32, and row counts that are not multiples of
// 8 or of a block.
func TestObliviousKernel(t *testing.T) {
	for _, s := range []synthCatBoost{
		{trees: 40, depth: 6, features: 5, borders: 254, seed: 1},
		{trees: 20, depth: 3, features: 2, borders: 10, nanModes: []string{"AsTrue", "AsIs"}, seed: 2},
		{trees: 10, depth: 8, features: 3, borders: 127, nanModes: []string{"AsFalse", "AsTrue"}, seed: 3},
		{trees: 6, depth: 11, features: 4, borders: 600, nanModes: []string{"AsTrue", "AsFalse", "AsIs"}, seed: 4},
		{trees: 3, depth: 16, features: 2, borders: 300, nanModes: []string{"AsTrue"}, seed: 5},
		{trees: 5, depth: 0, features: 1, borders: 1, seed: 6},
		{trees: 30, depth: 4, features: 300, borders: 200, nanModes: []string{"AsTrue", "AsFalse"}, seed: 7},
	} {
		t.Run(fmt.Sprintf("%dx%d_f%d_b%d", s.trees, s.depth, s.features, s.borders), func(t *testing.T) {
			data := s.json(t)
			m := mustParse(t, data)
			var borders []float64
			var grid struct {
				FeaturesInfo struct {
					FloatFeatures []struct {
						Borders []float64 `json:"borders"`
					} `json:"float_features"`
				} `json:"features_info"`
			}
			if err := json.Unmarshal(data, &grid); err != nil {
				t.Fatal(err)
			}
			for _, f := range grid.FeaturesInfo.FloatFeatures {
				borders = append(borders, f.Borders...)
			}
			r := rand.New(rand.NewPCG(s.seed, 99))
			special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -1, 2, 1e300, -1e300, math.SmallestNonzeroFloat64}
			for _, n := range []int{1, 7, 8, 9, 300, 1029} {
				x := make([]float64, n*s.features)
				for i := range x {
					switch k := r.IntN(10); {
					case k < 4:
						x[i] = r.Float64()
					case k < 8:
						b := borders[r.IntN(len(borders))]
						switch k {
						case 4:
							x[i] = b
						case 5:
							x[i] = float64(float32(b)) // on the float32 border
						case 6:
							x[i] = float64(math.Nextafter32(float32(b), 2))
						case 7:
							x[i] = float64(math.Nextafter32(float32(b), -1))
						}
					default:
						x[i] = special[r.IntN(len(special))]
					}
				}
				got := make([]float64, n)
				m.Predict(x, n, got)
				want := referenceCatBoost(t, data, x, n)
				for i := range want {
					if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
						t.Fatalf("%d rows: row %d = %v, want %v (bit for bit)", n, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestCountBelow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 70; n++ {
		b := make([]float32, n)
		for i := range b {
			b[i] = float32(r.IntN(50))
		}
		slices.Sort(b)
		b = slices.Compact(b)
		for v := float32(-1); v <= 51; v += 0.5 {
			want := sort.Search(len(b), func(i int) bool { return b[i] >= v })
			if got := countBelow(b, v); got != want {
				t.Fatalf("countBelow(%v, %v) = %d, want %d", b, v, got, want)
			}
		}
	}
}
