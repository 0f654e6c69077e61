package rowio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var rowFeatures = []string{"a", "b"}

func TestParseJSON(t *testing.T) {
	testParse(t, func(in string) (*Rows, error) { return ParseJSON([]byte(in), rowFeatures, 10) }, []parseCase{
		{"object", `{"a": 1, "b": 2.5}`, "a,b", [][]string{{"1", "2.5"}}, []float64{1, 2.5}},
		{"array", ` [{"b":-1e-3,"a":0},{"a":1E2,"b":3}] `, "a,b", [][]string{{"0", "-1e-3"}, {"1E2", "3"}}, []float64{0, -0.001, 100, 3}},
		{"extra keys sorted, any type", `[{"a":1,"b":2,"z":"x,y","id":7,"ok":true,"n":null,"o":{"k": [1, 2]}},{"a":3,"b":4,"id":"q\"r"}]`,
			"a,b,id,n,o,ok,z", [][]string{{"1", "2", "7", "", `{"k":[1,2]}`, "true", "x,y"}, {"3", "4", `q"r`, "", "", "", ""}},
			[]float64{1, 2, 3, 4}},
	})
}

// parseCase is rows that parse: the columns, cells and features read.
type parseCase struct {
	name    string
	in      string
	columns string
	cells   [][]string
	x       []float64
}

func testParse(t *testing.T, parse func(in string) (*Rows, error), tests []parseCase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(r.Columns, ","); got != tc.columns {
				t.Errorf("Columns = %s, want %s", got, tc.columns)
			}
			checkRows(t, r, tc.cells, tc.x)
		})
	}
}

func checkRows(t *testing.T, r *Rows, cells [][]string, x []float64) {
	t.Helper()
	if r.N != len(cells) {
		t.Fatalf("N = %d, want %d", r.N, len(cells))
	}
	for i := range cells {
		row := make([]string, len(r.Columns))
		for j := range row {
			row[j] = r.Cell(i, j)
		}
		if got, want := strings.Join(row, "|"), strings.Join(cells[i], "|"); got != want {
			t.Errorf("row %d cells = %s, want %s", i, got, want)
		}
	}
	if len(r.X) != len(x) {
		t.Fatalf("X = %v, want %v", r.X, x)
	}
	for i := range x {
		if r.X[i] != x[i] {
			t.Errorf("X = %v, want %v", r.X, x)
			break
		}
	}
}

func TestParseJSONErrors(t *testing.T) {
	testParseErrors(t, func(in string, max int) error {
		_, err := ParseJSON([]byte(in), rowFeatures, max)
		return err
	}, []errorCase{
		{"empty", ``, 10, "empty input", nil},
		{"blank", " \n", 10, "empty input", nil},
		{"empty array", `[]`, 10, "no rows", nil},
		{"number", `3`, 10, "expected a JSON object", nil},
		{"string", `"a"`, 10, "expected a JSON object", nil},
		{"not an object", `[{"a":1,"b":2}, 5]`, 10, "", &RowError{1, "", "not a JSON object"}},
		{"missing", `[{"a":1,"b":2},{"a":1}]`, 10, "", &RowError{1, "b", "missing"}},
		{"null", `{"a":null,"b":2}`, 10, "", &RowError{0, "a", "missing (null)"}},
		{"string value", `{"a":"1","b":2}`, 10, "", &RowError{0, "a", "not a number (a string)"}},
		{"bool value", `{"a":1,"b":true}`, 10, "", &RowError{0, "b", "not a number (a boolean)"}},
		{"array value", `{"a":[1],"b":2}`, 10, "", &RowError{0, "a", "not a number"}},
		{"overflow", `{"a":1e999,"b":2}`, 10, "", &RowError{0, "a", "not a finite number"}},
		{"too many rows", `[{"a":1,"b":2},{"a":1,"b":2},{"a":1,"b":2}]`, 2, "too many rows: more than 2", nil},
		{"invalid JSON", `[{"a":1,"b":2},{"a":}]`, 10, "invalid JSON", nil},
		{"unterminated", `[{"a":1,"b":2}`, 10, "invalid JSON", nil},
		{"trailing data", `{"a":1,"b":2} {}`, 10, "trailing data", nil},
		{"trailing after array", `[{"a":1,"b":2}] x`, 10, "trailing data", nil},
		{"NaN literal", `{"a":NaN,"b":2}`, 10, "invalid JSON", nil},
	})
}

// errorCase is input that parse refuses with max rows: with a RowError
// (row), or else an error containing want.
type errorCase struct {
	name, in string
	max      int
	want     string
	row      *RowError
}

func testParseErrors(t *testing.T, parse func(in string, max int) error, tests []errorCase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkRowsError(t, parse(tc.in, tc.max), tc.want, tc.row)
		})
	}
}

func checkRowsError(t *testing.T, err error, want string, row *RowError) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if row != nil {
		var re *RowError
		if !errors.As(err, &re) || *re != *row {
			t.Fatalf("error = %#v (%v), want %#v", err, err, row)
		}
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

func TestRowErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  RowError
		want string
	}{
		{RowError{3, "feature_2", "not a finite number"}, `row 3, field "feature_2": not a finite number`},
		{RowError{0, "", "not a JSON object"}, `row 0: not a JSON object`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestParseCSV(t *testing.T) {
	testParse(t, func(in string) (*Rows, error) { return ParseCSV(strings.NewReader(in), rowFeatures, 10) }, []parseCase{
		{"plain", "a,b\n1,2\n3.5,-4e2\n", "a,b", [][]string{{"1", "2"}, {"3.5", "-4e2"}}, []float64{1, 2, 3.5, -400}},
		{"reordered with extras, CRLF, BOM, spaces", "\uFEFFid, b ,a,note\r\nx, 2 ,1,\"hello, world\"\r\n", "id,b,a,note",
			[][]string{{"x", " 2 ", "1", "hello, world"}}, []float64{1, 2}},
		{"no trailing newline, blank lines", "a,b\n\n1,2", "a,b", [][]string{{"1", "2"}}, []float64{1, 2}},
	})
}

func TestParseCSVErrors(t *testing.T) {
	testParseErrors(t, func(in string, max int) error {
		_, err := ParseCSV(strings.NewReader(in), rowFeatures, max)
		return err
	}, []errorCase{
		{"empty", "", 10, "no CSV header", nil},
		{"header only", "a,b\n", 10, "no rows", nil},
		{"missing column", "a,c\n1,2\n", 10, `no column "b"`, nil},
		{"duplicate column", "a,b,a\n1,2,3\n", 10, `column "a" twice`, nil},
		{"short row", "a,b\n1,2\n1\n", 10, "", &RowError{1, "", "has 1 fields, the header has 2"}},
		{"long row", "a,b\n1,2,3\n", 10, "", &RowError{0, "", "has 3 fields, the header has 2"}},
		{"empty cell", "a,b\n1,\n", 10, "", &RowError{0, "b", "missing"}},
		{"blank cell", "a,b\n  ,1\n", 10, "", &RowError{0, "a", "missing"}},
		{"text", "a,b\n1,abc\n", 10, "", &RowError{0, "b", "not a number"}},
		{"NaN", "a,b\nNaN,1\n", 10, "", &RowError{0, "a", "not a finite number"}},
		{"inf", "a,b\n1,-inf\n", 10, "", &RowError{0, "b", "not a finite number"}},
		{"Infinity", "a,b\n1,Infinity\n", 10, "", &RowError{0, "b", "not a finite number"}},
		{"overflow", "a,b\n1e999,1\n", 10, "", &RowError{0, "a", "not a finite number"}},
		{"too many rows", "a,b\n1,2\n3,4\n5,6\n", 2, "too many rows", nil},
		{"bad quote", "a,b\n\"1,2\n", 10, "invalid CSV", nil},
	})
}

func TestWriteCSV(t *testing.T) {
	r, err := ParseJSON([]byte(`[{"a":1,"b":2,"note":"x, \"y\""},{"a":3,"b":4}]`), rowFeatures, 10)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tenth, fifth := 0.1, 0.2 // variables: constants would add exactly
	if err := WriteCSV(&b, r, []float64{tenth + fifth, -1e-300}); err != nil {
		t.Fatal(err)
	}
	want := "a,b,note,prediction\n1,2,\"x, \"\"y\"\"\",0.30000000000000004\n3,4,,-1e-300\n"
	if b.String() != want {
		t.Errorf("WriteCSV wrote\n%s\nwant\n%s", b.String(), want)
	}
	if err := WriteCSV(&b, r, []float64{1}); err == nil {
		t.Error("WriteCSV with one prediction for two rows: no error")
	}
	// CSV output reads back as CSV input with the same values, once the
	// output column, a reserved name, is renamed.
	if _, err := ParseCSV(strings.NewReader(want), rowFeatures, 10); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("reading the output back: %v, want the reserved-name error", err)
	}
	back, err := ParseCSV(strings.NewReader(strings.Replace(want, "prediction", "p", 1)), rowFeatures, 10)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, back, [][]string{{"1", "2", `x, "y"`, "0.30000000000000004"}, {"3", "4", "", "-1e-300"}}, []float64{1, 2, 3, 4})
}

func TestErrTooManyRowsIsWrapped(t *testing.T) {
	_, err := ParseJSON([]byte(`[{"a":1},{"a":2}]`), []string{"a"}, 1)
	if !errors.Is(err, ErrTooManyRows) {
		t.Errorf("error %v does not wrap ErrTooManyRows", err)
	}
}
