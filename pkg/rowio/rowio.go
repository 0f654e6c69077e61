// Package rowio reads prediction input rows from request bodies (JSON
// objects or CSV with a header) into the numeric matrix a model evaluates,
// and writes the rows with their predictions back out as CSV. It is the
// transport side of rows; pkg/model evaluates them.
package rowio

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Rows are parsed input rows: the raw input columns (echoed in CSV output) and
// a row-major float64 matrix of the model's features.
type Rows struct {
	Columns  []string   // input columns in output order
	Cells    [][]string // Cells[i][j]: row i, column j, as given in the input
	Features []string   // the model features X holds, in model order
	X        []float64  // N × len(Features), row-major
	N        int        // number of rows
}

// ErrTooManyRows is wrapped by the row parsers when the input has more than maxRows rows.
var ErrTooManyRows = errors.New("too many rows")

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
	reasonMissing   = "missing"
	reasonNotNumber = "not a number"
	reasonNotFinite = "not a finite number"
)

// ParseJSON reads a JSON object or a non-empty array of objects. Each
// object must hold every feature as a finite JSON number; other keys are kept
// as extra columns (any JSON type; a string is echoed unquoted, other values as
// compact JSON). Columns are the features in model order, then the extra keys
// sorted. maxRows <= 0 means no limit. Bad values are *RowError.
func ParseJSON(data []byte, features []string, maxRows int) (*Rows, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty input: expected a JSON object or an array of objects")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var objects []map[string]json.RawMessage
	switch trimmed[0] {
	case '{':
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", jsonError(err))
		}
		objects = append(objects, obj)
	case '[':
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", jsonError(err))
		}
		for i := 0; dec.More(); i++ {
			if maxRows > 0 && i >= maxRows {
				return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("invalid JSON in row %d: %w", i, jsonError(err))
			}
			if raw = bytes.TrimLeft(raw, " \t\r\n"); raw[0] != '{' {
				return nil, &RowError{Row: i, Reason: "not a JSON object"}
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(raw, &obj); err != nil {
				return nil, fmt.Errorf("invalid JSON in row %d: %w", i, jsonError(err))
			}
			objects = append(objects, obj)
		}
		if _, err := dec.Token(); err != nil { // the closing ]
			return nil, fmt.Errorf("invalid JSON: %w", jsonError(err))
		}
		if len(objects) == 0 {
			return nil, errors.New("empty input: the array has no rows")
		}
	default:
		return nil, errors.New("expected a JSON object or an array of objects")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: trailing data after the rows")
	}

	isFeature := make(map[string]bool, len(features))
	for _, f := range features {
		isFeature[f] = true
	}
	extraSet := map[string]bool{}
	for _, obj := range objects {
		for k := range obj {
			if !isFeature[k] {
				extraSet[k] = true
			}
		}
	}
	extras := make([]string, 0, len(extraSet))
	for k := range extraSet {
		extras = append(extras, k)
	}
	sort.Strings(extras)

	nf := len(features)
	rows := &Rows{
		Columns:  append(append(make([]string, 0, nf+len(extras)), features...), extras...),
		Cells:    make([][]string, len(objects)),
		Features: features,
		X:        make([]float64, len(objects)*nf),
		N:        len(objects),
	}
	for i, obj := range objects {
		cells := make([]string, len(rows.Columns))
		for j, f := range features {
			raw, ok := obj[f]
			if !ok {
				return nil, &RowError{Row: i, Field: f, Reason: reasonMissing}
			}
			v, reason := jsonNumber(raw)
			if reason != "" {
				return nil, &RowError{Row: i, Field: f, Reason: reason}
			}
			rows.X[i*nf+j] = v
			cells[j] = string(raw)
		}
		for j, k := range extras {
			if raw, ok := obj[k]; ok {
				cells[nf+j] = jsonCell(raw)
			}
		}
		rows.Cells[i] = cells
	}
	return rows, nil
}

// jsonNumber parses a feature value; reason is "" when it is a finite number.
func jsonNumber(raw json.RawMessage) (v float64, reason string) {
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case 'n':
		return 0, reasonMissing + " (null)"
	case '"':
		return 0, reasonNotNumber + " (a string)"
	case 't', 'f':
		return 0, reasonNotNumber + " (a boolean)"
	case '{', '[':
		return 0, reasonNotNumber
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || !finite(v) {
		// JSON's grammar was already checked, so the only failure is overflow.
		return 0, reasonNotFinite
	}
	return v, ""
}

// jsonCell renders an extra JSON value for CSV: strings unquoted, null empty,
// anything else as compact JSON.
func jsonCell(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case 'n':
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// ParseCSV reads CSV with a header row. The header must name every
// feature; other columns are kept as they are. Feature cells must be finite
// numbers (surrounding spaces allowed). maxRows <= 0 means no limit.
// Bad values are *RowError.
func ParseCSV(r io.Reader, features []string, maxRows int) (*Rows, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty input: no CSV header")
	}
	if err != nil {
		return nil, csvError(err)
	}
	header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	colIndex := make(map[string]int, len(header))
	for j, name := range header {
		name = strings.TrimSpace(name)
		header[j] = name
		if _, dup := colIndex[name]; dup && name != "" {
			return nil, fmt.Errorf("CSV header names column %q twice", name)
		}
		colIndex[name] = j
	}
	nf := len(features)
	featCol := make([]int, nf)
	for k, f := range features {
		j, ok := colIndex[f]
		if !ok {
			return nil, fmt.Errorf("CSV header has no column %q (the model needs %s)", f, strings.Join(features, ", "))
		}
		featCol[k] = j
	}

	rows := &Rows{Columns: header, Features: features}
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if maxRows > 0 && i >= maxRows {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
		}
		if len(rec) != len(header) {
			return nil, &RowError{Row: i, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))}
		}
		for k, j := range featCol {
			v, reason := csvNumber(rec[j])
			if reason != "" {
				return nil, &RowError{Row: i, Field: features[k], Reason: reason}
			}
			rows.X = append(rows.X, v)
		}
		rows.Cells = append(rows.Cells, rec)
		rows.N++
	}
	if rows.N == 0 {
		return nil, errors.New("empty input: the CSV has a header but no rows")
	}
	return rows, nil
}

func csvNumber(cell string) (float64, string) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, reasonMissing
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, reasonNotFinite
	case err != nil:
		return 0, reasonNotNumber
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, reasonNotFinite
	}
	return v, ""
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("invalid CSV at line %d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf("reading CSV: %w", err)
}

// WriteCSV writes the rows' input columns plus a "prediction" column, each
// prediction in full float64 precision.
func WriteCSV(w io.Writer, r *Rows, predictions []float64) error {
	if len(predictions) != r.N {
		return fmt.Errorf("%d predictions for %d rows", len(predictions), r.N)
	}
	cw := csv.NewWriter(w)
	rec := append(append(make([]string, 0, len(r.Columns)+1), r.Columns...), "prediction")
	if err := cw.Write(rec); err != nil {
		return err
	}
	for i, cells := range r.Cells {
		rec = append(append(rec[:0], cells...), strconv.FormatFloat(predictions[i], 'g', -1, 64))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonError turns encoding/json's errors into messages that say where.
func jsonError(err error) error {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	}
	return err
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
