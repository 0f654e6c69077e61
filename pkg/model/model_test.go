package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Small hand-written model files used by several tests (and as fuzz seeds).
const (
	linearJSON = `{"format":"linear","format_version":1,"name":"t","library":"scikit-learn",
		"library_version":"1.2.1","estimator":"LinearRegression","feature_names":["a","b"],
		"quality":{"metric":"r2","value":0.5},"coef":[2,-3],"intercept":1}`
	// x["a"] <= 0.1 (after float32 rounding) ? 1 : (x["b"] <= 5 ? 2 : 3)
	treeJSON = `{"format":"tree_ensemble","format_version":1,"feature_names":["a","b"],"combine":"mean",
		"trees":[{"children_left":[1,-1,3,-1,-1],"children_right":[2,-1,4,-1,-1],"feature":[0,-2,1,-2,-2],
		"threshold":[0.1,-2,5,-2,-2],"value":[0,1,0,2,3]}]}`
	boostJSON = `{"format":"tree_ensemble","format_version":1,"feature_names":["a"],"combine":"boosting",
		"init":10,"learning_rate":0.5,"trees":[
		{"children_left":[1,-1,-1],"children_right":[2,-1,-1],"feature":[0,-2,-2],"threshold":[0,-2,-2],"value":[0,-1,1]},
		{"children_left":[-1],"children_right":[-1],"feature":[-2],"threshold":[-2],"value":[4]}]}`
	// Two float features; tree 0 splits on a > 0.5 (bit 0) and b > 1.5 (bit 1).
	catboostJSON = `{"features_info":{"float_features":[
		{"feature_index":0,"flat_feature_index":0,"feature_id":"","borders":[0.5],"nan_value_treatment":"AsFalse"},
		{"feature_index":1,"flat_feature_index":1,"feature_id":"b","borders":[1.5],"nan_value_treatment":"AsTrue"}]},
		"oblivious_trees":[{"leaf_values":[1,2,3,4],"splits":[
		{"border":0.5,"float_feature_index":0,"split_type":"FloatFeature"},
		{"border":1.5,"float_feature_index":1,"split_type":"FloatFeature"}]},
		{"leaf_values":[10,20],"splits":[{"border":0.5,"float_feature_index":0,"split_type":"FloatFeature"}]}],
		"scale_and_bias":[2,[0.25]],
		"model_info":{"mlsvc_name":"CB","mlsvc_metric":"r2","mlsvc_metric_value":"0.75",
		"catboost_version_info":"Git info:\n    Branch: tags/v1.2.5\n"}}`
)

func predictOne(m *Model, row ...float64) float64 {
	out := make([]float64, 1)
	m.Predict(row, 1, out)
	return out[0]
}

func TestParseSmallModels(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		features []string
		info     Info
		rows     [][]float64
		want     []float64
	}{
		{"linear", linearJSON, []string{"a", "b"},
			Info{Name: "t", Format: "linear", Library: "scikit-learn", LibraryVersion: "1.2.1", Estimator: "LinearRegression", Quality: &Quality{"r2", 0.5}},
			[][]float64{{0, 0}, {1, 1}, {0.5, -2}}, []float64{1, 0, 8}},
		{"tree/float32 cast", treeJSON, []string{"a", "b"}, Info{Format: "tree_ensemble"},
			// float32(0.1) > 0.1, so scikit-learn sends x = 0.1 right;
			// float32(5.0000001) == 5, so that one goes left.
			[][]float64{{0.09, 0}, {0.1, 0}, {0.0999999, 0}, {0.2, 5}, {0.2, 5.0000001}, {0.2, 5.000001}, {-1e300, 0}, {1e300, 1e300}},
			[]float64{1, 2, 1, 2, 2, 3, 1, 3}},
		{"boosting", boostJSON, []string{"a"}, Info{Format: "tree_ensemble"},
			[][]float64{{-1}, {0}, {1}}, []float64{10 - 0.5 + 2, 10 - 0.5 + 2, 10 + 0.5 + 2}},
		{"catboost", catboostJSON, []string{"feature_0", "b"},
			Info{Name: "CB", Format: FormatCatBoost, Library: "catboost", LibraryVersion: "1.2.5", Estimator: "CatBoost oblivious trees", Quality: &Quality{"r2", 0.75}},
			[][]float64{{0, 0}, {1, 0}, {0, 2}, {1, 2}, {0.5, 1.5}, {math.NaN(), 0}, {0, math.NaN()}, {math.NaN(), math.NaN()}},
			// 2·(tree0 + tree1) + 0.25; NaN in a is "AsFalse" (bit 0), in b "AsTrue" (bit 1).
			[]float64{2*(1+10) + 0.25, 2*(2+20) + 0.25, 2*(3+10) + 0.25, 2*(4+20) + 0.25, 2*(1+10) + 0.25,
				2*(1+10) + 0.25, 2*(3+10) + 0.25, 2*(3+10) + 0.25}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, []byte(tc.file))
			if got := m.Features(); strings.Join(got, ",") != strings.Join(tc.features, ",") {
				t.Errorf("Features() = %v, want %v", got, tc.features)
			}
			got := m.Info()
			gotQ, wantQ := got.Quality, tc.info.Quality
			got.Quality, tc.info.Quality = nil, nil
			if got != tc.info || (gotQ == nil) != (wantQ == nil) || (gotQ != nil && *gotQ != *wantQ) {
				t.Errorf("Info() = %+v %+v, want %+v %+v", got, gotQ, tc.info, wantQ)
			}
			// Predict all rows at once and one by one: the same numbers.
			preds := make([]float64, len(tc.rows))
			m.Predict(flatten(tc.rows), len(tc.rows), preds)
			for i, row := range tc.rows {
				if preds[i] != tc.want[i] {
					t.Errorf("row %v: got %v, want %v", row, preds[i], tc.want[i])
				}
				if one := predictOne(m, row...); one != preds[i] {
					t.Errorf("row %v alone: got %v, in a batch %v", row, one, preds[i])
				}
			}
		})
	}
}

// TestFeatureNamesSplitting checks the array splitter on names holding
// JSON's structural characters.
func TestFeatureNamesSplitting(t *testing.T) {
	names := []string{"a,b", `c]"}`, "{[d", `\`, "é ,"}
	m := mustParse(t, mustJSON(t, map[string]any{"format": "linear", "format_version": 1,
		"feature_names": names, "coef": []float64{1, 2, 3, 4, 5}, "intercept": 0}))
	if got := m.Features(); strings.Join(got, "|") != strings.Join(names, "|") {
		t.Errorf("Features() = %q, want %q", got, names)
	}
}

func TestInfoIsACopy(t *testing.T) {
	m := mustParse(t, []byte(linearJSON))
	m.Info().Quality.Value = 99
	if got := m.Info().Quality.Value; got != 0.5 {
		t.Errorf("Info().Quality.Value = %v after a caller changed its copy, want 0.5", got)
	}
}

func TestPredictArguments(t *testing.T) {
	m := mustParse(t, []byte(linearJSON))
	m.Predict(nil, 0, nil) // no rows: nothing to do
	defer func() {
		if recover() == nil {
			t.Error("Predict with a short x did not panic")
		}
	}()
	m.Predict([]float64{1}, 1, make([]float64, 1))
}

// TestFloorFloat32 checks the identity the tree evaluator relies on:
// float64(x) <= t exactly when x <= floorFloat32(t), for float32 x.
func TestFloorFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	thresholds := []float64{0, math.Copysign(0, -1), 0.1, -0.1, 1, 1e-45, -1e-45, 5e-324, 1e-40,
		math.MaxFloat32, -math.MaxFloat32, 1e39, -1e39, math.MaxFloat64, -math.MaxFloat64,
		float64(math.Nextafter32(1, 2)), 1 + 1e-12, 1 - 1e-12}
	for range 20000 {
		thresholds = append(thresholds, r.NormFloat64()*math.Pow(10, float64(r.IntN(80)-40)))
	}
	for _, th := range thresholds {
		f := floorFloat32(th)
		xs := []float32{f, math.Nextafter32(f, float32(math.Inf(1))), math.Nextafter32(f, float32(math.Inf(-1))),
			float32(th), float32(math.Inf(1)), float32(math.Inf(-1)), 0}
		for _, x := range xs {
			if want, got := float64(x) <= th, x <= f; got != want {
				t.Fatalf("threshold %v, x %v: x <= floorFloat32 (%v) is %v, float64 comparison %v", th, x, f, got, want)
			}
		}
	}
}

// randomTree returns a random valid scikit-learn-style tree over nf features.
func randomTree(r *rand.Rand, nf, maxDepth int) map[string]any {
	var left, right, feature []int
	var threshold, value []float64
	var grow func(depth int) int
	grow = func(depth int) int {
		i := len(left)
		left, right, feature = append(left, -1), append(right, -1), append(feature, -2)
		threshold, value = append(threshold, -2), append(value, math.Round(r.NormFloat64()*1e6)/1e3)
		if depth < maxDepth && r.Float64() < 0.8 {
			feature[i] = r.IntN(nf)
			threshold[i] = math.Round(r.Float64()*1e4) / 1e4
			l := grow(depth + 1)
			rr := grow(depth + 1)
			left[i], right[i] = l, rr
		}
		return i
	}
	grow(0)
	return map[string]any{"children_left": left, "children_right": right, "feature": feature, "threshold": threshold, "value": value}
}

// TestLayoutsAgree builds random forests and checks that the complete
// (branch-free) layout and the generic layout give the same bits, including
// rows sitting exactly on thresholds and blocks that end mid-way.
func TestLayoutsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 30 {
		nf := 1 + r.IntN(7)
		names := make([]string, nf)
		for j := range names {
			names[j] = fmt.Sprintf("f%d", j)
		}
		var trees []map[string]any
		for range 1 + r.IntN(12) {
			trees = append(trees, randomTree(r, nf, r.IntN(14)))
		}
		doc := map[string]any{"format": "tree_ensemble", "format_version": 1, "feature_names": names, "trees": trees, "combine": "mean"}
		if iter%2 == 1 {
			doc["combine"], doc["init"], doc["learning_rate"] = "boosting", 0.3, 0.1
		}
		data := mustJSON(t, doc)
		m := mustParse(t, data)
		var tf treeFile
		if err := json.Unmarshal(data, &tf); err != nil {
			t.Fatal(err)
		}
		generic, err := buildEnsemble(&tf, nf, -1)
		if err != nil {
			t.Fatal(err)
		}
		n := 1 + r.IntN(700)
		x := make([]float64, n*nf)
		for i := range x {
			if r.IntN(4) == 0 {
				x[i] = math.Round(r.Float64()*1e4) / 1e4 // often exactly a threshold
			} else {
				x[i] = r.Float64()
			}
		}
		got, want := make([]float64, n), make([]float64, n)
		m.Predict(x, n, got)
		generic.predict(x, n, want)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("forest %d row %d: complete layout %v, generic %v", iter, i, got[i], want[i])
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tree := func(left, right, feature string) string {
		return `{"format":"tree_ensemble","format_version":1,"feature_names":["a","b"],"combine":"mean","trees":[{"children_left":` +
			left + `,"children_right":` + right + `,"feature":` + feature + `,"threshold":[0.5,-2,-2],"value":[0,1,2]}]}`
	}
	deep := func(n int) string { // a chain n nodes deep
		var l, r, f, th, v []string
		for i := 0; i < n; i++ {
			l, r, f, th, v = append(l, fmt.Sprint(i+1)), append(r, fmt.Sprint(n+i+1)), append(f, "0"), append(th, "0.5"), append(v, "0")
		}
		for i := 0; i <= n; i++ {
			l, r, f, th, v = append(l, "-1"), append(r, "-1"), append(f, "-2"), append(th, "-2"), append(v, "1")
		}
		l[n-1] = fmt.Sprint(n) // last split: left is leaf n
		return `{"format":"tree_ensemble","format_version":1,"feature_names":["a"],"combine":"mean","trees":[{"children_left":[` +
			strings.Join(l, ",") + `],"children_right":[` + strings.Join(r, ",") + `],"feature":[` + strings.Join(f, ",") +
			`],"threshold":[` + strings.Join(th, ",") + `],"value":[` + strings.Join(v, ",") + `]}]}`
	}
	cb := func(replace ...string) string { return strings.NewReplacer(replace...).Replace(catboostJSON) }
	tests := []struct {
		name, file, want string
	}{
		{"empty", ``, "not a JSON object"},
		{"not JSON", `{"format":`, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"no format", `{"coef":[1]}`, "unknown model file"},
		{"unknown format", `{"format":"xgboost","format_version":1}`, `unknown model format "xgboost"`},
		{"format not a string", `{"format":1}`, "not a JSON object"},
		{"version", strings.Replace(linearJSON, `"format_version":1`, `"format_version":2`, 1), "unsupported format_version 2"},
		{"unknown field", strings.Replace(linearJSON, `"intercept":1`, `"intercept":1,"extra":true`, 1), `unknown field "extra"`},
		{"trailing data", linearJSON + `{}`, "not a JSON object"},
		{"missing intercept", strings.Replace(linearJSON, `,"intercept":1`, ``, 1), "missing intercept"},
		{"coef length", strings.Replace(linearJSON, `[2,-3]`, `[2]`, 1), "one number per feature"},
		{"no features", strings.Replace(linearJSON, `["a","b"]`, `[]`, 1), "no feature_names"},
		{"duplicate feature", strings.Replace(linearJSON, `["a","b"]`, `["a","a"]`, 1), `duplicate feature name "a"`},
		{"empty feature name", strings.Replace(linearJSON, `["a","b"]`, `["a",""]`, 1), "feature_names[1]"},
		{"number too large", strings.Replace(linearJSON, `"intercept":1`, `"intercept":1e999`, 1), "intercept"},
		{"bad quality", strings.Replace(linearJSON, `"value":0.5`, `"value":"high"`, 1), "quality"},
		{"quality without metric", strings.Replace(linearJSON, `"metric":"r2",`, ``, 1), "quality.metric"},
		{"coef type", strings.Replace(linearJSON, `[2,-3]`, `["2",-3]`, 1), "coef"},

		{"child out of range", tree("[1,-1,-1]", "[7,-1,-1]", "[0,-2,-2]"), "out of range"},
		{"child is root (cycle)", tree("[1,-1,-1]", "[0,-1,-1]", "[0,-2,-2]"), "out of range"},
		{"cycle", `{"format":"tree_ensemble","format_version":1,"feature_names":["a"],"combine":"mean","trees":[{"children_left":[1,2,-1],"children_right":[2,1,-1],"feature":[0,0,-2],"threshold":[0.5,0.5,-2],"value":[0,1,2]}]}`, "reached twice"},
		{"shared child", tree("[1,-1,-1]", "[1,-1,-1]", "[0,-2,-2]"), "reached twice"},
		{"unreachable node", tree("[-1,-1,-1]", "[-1,-1,-1]", "[-2,-2,-2]"), "not reachable"},
		{"one child", tree("[1,-1,-1]", "[-1,-1,-1]", "[0,-2,-2]"), "only one child"},
		{"feature out of range", tree("[1,-1,-1]", "[2,-1,-1]", "[2,-2,-2]"), "splits on feature 2"},
		{"negative feature", tree("[1,-1,-1]", "[2,-1,-1]", "[-1,-2,-2]"), "splits on feature -1"},
		{"length mismatch", tree("[1,-1]", "[2,-1,-1]", "[0,-2,-2]"), "same length"},
		{"too deep", deep(MaxTreeDepth + 1), "deeper than"},
		{"no trees", `{"format":"tree_ensemble","format_version":1,"feature_names":["a"],"combine":"mean","trees":[]}`, "no trees"},
		{"empty tree", `{"format":"tree_ensemble","format_version":1,"feature_names":["a"],"combine":"mean","trees":[{}]}`, "no nodes"},
		{"bad combine", strings.Replace(treeJSON, `"mean"`, `"median"`, 1), `combine must be`},
		{"boosting without init", strings.Replace(boostJSON, `"init":10,`, ``, 1), `needs "init"`},
		{"mean with init", strings.Replace(treeJSON, `"combine":"mean"`, `"combine":"mean","init":1`, 1), "only for combine"},
		{"unknown tree field", strings.Replace(treeJSON, `"value":[0,1,0,2,3]`, `"value":[0,1,0,2,3],"node_count":5`, 1), `trees[0]: unknown field "node_count"`},
		{"tree field type", strings.Replace(treeJSON, `"feature":[0,-2,1,-2,-2]`, `"feature":[0.5,-2,1,-2,-2]`, 1), "feature"},
		{"trees not an array", strings.Replace(treeJSON, `"trees":[`, `"trees":{"x":[`, 1) + `}`, "expected a JSON array"},

		{"nonsymmetric", `{"features_info":{"float_features":[]},"trees":[{"left":{}}]}`, "non-symmetric"},
		{"categorical", cb(`"float_features":[`, `"categorical_features":[{"feature_index":0}],"float_features":[`), "categorical features"},
		{"ctr split", cb(`"split_type":"FloatFeature"}]},`, `"split_type":"OnlineCtr"}]},`), `split_type "OnlineCtr"`},
		{"leaf count", cb(`[1,2,3,4]`, `[1,2,3]`), "3 leaf values, depth 2 needs 4"},
		{"multiclass leaves", cb(`[10,20]`, `[10,20,30,40,50,60]`), "multi-dimensional"},
		{"multiclass bias", cb(`[2,[0.25]]`, `[2,[0.25,1,2]]`), "3-dimensional output"},
		{"unknown feature", cb(`"border":1.5,"float_feature_index":1`, `"border":1.5,"float_feature_index":5`), "float feature 5"},
		{"nan treatment", cb(`"AsTrue"`, `"Sometimes"`), `nan_value_treatment "Sometimes"`},
		{"border out of float32 range", cb(`"border":1.5`, `"border":1e300`), "outside float32 range"},
		{"too deep oblivious", cb(`{"leaf_values":[10,20],"splits":[`, `{"leaf_values":[10,20],"splits":[`+strings.Repeat(`{"border":0.5,"float_feature_index":0,"split_type":"FloatFeature"},`, 17)), "more than 16 splits"},
		{"no trees", cb(`"oblivious_trees":[`, `"oblivious_trees":[],"x":[`), "no oblivious_trees"},
		{"bad metric value", cb(`"0.75"`, `"good"`), "mlsvc_metric_value"},
		{"duplicate feature id", cb(`"feature_id":"",`, `"feature_id":"b",`), "duplicate feature name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatalf("Parse succeeded (features %v), want an error containing %q", m.Features(), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Run("file size", func(t *testing.T) {
		_, err := Parse(make([]byte, MaxModelSize+1))
		if err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("Parse(%d bytes) error = %v, want a size limit error", MaxModelSize+1, err)
		}
	})
	t.Run("array length", func(t *testing.T) {
		zeros := strings.Repeat("0,", MaxNodes) + "0"
		file := strings.Replace(treeJSON, `"value":[0,1,0,2,3]`, `"value":[`+zeros+`]`, 1)
		_, err := Parse([]byte(file))
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("Parse(value array of %d) error = %v, want a limit error", MaxNodes+1, err)
		}
	})
	t.Run("tree count", func(t *testing.T) {
		one := `{"children_left":[-1],"children_right":[-1],"feature":[-2],"threshold":[-2],"value":[1]}`
		var b bytes.Buffer
		b.WriteString(`{"format":"tree_ensemble","format_version":1,"feature_names":["a"],"combine":"mean","trees":[`)
		for i := 0; i <= MaxTrees; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(one)
		}
		b.WriteString(`]}`)
		_, err := Parse(b.Bytes())
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("Parse(%d trees) error = %v, want a limit error", MaxTrees+1, err)
		}
	})
	t.Run("feature count", func(t *testing.T) {
		names := make([]string, MaxFeatures+1)
		for i := range names {
			names[i] = fmt.Sprint("f", i)
		}
		coef := make([]float64, len(names))
		_, err := Parse(mustJSON(t, map[string]any{"format": "linear", "format_version": 1, "feature_names": names, "coef": coef, "intercept": 0}))
		if err == nil || !strings.Contains(err.Error(), "more than 10000 feature_names") {
			t.Errorf("Parse(%d features) error = %v, want a limit error", len(names), err)
		}
	})
}

// TestManyFeatures covers models wider than the on-stack block (heap path).
func TestManyFeatures(t *testing.T) {
	nf := scratchFloats + 3
	names := make([]string, nf)
	for i := range names {
		names[i] = fmt.Sprint("f", i)
	}
	tr := map[string]any{"children_left": []int{1, -1, -1}, "children_right": []int{2, -1, -1},
		"feature": []int{nf - 1, -2, -2}, "threshold": []float64{0.5, -2, -2}, "value": []float64{0, 1, 2}}
	m := mustParse(t, mustJSON(t, map[string]any{"format": "tree_ensemble", "format_version": 1,
		"feature_names": names, "combine": "mean", "trees": []any{tr}}))
	x := make([]float64, 2*nf)
	x[2*nf-1] = 1 // row 1, last feature
	out := make([]float64, 2)
	m.Predict(x, 2, out)
	if out[0] != 1 || out[1] != 2 {
		t.Errorf("predictions %v, want [1 2]", out)
	}
}

// TestConcurrentPredict: a Model is shared by concurrent requests.
func TestConcurrentPredict(t *testing.T) {
	for _, file := range []string{linearJSON, treeJSON, catboostJSON} {
		m := mustParse(t, []byte(file))
		x := []float64{0.3, 2, 0.7, 1, 0.1, 1.5}
		want := make([]float64, 3)
		m.Predict(x, 3, want)
		errs := make(chan error, 8)
		for range 8 {
			go func() {
				got := make([]float64, 3)
				for range 200 {
					m.Predict(x, 3, got)
					if got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
						errs <- fmt.Errorf("concurrent Predict = %v, want %v", got, want)
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
}
