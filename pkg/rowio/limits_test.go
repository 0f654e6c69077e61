package rowio

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// The published models' features.
var publishedFeatures = []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"}

// The service's limits (pkg/mlsvc.MaxRows, the HTTP body limit).
const (
	maxRows      = 10_000
	maxBodyBytes = 6_000_000
)

// sparseWideJSON: n rows, each with the features and one extra key of
// MaxExtraColumns, value val: the CSV output repeats every column per row.
func sparseWideJSON(features []string, n int, val string) []byte {
	return jsonRows(n, func(b *bytes.Buffer, i int) {
		b.WriteByte('{')
		for _, f := range features {
			fmt.Fprintf(b, `"%s":0,`, f)
		}
		fmt.Fprintf(b, `"%d":%s}`, i%MaxExtraColumns, val)
	})
}

// TestWriteCSVSize measures output/input for the inputs that amplify most:
// sparse wide rows (one extra key each, 100 columns in all), quote-heavy
// cells (doubled by CSV), formula-like cells (prefixed), at the row limit.
func TestWriteCSVSize(t *testing.T) {
	tests := []struct {
		name     string
		features []string
		in       []byte
		csv      bool
		maxRatio float64 // asserted; the figures measured are logged
	}{
		{"sparse wide JSON, published features", publishedFeatures, sparseWideJSON(publishedFeatures, maxRows, "0"), false, 2.4},
		{"sparse wide JSON, quotes", publishedFeatures, sparseWideJSON(publishedFeatures, maxRows, `["","","","","",""]`), false, 2.4},
		{"sparse wide JSON, formulas", publishedFeatures, sparseWideJSON(publishedFeatures, maxRows, `"=1"`), false, 2.4},
		{"sparse wide JSON, one-letter features", rowFeatures, sparseWideJSON(rowFeatures, maxRows, "0"), false, 7},
		{"CSV of empty cells", publishedFeatures, []byte(strings.Join(publishedFeatures, ",") + "," + header(MaxExtraColumns) + "\n" +
			strings.Repeat("0,0,0,0,0"+strings.Repeat(",", MaxExtraColumns)+"\n", maxRows)), true, 1.3},
		{"CSV of quotes", publishedFeatures, []byte(strings.Join(publishedFeatures, ",") + ",q\n" +
			strings.Repeat(`0,0,0,0,0,"`+strings.Repeat(`""`, 200)+`"`+"\n", maxRows)), true, 1.3},
		{"CSV of formulas", rowFeatures, []byte("a,b," + header(MaxExtraColumns) + "\n" +
			strings.Repeat("0,0"+strings.Repeat(",=", MaxExtraColumns)+"\n", maxRows)), true, 1.8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *Rows
			var err error
			if tc.csv {
				r, err = parseCSV(bytes.NewReader(tc.in), tc.features, maxRows)
			} else {
				r, err = parseJSON(tc.in, tc.features, maxRows)
			}
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := WriteCSV(&out, r, make([]float64, r.N)); err != nil {
				t.Fatal(err)
			}
			ratio := float64(out.Len()) / float64(len(tc.in))
			t.Logf("%d rows, %d columns: input %d bytes, CSV %d bytes, ratio %.2f", r.N, len(r.Columns), len(tc.in), out.Len(), ratio)
			if ratio > tc.maxRatio {
				t.Errorf("CSV/input = %.2f, want at most %.2f", ratio, tc.maxRatio)
			}
			if max := csvBound(len(tc.in), r.N, len(r.Columns)); out.Len() > max {
				t.Errorf("CSV is %d bytes, over csvBound %d", out.Len(), max)
			}
		})
	}
}

// worstJSON is the costliest well-formed request the limits allow: 10,000
// rows, just under 6 MB, the published features plus as many of the 100
// extra keys per row as fit, rotating so every column is used.
func worstJSON() []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	perRow := maxBodyBytes/maxRows - 100 // the features' share
	for i := range maxRows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"feature_0":%d.5,"feature_1":-1,"feature_2":0.25,"feature_3":1e3,"feature_4":%d`, i, i%7)
		for k, n := 0, 0; n+12 < perRow && k < MaxExtraColumns; k++ {
			n += 11
			fmt.Fprintf(&b, `,"c%02d":"x%d"`, (i+k)%MaxExtraColumns, k%10)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.Bytes()
}

// worstCSV is the CSV equivalent: every row fills every one of the 105
// columns, just under 6 MB.
func worstCSV() []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(publishedFeatures, ",") + "," + header(MaxExtraColumns) + "\n")
	for i := range maxRows {
		fmt.Fprintf(&b, "%d.5,-1,0.25,1e3,%d", i, i%7)
		for k := range MaxExtraColumns {
			fmt.Fprintf(&b, ",x%d", (i+k)%100%10)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestWorstCaseAllocation parses the worst requests the limits allow and
// asserts generous bounds on what is allocated: parsing at most 8 times the
// input, parsing plus AppendJSON plus WriteCSV (the service's path once it
// uses AppendJSON) at most 20 times. Before the column limit and sparse storage, 10,000 rows with
// distinct keys ran the process out of memory.
func TestWorstCaseAllocation(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MB")
	}
	js, cs := worstJSON(), worstCSV()
	for _, tc := range []struct {
		name  string
		in    []byte
		parse func() (*Rows, error)
	}{
		{"JSON", js, func() (*Rows, error) { return parseJSON(js, publishedFeatures, maxRows) }},
		{"CSV", cs, func() (*Rows, error) { return parseCSV(bytes.NewReader(cs), publishedFeatures, maxRows) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.in) > maxBodyBytes {
				t.Fatalf("input is %d bytes, over the body limit", len(tc.in))
			}
			var r *Rows
			var err error
			parse := allocated(func() { r, err = tc.parse() })
			if err != nil {
				t.Fatal(err)
			}
			if r.N != maxRows || len(r.Columns) != len(publishedFeatures)+MaxExtraColumns {
				t.Fatalf("%d rows, %d columns; want %d, %d", r.N, len(r.Columns), maxRows, len(publishedFeatures)+MaxExtraColumns)
			}
			var out []byte
			appendJSON := allocated(func() { out, err = r.AppendJSON(nil, 0) })
			if err != nil {
				t.Fatal(err)
			}
			var csvOut bytes.Buffer
			writeCSV := allocated(func() { err = WriteCSV(&csvOut, r, make([]float64, r.N)) })
			if err != nil {
				t.Fatal(err)
			}
			in := float64(len(tc.in))
			total := parse + appendJSON + writeCSV
			t.Logf("input %d bytes, %d rows × %d columns, allocated: parse %d (%.1f×), AppendJSON %d for %d bytes out, "+
				"WriteCSV %d for %d bytes out; together %d (%.1f×)",
				len(tc.in), r.N, len(r.Columns), parse, float64(parse)/in, appendJSON, len(out), writeCSV, csvOut.Len(),
				total, float64(total)/in)
			if float64(parse) > 8*in {
				t.Errorf("parsing allocated %d bytes, over 8× the %d-byte input", parse, len(tc.in))
			}
			if float64(total) > 20*in {
				t.Errorf("parse, AppendJSON and WriteCSV allocated %d bytes, over 20× the %d-byte input", total, len(tc.in))
			}
		})
	}
}

func BenchmarkParseJSONWorst(b *testing.B) {
	in := worstJSON()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseJSON(in, publishedFeatures, maxRows); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCSVWorst(b *testing.B) {
	in := worstCSV()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseCSV(bytes.NewReader(in), publishedFeatures, maxRows); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteCSVWorst(b *testing.B) {
	in := worstJSON()
	r, err := parseJSON(in, publishedFeatures, maxRows)
	if err != nil {
		b.Fatal(err)
	}
	preds := make([]float64, r.N)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		if err := WriteCSV(&out, r, preds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJSONWorstCSV(b *testing.B) {
	in := worstCSV()
	r, err := parseCSV(bytes.NewReader(in), publishedFeatures, maxRows)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.AppendJSON(nil, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSmallInputAllocation: a request of a few rows, the common case,
// allocates a small multiple of its size to parse and to write back as
// JSON (5.3 KB for 401 bytes), not the 4 KiB steps a large input grows by
// (14.9 KB before).
func TestSmallInputAllocation(t *testing.T) {
	in := []byte(`[` + strings.Repeat(`{"feature_0":0.5,"feature_1":1.5,"feature_2":-2,"feature_3":3.25,"feature_4":7},`, 4) +
		`{"feature_0":0.5,"feature_1":1.5,"feature_2":-2,"feature_3":3.25,"feature_4":7}]`)
	const runs = 200
	var err error
	total := allocated(func() {
		for range runs {
			var r *Rows
			if r, err = parseJSON(in, publishedFeatures, maxRows); err == nil {
				_, err = r.AppendJSON(nil, 0)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	per := total / runs
	t.Logf("a %d-byte input of 5 rows: %d bytes allocated to parse it and write it as JSON", len(in), per)
	if per > 20*uint64(len(in)) {
		t.Errorf("%d bytes allocated for a %d-byte input, over 20× its size", per, len(in))
	}
}
