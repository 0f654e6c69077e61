package model

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// The seed corpora run as ordinary tests in `go test`; `go test -fuzz=FuzzParse`
// (or FuzzParseJSONRows, FuzzParseCSVRows) explores further.

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

func FuzzParseJSONRows(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":2}`, `[{"a":1,"b":2},{"a":-3.5e10,"b":0,"c":"x"}]`, `[]`, `[1]`, `{"a":"1"}`,
		`{"a":1e999,"b":1}`, `[{"a":1,"b":2}] trailing`, `{"a":1,"b":2,"c":{"d":[null,true]}}`, ``, ` `,
	} {
		f.Add([]byte(seed), 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRows int) {
		maxRows %= 100
		r, err := ParseJSONRows(data, rowFeatures, maxRows)
		if err != nil {
			if r != nil {
				t.Fatal("rows and an error")
			}
			return
		}
		checkParsedRows(t, r, maxRows)
	})
}

func FuzzParseCSVRows(f *testing.F) {
	for _, seed := range []string{
		"a,b\n1,2\n", "b,a,c\n1,2,x\n3,4,\"y,z\"\n", "a,b\n", "", "a,b\n1\n", "a,b\nNaN,1\n",
		"\uFEFFa,b\r\n1,2\r\n", "a,a,b\n1,2,3\n", "a,b\n\"1\n",
	} {
		f.Add([]byte(seed), 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRows int) {
		maxRows %= 100
		r, err := ParseCSVRows(bytes.NewReader(data), rowFeatures, maxRows)
		if err != nil {
			if r != nil {
				t.Fatal("rows and an error")
			}
			return
		}
		checkParsedRows(t, r, maxRows)
	})
}

// checkParsedRows checks the invariants of successfully parsed rows.
func checkParsedRows(t *testing.T, r *Rows, maxRows int) {
	t.Helper()
	if r.N < 1 || (maxRows > 0 && r.N > maxRows) {
		t.Fatalf("N = %d with maxRows %d", r.N, maxRows)
	}
	if len(r.X) != r.N*len(rowFeatures) || len(r.Cells) != r.N {
		t.Fatalf("N = %d, len(X) = %d, len(Cells) = %d", r.N, len(r.X), len(r.Cells))
	}
	for _, v := range r.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite value %v accepted", v)
		}
	}
	for i, cells := range r.Cells {
		if len(cells) != len(r.Columns) {
			t.Fatalf("row %d has %d cells for %d columns", i, len(cells), len(r.Columns))
		}
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, r, make([]float64, r.N)); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
}
