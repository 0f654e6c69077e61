package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// xgboostJSON is a minimal XGBoost JSON model: one stump on f1, NaN to the left.
const xgboostJSON = `{"learner":{"feature_names":[],"gradient_booster":{"name":"gbtree","model":{"trees":[
	{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[1,0,0],"split_conditions":[0.5,-1.5,2.25],
	"default_left":[1,0,0],"split_type":[0,0,0],"categories_nodes":[],"tree_param":{"size_leaf_vector":"0"}}]}},
	"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2","num_target":"1"},
	"objective":{"name":"binary:logistic"}},"version":[1,7,4]}`

func TestXGBoostStump(t *testing.T) {
	m := mustParse(t, []byte(xgboostJSON))
	if got := strings.Join(m.Features(), ","); got != "f0,f1" {
		t.Errorf("Features() = %s, want f0,f1", got)
	}
	for _, tc := range []struct {
		x1   float64
		want float32 // sigmoid(0 + leaf): base_score 0.5 is margin 0
	}{
		{0.25, 1 / (1 + float32(math.Exp(1.5)))},
		{0.5, 1 / (1 + float32(math.Exp(-2.25)))}, // x < 0.5 is false: right
		{math.NaN(), 1 / (1 + float32(math.Exp(1.5)))},
	} {
		if got := predictOne(m, 0, tc.x1); got != float64(tc.want) {
			t.Errorf("f1=%v: got %v, want %v", tc.x1, got, tc.want)
		}
	}
}

// TestXGBoostFixtures compares Predict with Booster.predict of XGBoost 1.7.4
// on the models testdata/xgboost_fixtures.py trained: a regression and a
// binary:logistic classifier, with NaN inputs (default directions) and rows
// sitting exactly on split conditions or one float32 step beside them.
// XGBoost's outputs are float32; ours must equal them bit for bit.
func TestXGBoostFixtures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		features  []string
		estimator string
	}{
		{"regression", []string{"x0", "x1", "x2", "x3", "x4"}, "XGBoost gbtree reg:squarederror"},
		{"binary", []string{"f0", "f1", "f2", "f3", "f4"}, "XGBoost gbtree binary:logistic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "xgboost_"+tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, data)
			if got := strings.Join(m.Features(), ","); got != strings.Join(tc.features, ",") {
				t.Errorf("Features() = %s, want %s", got, strings.Join(tc.features, ","))
			}
			want := Info{Format: FormatXGBoost, Library: "xgboost", LibraryVersion: "1.7.4", Estimator: tc.estimator}
			if got := m.Info(); got != want {
				t.Errorf("Info() = %+v, want %+v", got, want)
			}
			var f struct {
				Inputs      [][]*float64 `json:"inputs"`
				Predictions []float64    `json:"predictions"`
			}
			readJSON(t, filepath.Join("testdata", "xgboost_"+tc.name+"_expected.json"), &f)
			var x []float64
			nans := 0
			for _, row := range f.Inputs {
				for _, v := range row {
					if v == nil {
						x = append(x, math.NaN())
						nans++
					} else {
						x = append(x, *v)
					}
				}
			}
			n := len(f.Predictions)
			if n < 300 || nans < 50 {
				t.Fatalf("fixture has %d rows and %d NaN inputs, want at least 300 and 50", n, nans)
			}
			got := make([]float64, n)
			m.Predict(x, n, got)
			for i, w := range f.Predictions {
				if got[i] != w {
					t.Errorf("row %d: got %v, want %v (XGBoost, float32)", i, got[i], w)
				}
			}
			t.Logf("%d rows (%d NaN inputs) equal to XGBoost's predictions bit for bit", n, nans)
		})
	}
}

// TestXGBoostRejected checks that what the evaluator does not reproduce is
// refused with a message naming it, rather than predicted wrongly.
func TestXGBoostRejected(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "xgboost_binary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	learner := func(d map[string]any) map[string]any { return d["learner"].(map[string]any) }
	firstTree := func(d map[string]any) map[string]any {
		gb := learner(d)["gradient_booster"].(map[string]any)
		return gb["model"].(map[string]any)["trees"].([]any)[0].(map[string]any)
	}
	for _, tc := range []struct {
		name   string
		change func(d map[string]any)
		want   string
	}{
		{"dart", func(d map[string]any) { learner(d)["gradient_booster"].(map[string]any)["name"] = "dart" }, `booster "dart"`},
		{"gblinear", func(d map[string]any) {
			learner(d)["gradient_booster"] = map[string]any{"name": "gblinear", "model": map[string]any{"weights": []float64{1, 2}}}
		}, `booster "gblinear"`},
		{"objective", func(d map[string]any) {
			learner(d)["objective"] = map[string]any{"name": "reg:pseudohubererror"}
		}, `objective "reg:pseudohubererror"`},
		{"multiclass", func(d map[string]any) {
			learner(d)["learner_model_param"].(map[string]any)["num_class"] = "3"
		}, "multiclass"},
		{"categorical split type", func(d map[string]any) {
			st := firstTree(d)["split_type"].([]any)
			st[0] = 1
		}, "categorical splits"},
		{"categories", func(d map[string]any) {
			firstTree(d)["categories_nodes"] = []int{0}
		}, "categorical splits"},
		{"base_score out of (0,1)", func(d map[string]any) {
			learner(d)["learner_model_param"].(map[string]any)["base_score"] = "1.5E0"
		}, "must be in (0, 1)"},
		{"bad feature", func(d map[string]any) {
			firstTree(d)["split_indices"].([]any)[0] = 9
		}, "splits on feature 9"},
		{"cycle", func(d map[string]any) {
			firstTree(d)["left_children"].([]any)[1] = 1
		}, "reached twice"},
		{"feature_names length", func(d map[string]any) {
			learner(d)["feature_names"] = []string{"a", "b"}
		}, "2 feature_names for num_feature 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(data, &d); err != nil {
				t.Fatal(err)
			}
			tc.change(d)
			_, err := Parse(mustJSON(t, d))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
