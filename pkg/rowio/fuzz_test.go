package rowio

import (
	"bytes"
	"math"
	"testing"
)

// The seed corpora run as ordinary tests in `go test`; `go test -fuzz=FuzzParseJSON`
// (or FuzzParseCSV) explores further.

func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":2}`, `[{"a":1,"b":2},{"a":-3.5e10,"b":0,"c":"x"}]`, `[]`, `[1]`, `{"a":"1"}`,
		`{"a":1e999,"b":1}`, `[{"a":1,"b":2}] trailing`, `{"a":1,"b":2,"c":{"d":[null,true]}}`, ``, ` `,
	} {
		f.Add([]byte(seed), 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRows int) {
		maxRows %= 100
		r, err := ParseJSON(data, rowFeatures, maxRows)
		if err != nil {
			if r != nil {
				t.Fatal("rows and an error")
			}
			return
		}
		checkParsedRows(t, r, maxRows)
	})
}

func FuzzParseCSV(f *testing.F) {
	for _, seed := range []string{
		"a,b\n1,2\n", "b,a,c\n1,2,x\n3,4,\"y,z\"\n", "a,b\n", "", "a,b\n1\n", "a,b\nNaN,1\n",
		"\uFEFFa,b\r\n1,2\r\n", "a,a,b\n1,2,3\n", "a,b\n\"1\n",
	} {
		f.Add([]byte(seed), 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRows int) {
		maxRows %= 100
		r, err := ParseCSV(bytes.NewReader(data), rowFeatures, maxRows)
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
