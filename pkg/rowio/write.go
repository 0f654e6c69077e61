package rowio

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// WriteCSV writes the rows' input columns plus OutputColumn, each
// prediction in full float64 precision.
//
// The output is safe to open in a spreadsheet: a header or cell that is not
// a number and starts with =, +, -, @, tab or carriage return is prefixed
// with a single quote (OWASP's advice against CSV injection), so "-1.5"
// stays a number and "=HYPERLINK(...)" becomes text.
//
// Its size is bounded by the input's: every stored byte is written at most
// twice (CSV doubles quotes) plus one quote prefix and two enclosing quotes
// per cell, and each row adds len(Columns) separators and at most 24 bytes
// of prediction. With at most MaxExtraColumns extra columns, sparse rows
// cannot blow it up (see TestWriteCSVSizeBound for the measured worst case).
func WriteCSV(w io.Writer, r *Rows, predictions []float64) error {
	if len(predictions) != r.N {
		return fmt.Errorf("%d predictions for %d rows", len(predictions), r.N)
	}
	var line, val []byte
	for j, name := range r.Columns {
		if j > 0 {
			line = append(line, ',')
		}
		line = appendCSVField(line, []byte(name))
	}
	if len(r.Columns) > 0 {
		line = append(line, ',')
	}
	line = append(line, OutputColumn+"\n"...)
	for i := range r.N {
		cells := r.row(i)
		for j := range r.Columns {
			if j > 0 {
				line = append(line, ',')
			}
			if len(cells) > 0 && int(cells[0].col) == j {
				val = r.cellText(val[:0], cells[0])
				line = appendCSVField(line, val)
				cells = cells[1:]
			}
		}
		if len(r.Columns) > 0 {
			line = append(line, ',')
		}
		line = strconv.AppendFloat(line, predictions[i], 'g', -1, 64)
		line = append(line, '\n')
		if len(line) >= 32<<10 {
			if _, err := w.Write(line); err != nil {
				return err
			}
			line = line[:0]
		}
	}
	_, err := w.Write(line)
	return err
}

// appendCSVField appends f as one CSV field, escaped against formulas and
// quoted as encoding/csv would quote it.
func appendCSVField(dst, f []byte) []byte {
	prefix := formulaLike(f)
	if !needsQuotes(f, prefix) {
		if prefix {
			dst = append(dst, '\'')
		}
		return append(dst, f...)
	}
	dst = append(dst, '"')
	if prefix {
		dst = append(dst, '\'')
	}
	for _, c := range f {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

// formulaLike reports whether a spreadsheet could read f as a formula: it
// starts with = + - @ tab or CR and is not a plain decimal number.
func formulaLike(f []byte) bool {
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return !isDecimal(strings.TrimSpace(string(f)))
	}
	return false
}

// isDecimal reports whether s is a decimal number: an optional sign, digits
// with an optional fraction, an optional exponent. No inf, nan or hex.
func isDecimal(s string) bool {
	i, digits := 0, 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// needsQuotes is encoding/csv's rule (a separator, quote or line break, or
// a leading space), applied to the field as written, with its prefix.
func needsQuotes(f []byte, prefix bool) bool {
	if len(f) == 0 {
		return false
	}
	if string(f) == `\.` {
		return true
	}
	for _, c := range f {
		if c == ',' || c == '"' || c == '\r' || c == '\n' {
			return true
		}
	}
	if prefix {
		return false
	}
	r, _ := utf8.DecodeRune(f)
	return unicode.IsSpace(r)
}

// AppendJSON appends the rows to dst as a JSON array of objects, one per
// row, members sorted by name (so the same rows give the same bytes
// whatever the order of their columns): features as JSON numbers (1E2 is
// written 100, as encoding/json writes a float64), extra
// cells from JSON input as their original (compact) JSON and only where
// the row has them, extra cells from CSV input as JSON strings ("" for an
// empty cell). ParseJSON reads the result back to the same features.
//
// limit > 0 bounds the bytes appended: past it AppendJSON stops and returns
// dst unchanged and an error wrapping ErrTooLarge. CSV input needs it: its
// JSON form repeats every column name in every row.
func (r *Rows) AppendJSON(dst []byte, limit int) ([]byte, error) {
	start := len(dst)
	order := make([]int, len(r.Columns)) // columns by name
	for j := range order {
		order[j] = j
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(r.Columns[a], r.Columns[b]) })
	rank := make([]int, len(r.Columns))
	for k, j := range order {
		rank[j] = k
	}
	nf := len(r.Features)
	var present []cell
	at := make([]int, len(r.Columns)) // CSV: row's cell index + 1 by column
	dst = append(dst, '[')
	for i := range r.N {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		cells := r.row(i)
		if r.fromCSV {
			clear(at)
			for k, c := range cells {
				at[c.col] = k + 1
			}
			present = present[:0]
			for _, j := range order {
				if r.feature[j] >= 0 {
					present = append(present, cell{col: int32(j)})
				} else if at[j] > 0 {
					present = append(present, cells[at[j]-1])
				} else {
					present = append(present, cell{col: int32(j), off: -1})
				}
			}
		} else {
			present = append(present[:0], cells...)
			slices.SortFunc(present, func(a, b cell) int { return rank[a.col] - rank[b.col] })
		}
		for k, c := range present {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst, _ = jsontext.AppendQuote(dst, r.Columns[c.col])
			dst = append(dst, ':')
			switch {
			case r.feature[c.col] >= 0:
				dst = jsontext.AppendFloat(dst, r.X[i*nf+r.feature[c.col]], 64)
			case !r.fromCSV:
				dst = append(dst, r.text[c.off:c.end]...)
			case c.off < 0:
				dst = append(dst, `""`...)
			default:
				dst, _ = jsontext.AppendQuote(dst, r.text[c.off:c.end])
			}
		}
		dst = append(dst, '}')
		if limit > 0 && len(dst)-start+1 > limit { // +1: the closing ]
			return dst[:start], fmt.Errorf("%w: the rows as JSON exceed %d bytes", ErrTooLarge, limit)
		}
	}
	return append(dst, ']'), nil
}
