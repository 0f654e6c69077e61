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
// Its size is bounded by the input's (csvBound): a stored byte (a name or
// cell, never more than the input holds) is written at most twice (CSV
// doubles quotes), a cell adds at most a quote prefix and two enclosing
// quotes, and each row adds len(Columns) separators and at most 25 bytes of
// prediction and line end. Empty cells cost one separator each, so sparse
// rows are what MaxExtraColumns bounds. TestWriteCSVSize measures the worst
// cases at the row limit: 1.5 times the input for the published models'
// features (asserted at most 2.4), 5.1 for one-letter feature names.
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
	at := make([]int, len(r.Columns)) // row's cell index + 1 by column
	for i := range r.N {
		clear(at)
		start, end := r.rowCells(i)
		for k := start; k < end; k++ {
			at[r.cellCol[k]] = k + 1
		}
		for j, k := range at {
			if j > 0 {
				line = append(line, ',')
			}
			if k > 0 {
				val = r.cellText(val[:0], k-1)
				line = appendCSVField(line, val)
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

// csvBound is the most bytes WriteCSV writes for rows parsed from
// inputBytes of input: 2 per stored byte plus 3 per cell, cells being at
// most half the input's bytes, plus per row a separator per column and a
// prediction (at most 24 bytes, "-2.2250738585072014e-308") and newline,
// plus per column in the header the separator and quoting.
func csvBound(inputBytes, rows, columns int) int {
	return 2*inputBytes + 3*(inputBytes/2+columns) + rows*(columns+25) + columns + len(OutputColumn) + 1
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
// empty cell). Strings are escaped as encoding/json escapes them, so for CSV
// input the bytes are those json.Marshal wrote for a []map[string]any of
// the same rows (the service's rowsJSON, which AppendJSON replaces). ParseJSON reads the result back to the same features.
//
// limit > 0 bounds the bytes appended: past it AppendJSON stops and returns
// dst unchanged and an error wrapping ErrTooLarge. CSV input needs it: its
// JSON form repeats every column name in every row.
func (r *Rows) AppendJSON(dst []byte, limit int) ([]byte, error) {
	start0 := len(dst)
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
	// present: the row's members in name order, as a cell index, or -1 -
	// column for an empty CSV cell.
	var present []int
	at := make([]int, len(r.Columns)) // CSV: row's cell index + 1 by column
	// A small output gets one allocation of about its size; a large one
	// doubles, 4 KiB at least (append grows large slices by a quarter).
	small := r.smallJSONSize(4096)
	dst = slices.Grow(dst, small)
	dst = append(dst, '[')
	for i := range r.N {
		if small == 0 && cap(dst)-len(dst) < 4096 {
			dst = slices.Grow(dst, max(len(dst), 4096))
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		start, end := r.rowCells(i)
		present = present[:0]
		if r.fromCSV {
			clear(at)
			for k := start; k < end; k++ {
				at[r.cellCol[k]] = k + 1
			}
			for _, j := range order {
				if at[j] > 0 {
					present = append(present, at[j]-1)
				} else {
					present = append(present, -1-j)
				}
			}
		} else {
			for k := start; k < end; k++ {
				present = append(present, k)
			}
			slices.SortFunc(present, func(a, b int) int { return rank[r.cellCol[a]] - rank[r.cellCol[b]] })
		}
		for n, k := range present {
			if n > 0 {
				dst = append(dst, ',')
			}
			col := -1 - k // an empty CSV cell
			if k >= 0 {
				col = int(r.cellCol[k])
			}
			dst = appendJSONString(dst, r.Columns[col])
			dst = append(dst, ':')
			switch {
			case r.feature[col] >= 0:
				dst = jsontext.AppendFloat(dst, r.X[i*nf+r.feature[col]], 64)
			case k < 0:
				dst = append(dst, `""`...)
			case r.fromCSV:
				dst = appendJSONString(dst, r.cellBytes(k))
			default:
				dst = append(dst, r.cellBytes(k)...)
			}
		}
		dst = append(dst, '}')
		if limit > 0 && len(dst)-start0+1 > limit { // +1: the closing ]
			return dst[:start0], fmt.Errorf("%w: the rows as JSON exceed %d bytes", ErrTooLarge, limit)
		}
	}
	return append(dst, ']'), nil
}

// smallJSONSize estimates the bytes AppendJSON writes, generously, when that
// is under limit; otherwise it returns 0. It is a capacity hint only.
func (r *Rows) smallJSONSize(limit int) int {
	size := 2 + 2*r.N + len(r.text)
	if r.fromCSV {
		// Every column in every row, absent cells as "", text quoted.
		for _, c := range r.Columns {
			size += r.N * (len(c) + 6)
		}
		size += len(r.text) // room for escapes
	} else {
		for _, col := range r.cellCol {
			size += len(r.Columns[col]) + 4
			if size >= limit {
				return 0
			}
		}
	}
	size += 24 * r.N * len(r.Features) // a feature's shortest form may be longer than its input
	if size >= limit {
		return 0
	}
	return size
}

// appendJSONString appends s quoted as encoding/json's Marshal quotes a
// string: <, > and & escaped for HTML, U+2028 and U+2029 escaped, invalid
// UTF-8 replaced (the parsers let none in).
func appendJSONString[B ~[]byte | ~string](dst []byte, s B) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
