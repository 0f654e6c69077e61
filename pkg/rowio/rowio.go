// Package rowio reads prediction input rows from request bodies (JSON
// objects or CSV with a header) into the numeric matrix a model evaluates,
// and writes the rows back out: as CSV with their predictions, or as the
// JSON array of objects the service stores. It is the transport side of
// rows; pkg/model evaluates them.
//
// Input comes from strangers, so the parsers bound what a request can cost:
// at most MaxExtraColumns distinct columns besides the model's features
// (checked while reading, before anything proportional to rows × columns
// exists), cells stored sparsely (memory follows the input's size, not
// rows × columns), valid UTF-8 only, no key given twice in a row (also not
// in another case), and no input column named like the output column.
package rowio

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxExtraColumns bounds the distinct input columns besides the model's
// features. Real inputs carry a few id or label columns next to the
// features; 100 is far above that, and it bounds the CSV output: a row
// repeats every column, so a sparse row holding one of many distinct keys
// would otherwise be written as thousands of empty cells.
const MaxExtraColumns = 100

// OutputColumn is the column WriteCSV adds after the input columns. No input
// column may be named like it, ignoring case, so the CSV is never ambiguous.
const OutputColumn = "prediction"

// Errors the parsers wrap; see also *RowError.
var (
	// ErrTooManyRows: the input has more than maxRows rows (a 413 for the service).
	ErrTooManyRows = errors.New("too many rows")
	// ErrTooManyColumns: more than MaxExtraColumns distinct columns besides
	// the features (a 400).
	ErrTooManyColumns = errors.New("too many columns")
	// ErrTooLarge: AppendJSON's output would exceed its limit (a 413).
	ErrTooLarge = errors.New("too large")
)

// Rows are parsed input rows: the input columns (echoed in the output) and
// a row-major float64 matrix of the model's features.
type Rows struct {
	Columns  []string  // input columns in output order
	Features []string  // the model features X holds, in model order
	X        []float64 // N × len(Features), row-major
	N        int       // number of rows

	fromCSV bool  // extra cells are CSV text, not JSON values
	feature []int // column → index in Features, or -1
	// The cells present, row by row, in input order: cell k is column
	// cellCol[k], bytes text[cellEnd[k-1]:cellEnd[k]]. Feature cells hold
	// the number as written; extra cells from JSON the compact JSON value,
	// from CSV the cell's text. Empty CSV cells are not stored. Six bytes per
	// cell plus its text: memory follows the input's size.
	text    []byte
	cellEnd []uint32
	cellCol []uint16
	ends    []int // ends[i]: the end of row i's cells
}

// rowCells returns the range of row i's cells.
func (r *Rows) rowCells(i int) (start, end int) {
	if i > 0 {
		start = r.ends[i-1]
	}
	return start, r.ends[i]
}

// cellBytes returns cell k's stored bytes.
func (r *Rows) cellBytes(k int) []byte {
	start := uint32(0)
	if k > 0 {
		start = r.cellEnd[k-1]
	}
	return r.text[start:r.cellEnd[k]]
}

// Cell returns row i, column j as written to CSV (before the escaping of
// formula-like text): a feature as written in the input, an extra JSON
// string unquoted, null or a missing key empty, other JSON values compact.
func (r *Rows) Cell(i, j int) string {
	start, end := r.rowCells(i)
	for k := start; k < end; k++ {
		if int(r.cellCol[k]) == j {
			return string(r.cellText(nil, k))
		}
	}
	return ""
}

// cellText appends cell k's CSV text to dst.
func (r *Rows) cellText(dst []byte, k int) []byte {
	b := r.cellBytes(k)
	if r.fromCSV || r.feature[r.cellCol[k]] >= 0 {
		return append(dst, b...)
	}
	switch b[0] {
	case '"':
		out, err := jsontext.AppendUnquote(dst, b)
		if err == nil {
			return out
		}
		return append(dst, b...) // cannot happen: the parser validated it
	case 'n':
		return dst
	}
	return append(dst, b...)
}

// addCell stores b as the current row's cell in column col. Slices double
// when full (append grows large slices by a quarter, allocating five times
// the final size along the way).
func addCell[B ~[]byte | ~string](r *Rows, col int, b B) error {
	if len(r.text)+len(b) > math.MaxUint32 {
		return fmt.Errorf("%w: the input's cells exceed 4 GiB", ErrTooLarge)
	}
	if cap(r.text)-len(r.text) < len(b) {
		r.text = slices.Grow(r.text, max(len(r.text), len(b), 4096))
	}
	r.text = append(r.text, b...)
	if len(r.cellEnd) == cap(r.cellEnd) {
		r.cellEnd = slices.Grow(r.cellEnd, max(len(r.cellEnd), 1024))
		r.cellCol = slices.Grow(r.cellCol, max(len(r.cellCol), 1024))
	}
	r.cellEnd = append(r.cellEnd, uint32(len(r.text)))
	r.cellCol = append(r.cellCol, uint16(col))
	return nil
}

// endRow closes the current row.
func (r *Rows) endRow() {
	r.ends = append(r.ends, len(r.cellEnd))
	r.N++
}

// RowError is a bad value in the input: Row is the 0-based data row,
// Field the column ("" when the problem is the whole row).
type RowError struct {
	Row    int
	Field  string
	Reason string
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
	}
	return fmt.Sprintf("row %d, field %q: %s", e.Row, e.Field, e.Reason)
}

// Reasons of a RowError.
const (
	reasonMissing     = "missing"
	reasonNotNumber   = "not a number"
	reasonNotFinite   = "not a finite number"
	reasonInvalidUTF8 = "invalid UTF-8"
	reasonTwice       = "given twice"
	reasonReserved    = `the name is reserved for the output column "` + OutputColumn + `"`
)

// columns assigns column numbers to names: the features first, then extra
// names as they are first seen, at most MaxExtraColumns of them. Names that
// differ only in case share a fold class, so a row holding both is caught.
type columns struct {
	index    map[string]int // name → column
	names    []string       // column → name
	class    []int          // column → fold class
	classOf  map[string]int // folded name → fold class
	features int
}

func newColumns(features []string) (*columns, error) {
	if len(features)+MaxExtraColumns > math.MaxUint16 {
		return nil, fmt.Errorf("the model has %d features, more than rowio handles", len(features))
	}
	c := &columns{index: map[string]int{}, classOf: map[string]int{}, features: len(features)}
	for _, f := range features {
		if _, dup := c.index[f]; dup {
			return nil, fmt.Errorf("the model names feature %q twice", f)
		}
		if _, err := c.add(f); err != nil {
			return nil, fmt.Errorf("the model's feature %q: %w", f, err)
		}
	}
	return c, nil
}

// add gives name the next column. It fails with ErrTooManyColumns, or a
// reason for a name that may not be a column.
func (c *columns) add(name string) (int, error) {
	if len(c.names) >= c.features+MaxExtraColumns {
		return 0, fmt.Errorf("%w: the input has more than %d distinct columns besides the model's features", ErrTooManyColumns, MaxExtraColumns)
	}
	folded := fold(name)
	if folded == OutputColumn {
		return 0, errors.New(reasonReserved)
	}
	cls, ok := c.classOf[folded]
	if !ok {
		cls = len(c.classOf)
		c.classOf[folded] = cls
	}
	col := len(c.names)
	c.index[name] = col
	c.names = append(c.names, name)
	c.class = append(c.class, cls)
	return col, nil
}

// fold maps names equal ignoring case (as strings.EqualFold sees them,
// short of a few special cases) to one key, without allocating for ASCII
// lower case.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(strings.ToUpper(s))
		}
	}
	return s
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Predictor evaluates n rows of a row-major matrix into out; *model.Model
// is one.
type Predictor interface {
	Predict(x []float64, n int, out []float64)
}

// Predict returns p's prediction for each of the rows, which must have been
// parsed for p's features.
func Predict(p Predictor, r *Rows) []float64 {
	out := make([]float64, r.N)
	p.Predict(r.X, r.N, out)
	return out
}
