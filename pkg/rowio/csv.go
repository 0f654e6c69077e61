package rowio

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseCSV reads CSV with a header row. The header must name every feature
// exactly; other columns are kept as they are, at most MaxExtraColumns of
// them. No two header names may be equal ignoring case, and none may be
// named like OutputColumn. Feature cells must be finite numbers (surrounding
// spaces allowed). Every cell must be valid UTF-8. maxRows <= 0 means no
// limit.
//
// Errors: ErrTooManyRows and ErrTooManyColumns wrapped; *RowError for a bad
// row or value; other errors for a bad header or malformed CSV.
func ParseCSV(r io.Reader, features []string, maxRows int) (*Rows, error) {
	rows, err := parseCSV(r, features, maxRows)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func parseCSV(r io.Reader, features []string, maxRows int) (*Rows, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty input: no CSV header")
	}
	if err != nil {
		return nil, csvError(err)
	}
	if len(header) > len(features)+MaxExtraColumns {
		return nil, fmt.Errorf("%w: the input has more than %d distinct columns besides the model's features", ErrTooManyColumns, MaxExtraColumns)
	}
	header = append([]string(nil), header...) // ReuseRecord reuses it
	header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	byFold := make(map[string]string, len(header))
	colIndex := make(map[string]int, len(header))
	for j, name := range header {
		if !utf8.ValidString(name) {
			return nil, fmt.Errorf("CSV header, column %d: %s", j+1, reasonInvalidUTF8)
		}
		name = strings.TrimSpace(name)
		header[j] = name
		folded := fold(name)
		if first, dup := byFold[folded]; dup {
			if first == name {
				return nil, fmt.Errorf("CSV header names column %q twice", name)
			}
			return nil, fmt.Errorf("CSV header names columns %q and %q, which differ only in case", first, name)
		}
		if folded == OutputColumn {
			return nil, fmt.Errorf("CSV header has a column %q: %s", name, reasonReserved)
		}
		byFold[folded] = name
		colIndex[name] = j
	}
	nf := len(features)
	featCol := make([]int, nf)
	for k, f := range features {
		j, ok := colIndex[f]
		if !ok {
			hint := ""
			if other, ok := byFold[fold(f)]; ok {
				hint = fmt.Sprintf("; names are case-sensitive and it has %q", other)
			}
			return nil, fmt.Errorf("CSV header has no column %q (the model needs %s%s)", f, strings.Join(features, ", "), hint)
		}
		featCol[k] = j
	}

	rows := &Rows{Columns: header, Features: features, fromCSV: true, feature: make([]int, len(header))}
	for j := range rows.feature {
		rows.feature[j] = -1
	}
	for k, j := range featCol {
		rows.feature[j] = k
	}
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
		for j, v := range rec {
			if !utf8.ValidString(v) {
				return nil, &RowError{Row: i, Field: header[j], Reason: reasonInvalidUTF8}
			}
		}
		for k, j := range featCol {
			v, reason := csvNumber(rec[j])
			if reason != "" {
				return nil, &RowError{Row: i, Field: features[k], Reason: reason}
			}
			rows.X = append(rows.X, v)
		}
		for j, v := range rec {
			if v != "" {
				if err := addCell(rows, j, v); err != nil {
					return nil, err
				}
			}
		}
		rows.endRow()
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
	case !finite(v):
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
