package rowio

import (
	"bytes"
	"encoding/csv"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// The seed corpora run as ordinary tests in `go test`; `go test -fuzz=FuzzParseJSON`
// (or FuzzParseCSV) explores further.

func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":2}`, `[{"a":1,"b":2},{"a":-3.5e10,"b":0,"c":"x"}]`, `[]`, `[1]`, `{"a":"1"}`,
		`{"a":1e999,"b":1}`, `[{"a":1,"b":2}] trailing`, `{"a":1,"b":2,"c":{"d":[null,true]}}`, ``, ` `,
		// hostile: duplicates, case, UTF-8, reserved, formulas, sparse wide rows
		`{"a":1,"b":2,"a":3}`, `{"a":1,"b":2,"A":3}`, `{"A":1,"b":2}`, `{"a":1,"b":2,"ſ":1,"S":1}`,
		"{\"a\":1,\"b\":2,\"c\":\"\xff\"}", "{\"a\":1,\"b\":2,\"\xc3\":1}", `{"a":1,"b":2,"c":"\ud800"}`,
		`{"a":1,"b":2,"prediction":1}`, `{"a":1,"b":2,"PREDICTION":1}`, `{"a":1,"b":2,"=c":"=1+1","d":"-1"}`,
		`{"a":1,"b":2,"c":"\"\"\"\"","d":[""],"e":"\r\n,"}`, `{"a":1,"b":2,"o":{"k":1,"k":2}}`,
		string(extraKeysJSON(120, 101)), string(extraKeysJSON(30, 30)),
	} {
		f.Add([]byte(seed), 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRows int) {
		maxRows %= 1000
		r, err := ParseJSON(data, rowFeatures, maxRows)
		if err != nil {
			if r != nil {
				t.Fatal("rows and an error")
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted invalid UTF-8 %q", data)
		}
		checkParsedRows(t, r, maxRows, len(data))
	})
}

func FuzzParseCSV(f *testing.F) {
	for _, seed := range []string{
		"a,b\n1,2\n", "b,a,c\n1,2,x\n3,4,\"y,z\"\n", "a,b\n", "", "a,b\n1\n", "a,b\nNaN,1\n",
		"\uFEFFa,b\r\n1,2\r\n", "a,a,b\n1,2,3\n", "a,b\n\"1\n",
		// hostile
		"a,b,\xff\n1,2,3\n", "a,b,c\n1,2,\xc3\n", "a,b,C,c\n1,2,3,4\n", "A,b\n1,2\n", "a,b,Prediction\n1,2,3\n",
		"a,b,=x\n-1.5,-1e-3,=1+1\n", "a,b,c\n1,2,\"\"\"\"\n", "a,b,,\n1,2,,\n",
		"a,b," + header(MaxExtraColumns+1) + "\n", "a,b," + header(MaxExtraColumns) + "\n1,2" + strings.Repeat(",", MaxExtraColumns) + "\n",
	} {
		f.Add([]byte(seed), 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRows int) {
		maxRows %= 1000
		r, err := ParseCSV(bytes.NewReader(data), rowFeatures, maxRows)
		if err != nil {
			if r != nil {
				t.Fatal("rows and an error")
			}
			return
		}
		checkParsedRows(t, r, maxRows, len(data))
	})
}

// checkParsedRows checks the invariants of successfully parsed rows: sizes,
// finite features, the column rules, UTF-8, the sparse and dense cells
// agreeing, WriteCSV's output reading back cell for cell within its size
// bound, and AppendJSON's output reading back to the same features.
func checkParsedRows(t *testing.T, r *Rows, maxRows, inputLen int) {
	t.Helper()
	if r.N < 1 || (maxRows > 0 && r.N > maxRows) {
		t.Fatalf("N = %d with maxRows %d", r.N, maxRows)
	}
	if len(r.X) != r.N*len(rowFeatures) {
		t.Fatalf("N = %d, len(X) = %d", r.N, len(r.X))
	}
	for _, v := range r.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite value %v accepted", v)
		}
	}
	if len(r.Columns) > len(rowFeatures)+MaxExtraColumns {
		t.Fatalf("%d columns accepted", len(r.Columns))
	}
	for j, a := range r.Columns {
		if strings.EqualFold(a, OutputColumn) || !utf8.ValidString(a) {
			t.Fatalf("column %q accepted", a)
		}
		for _, b := range r.Columns[j+1:] {
			if strings.EqualFold(a, b) && r.fromCSV {
				t.Fatalf("CSV columns %q and %q accepted", a, b)
			}
		}
	}
	for i := range r.N {
		for j := range r.Columns {
			if c := r.Cell(i, j); !utf8.ValidString(c) {
				t.Fatalf("Cell(%d, %d) = %q", i, j, c)
			}
		}
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, r, make([]float64, r.N)); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	if max := csvBound(inputLen, r.N, len(r.Columns)); b.Len() > max {
		t.Fatalf("WriteCSV wrote %d bytes for %d of input, bound %d", b.Len(), inputLen, max)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != r.N+1 {
		t.Fatalf("WriteCSV output: %d records, %v; want %d", len(recs), err, r.N+1)
	}
	for i, rec := range recs {
		if len(rec) != len(r.Columns)+1 {
			t.Fatalf("WriteCSV record %d has %d fields, want %d", i, len(rec), len(r.Columns)+1)
		}
		for j, got := range rec[:len(r.Columns)] {
			want := r.Columns[j]
			if i > 0 {
				want = r.Cell(i-1, j)
			}
			if formulaLike([]byte(want)) {
				want = "'" + want
			}
			if normalizeCR(got) != normalizeCR(want) {
				t.Fatalf("WriteCSV record %d field %d = %q, want %q", i, j, got, want)
			}
		}
	}
	js, err := r.AppendJSON(nil, 0)
	if err != nil {
		t.Fatalf("AppendJSON: %v", err)
	}
	back, err := ParseJSON(js, rowFeatures, 0)
	if err != nil {
		t.Fatalf("ParseJSON(AppendJSON()) = %v\n%s", err, js)
	}
	if back.N != r.N {
		t.Fatalf("AppendJSON read back: %d rows, want %d", back.N, r.N)
	}
	for k := range r.X {
		if back.X[k] != r.X[k] {
			t.Fatalf("AppendJSON read back: X[%d] = %v, want %v", k, back.X[k], r.X[k])
		}
	}
}

// normalizeCR undoes encoding/csv's reading of \r\n inside quotes as \n.
func normalizeCR(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
