package rowio

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// extraKeys returns n rows of JSON, row i holding the features and the key
// k<i mod distinct>.
func extraKeysJSON(n, distinct int) []byte {
	return jsonRows(n, func(b *bytes.Buffer, i int) {
		fmt.Fprintf(b, `{"a":%d,"b":1,"k%d":"v"}`, i, i%distinct)
	})
}

// jsonRows is a JSON array of n rows, row i written by row.
func jsonRows(n int, row func(b *bytes.Buffer, i int)) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		row(&b, i)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func TestColumnLimit(t *testing.T) {
	tests := []struct {
		name    string
		json    []byte
		csv     string
		wantErr bool
	}{
		{"JSON at the limit", extraKeysJSON(500, MaxExtraColumns), "", false},
		{"JSON one over", extraKeysJSON(500, MaxExtraColumns+1), "", true},
		{"JSON one row, many keys", []byte(`{"a":1,"b":2,` + keys(MaxExtraColumns+1) + `}`), "", true},
		{"CSV at the limit", nil, "a,b," + header(MaxExtraColumns) + "\n1,2" + strings.Repeat(",", MaxExtraColumns) + "\n", false},
		{"CSV one over", nil, "a,b," + header(MaxExtraColumns+1) + "\n1,2" + strings.Repeat(",", MaxExtraColumns+1) + "\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.json != nil {
				_, err = ParseJSON(tc.json, rowFeatures, 10000)
			} else {
				_, err = ParseCSV(strings.NewReader(tc.csv), rowFeatures, 10000)
			}
			if got := errors.Is(err, ErrTooManyColumns); got != tc.wantErr {
				t.Fatalf("error = %v, want ErrTooManyColumns: %v", err, tc.wantErr)
			}
			if tc.wantErr && !strings.Contains(err.Error(), "more than 100 distinct columns") {
				t.Errorf("error = %q, want it to name the limit", err)
			}
		})
	}
}

func keys(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`"k%d":1`, i))
	}
	return strings.Join(parts, ",")
}

func header(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("k%d", i))
	}
	return strings.Join(parts, ",")
}

// The column limit is checked while reading: the input below is broken
// after the 101st key, and the error is about columns, not syntax.
func TestColumnLimitWhileStreaming(t *testing.T) {
	in := append(extraKeysJSON(MaxExtraColumns+1, MaxExtraColumns+1), ` garbage {{{`...)
	in = bytes.Replace(in, []byte("]"), []byte(","), 1)
	_, err := ParseJSON(in, rowFeatures, 10000)
	if !errors.Is(err, ErrTooManyColumns) {
		t.Errorf("error = %v, want ErrTooManyColumns before the syntax error", err)
	}
}

func TestStrictJSONKeys(t *testing.T) {
	tests := []struct {
		name, in string
		want     *RowError
	}{
		{"duplicate", `[{"a":1,"b":2},{"a":1,"b":2,"a":3}]`, &RowError{1, "a", "given twice"}},
		{"duplicate extra", `{"a":1,"b":2,"x":1,"x":1}`, &RowError{0, "x", "given twice"}},
		{"duplicate ignoring case", `{"feature_0":1,"FEATURE_0":2,"a":1,"b":2}`, &RowError{0, "FEATURE_0", `duplicates "feature_0": keys are compared ignoring case`}},
		{"feature ignoring case", `{"a":1,"b":2,"A":1}`, &RowError{0, "A", `duplicates "a": keys are compared ignoring case`}},
		{"feature in another case is missing", `{"A":1,"b":2}`, &RowError{0, "a", `missing (keys are case-sensitive: the row has "A")`}},
		{"unicode fold", `{"a":1,"b":2,"ſ":1,"S":2}`, &RowError{0, "S", `duplicates "ſ": keys are compared ignoring case`}},
		{"escaped duplicate", `{"a":1,"b":2,"\u0061":3}`, &RowError{0, "a", "given twice"}},
		{"nested duplicate", `[{"a":1,"b":2,"o":{"k":1,"k":2}}]`, &RowError{0, "o.k", "given twice"}},
		{"invalid UTF-8 value", "[{\"a\":1,\"b\":2},{\"a\":1,\"b\":2,\"n\":\"x\xffy\"}]", &RowError{1, "n", "invalid UTF-8"}},
		{"invalid UTF-8 nested", "{\"a\":1,\"b\":2,\"n\":[\"\xc3\"]}", &RowError{0, "n[0]", "invalid UTF-8"}},
		{"invalid UTF-8 key", "{\"a\":1,\"b\":2,\"\xe2\x82\":1}", &RowError{0, "", "invalid UTF-8"}},
		{"lone surrogate", `{"a":1,"b":2,"n":"\udc00"}`, &RowError{0, "n", "invalid UTF-8"}},
		{"reserved", `[{"a":1,"b":2},{"a":1,"b":2,"Prediction":5}]`, &RowError{1, "Prediction", reasonReserved}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.in), rowFeatures, 10)
			checkRowsError(t, err, "", tc.want)
		})
	}
	// Keys differing in case are distinct columns across rows.
	r, err := ParseJSON([]byte(`[{"a":1,"b":2,"id":1},{"a":1,"b":2,"ID":2}]`), rowFeatures, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(r.Columns, ","), "a,b,ID,id"; got != want {
		t.Errorf("Columns = %s, want %s", got, want)
	}
}

func TestStrictCSV(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		row      *RowError
	}{
		{"header invalid UTF-8", "a,b,\xff\n1,2,3\n", "CSV header, column 3: invalid UTF-8", nil},
		{"cell invalid UTF-8", "a,b,c\n1,2,x\n1,2,\"\xc3(\"\n", "", &RowError{1, "c", "invalid UTF-8"}},
		{"feature cell invalid UTF-8", "a,b\n1,\xff\n", "", &RowError{0, "b", "invalid UTF-8"}},
		{"header case duplicate", "a,b,Id,ID\n1,2,3,4\n", `columns "Id" and "ID", which differ only in case`, nil},
		{"header empty twice", "a,b,,\n1,2,,\n", `column "" twice`, nil},
		{"header reserved", "a,b,PREDICTION\n1,2,3\n", `column "PREDICTION": the name is reserved`, nil},
		{"feature in another case", "A,b\n1,2\n", `no column "a" (the model needs a, b; names are case-sensitive and it has "A")`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tc.in), rowFeatures, 10)
			checkRowsError(t, err, tc.want, tc.row)
		})
	}
}

func TestWriteCSVFormulas(t *testing.T) {
	in := `[{"a":-1.5,"b":-1e-3,"=h":"=HYPERLINK(\"x\")","n":"-1","t":"\t-2","s":"+x","@":"@SUM(A1)","m":"-","r":"\r=1","q":" =1","u":"-inf","x":"0x1p-2","o":{"k":"=1"}}]`
	r, err := ParseJSON([]byte(in), rowFeatures, 10)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, r, []float64{-2.5}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"a", "b", "'=h", "'@", "m", "n", "o", "q", "r", "s", "t", "u", "x", "prediction"},
		{"-1.5", "-1e-3", `'=HYPERLINK("x")`, "'@SUM(A1)", "'-", "-1", `{"k":"=1"}`, " =1", "'\r=1", "'+x", "\t-2", "'-inf", "0x1p-2", "-2.5"},
	}
	if got := fmt.Sprintf("%q", recs); got != fmt.Sprintf("%q", want) {
		t.Errorf("WriteCSV wrote\n%s\nwant\n%q", got, want)
	}
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name, in string
		csv      bool
		want     string
	}{
		{"JSON keeps extras as JSON, sorted, only where present", `[{"b":2,"a":100,"z":"x","id":7,"o":{"k": [1, 2]},"n":null},{"a":-0.5,"b":4}]`, false,
			`[{"a":100,"b":2,"id":7,"n":null,"o":{"k":[1,2]},"z":"x"},{"a":-0.5,"b":4}]`},
		{"CSV extras are strings, every column", "note,b,a,id\n\"x, \"\"y\"\"\", 2 ,1e-7,\n,3,4,5\n", true,
			`[{"a":1e-7,"b":2,"id":"","note":"x, \"y\""},{"a":4,"b":3,"id":"5","note":""}]`},
		{"escapes", `{"a":1,"b":2,"<t>":"\u2028\n\"é"}`, false, `[{"\u003ct\u003e":"\u2028\n\"é","a":1,"b":2}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *Rows
			var err error
			if tc.csv {
				r, err = ParseCSV(strings.NewReader(tc.in), rowFeatures, 10)
			} else {
				r, err = ParseJSON([]byte(tc.in), rowFeatures, 10)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.AppendJSON([]byte("prefix"), 0)
			if err != nil || string(got) != "prefix"+tc.want {
				t.Fatalf("AppendJSON = %s, %v\nwant prefix%s", got, err, tc.want)
			}
			back, err := ParseJSON(got[len("prefix"):], rowFeatures, 10)
			if err != nil {
				t.Fatalf("ParseJSON(AppendJSON) = %v", err)
			}
			if fmt.Sprint(back.X) != fmt.Sprint(r.X) {
				t.Errorf("read back X = %v, want %v", back.X, r.X)
			}
			var c1, c2 bytes.Buffer
			preds := make([]float64, r.N)
			if WriteCSV(&c1, r, preds) != nil || WriteCSV(&c2, back, preds) != nil {
				t.Fatal("WriteCSV failed")
			}
			if !tc.csv && c1.String() != c2.String() {
				t.Errorf("CSV of the JSON read back:\n%s\nwant\n%s", c2.String(), c1.String())
			}
		})
	}
}

func TestAppendJSONLimit(t *testing.T) {
	r, err := ParseCSV(strings.NewReader("a,b,"+strings.Repeat("x", 1000)+"\n1,2,\n3,4,\n"), rowFeatures, 10)
	if err != nil {
		t.Fatal(err)
	}
	full, err := r.AppendJSON(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit   int
		wantErr bool
	}{{len(full), false}, {len(full) - 1, true}, {100, true}} {
		got, err := r.AppendJSON([]byte("p"), tc.limit)
		if tc.wantErr && (!errors.Is(err, ErrTooLarge) || string(got) != "p") {
			t.Errorf("limit %d: %d bytes, %v; want ErrTooLarge and dst unchanged", tc.limit, len(got), err)
		}
		if !tc.wantErr && (err != nil || string(got) != "p"+string(full)) {
			t.Errorf("limit %d: %v; want the whole %d bytes", tc.limit, err, len(full))
		}
	}
}

func TestCellIsSparse(t *testing.T) {
	r, err := parseJSON(extraKeysJSON(1000, 100), rowFeatures, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.cellEnd), 3*1000; got != want {
		t.Errorf("%d cells stored for 1000 rows of 3 keys in %d columns, want %d", got, len(r.Columns), want)
	}
	col := map[string]int{}
	for j, name := range r.Columns {
		col[name] = j
	}
	if got := r.Cell(7, col["k7"]); got != "v" {
		t.Errorf("Cell(7, k7) = %q, want v", got)
	}
	if got := r.Cell(7, col["k8"]); got != "" {
		t.Errorf("Cell(7, k8) = %q, want empty", got)
	}
}

// appendJSONString writes what json.Marshal writes for a string, so the
// service's stored JSON of CSV rows keeps its bytes.
func FuzzAppendJSONString(f *testing.F) {
	for _, seed := range []string{"", "x<y&z>", "q\"\\", "\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029é€😀", "\xff", "a\xc3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("p"), s); string(got) != "p"+string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
		if got := appendJSONString(nil, []byte(s)); string(got) != string(want) {
			t.Errorf("appendJSONString([]byte(%q)) = %s, want %s", s, got, want)
		}
	})
}

// For CSV input AppendJSON writes the bytes pkg/mlsvc's rowsJSON wrote
// (json.Marshal of one map per row), so stored inputs and idempotency keys
// of CSV requests keep their form.
func TestAppendJSONMatchesMarshalForCSV(t *testing.T) {
	in := "note,b,a,id,<x>\nx<y&z,2,1e-7,,\u2028\n\"q\"\"\",3.5,1e21,5,\n,-0,123456789012,1e-300,\t\n"
	r, err := ParseCSV(strings.NewReader(in), rowFeatures, 10)
	if err != nil {
		t.Fatal(err)
	}
	objects := make([]map[string]any, r.N)
	for i := range objects {
		obj := map[string]any{}
		for j, col := range r.Columns {
			if k := r.feature[j]; k >= 0 {
				obj[col] = r.X[i*len(r.Features)+k]
			} else {
				obj[col] = r.Cell(i, j)
			}
		}
		objects[i] = obj
	}
	want, err := json.Marshal(objects)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.AppendJSON(nil, 0)
	if err != nil || string(got) != string(want) {
		t.Errorf("AppendJSON = %s, %v\nwant %s", got, err, want)
	}
}
