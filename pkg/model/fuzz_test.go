package model

import (
	"math"
	"strings"
	"testing"
)

// The seed corpora run as ordinary tests in `go test`; `go test -fuzz=FuzzParse`
// explores further.

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		linearJSON, treeJSON, boostJSON, catboostJSON, xgboostJSON,
		strings.Replace(xgboostJSON, `"default_left":[1,0,0]`, `"default_left":[1,0]`, 1),
		strings.Replace(xgboostJSON, `"right_children":[2,-1,-1]`, `"right_children":[1,-1,-1]`, 1),
		strings.Replace(xgboostJSON, `binary:logistic`, `reg:squarederror`, 1),
		`{}`, `[]`, `null`, `{"format":"linear"}`, `{"format":"tree_ensemble","format_version":1}`,
		`{"oblivious_trees":[]}`, `{"features_info":{}}`, `{"trees":[]}`,
		strings.Replace(treeJSON, `"children_right":[2,-1,4,-1,-1]`, `"children_right":[2,-1,0,-1,-1]`, 1),
		strings.Replace(catboostJSON, `[1,2,3,4]`, `[1,2,3,4,5,6,7,8]`, 1),
		strings.Replace(catboostJSON, `"scale_and_bias":[2,[0.25]],`, ``, 1),
		strings.Replace(catboostJSON, `[2,[0.25]]`, `[2,0.25]`, 1),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("Parse returned a model and an error")
			}
			return
		}
		nf := len(m.Features())
		if nf == 0 || nf > MaxFeatures {
			t.Fatalf("parsed model has %d features", nf)
		}
		// Any input must evaluate without panicking, including the extremes.
		rows := []float64{0, 1, -1, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, 1e-320}
		x := make([]float64, len(rows)*nf)
		for i := range x {
			x[i] = rows[(i/nf+i)%len(rows)]
		}
		out := make([]float64, len(rows))
		m.Predict(x, len(rows), out)
		_ = m.Info()
	})
}
