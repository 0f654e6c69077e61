package rowio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// ParseJSON reads a JSON object or a non-empty array of objects. Each
// object must hold every feature as a finite JSON number; other keys are kept
// as extra columns (any JSON type). Keys match exactly: "Feature_0" is an
// extra column, not feature_0. Columns are the features in model order, then
// the extra keys sorted. maxRows <= 0 means no limit.
//
// Errors: ErrTooManyRows and ErrTooManyColumns wrapped; *RowError for a bad
// value, a key given twice (also in another case, at the row's level; exact
// duplicates at any depth), invalid UTF-8 or a key named like OutputColumn;
// other errors for input that is not JSON rows at all.
func ParseJSON(data []byte, features []string, maxRows int) (*Rows, error) {
	r, err := parseJSON(data, features, maxRows)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// jsonParser reads rows into r.
type jsonParser struct {
	r      *Rows
	cols   *columns
	single bool // the input is one object, not an array
	// seen[col] and seenClass[class] hold row+1 when the current row has
	// the column, or a name of the fold class; firstOf[class] is that column.
	seen, seenClass, firstOf []int
	name                     []byte // scratch for unquoting names
	skipped                  int    // leading white space, for byte offsets
}

func parseJSON(data []byte, features []string, maxRows int) (*Rows, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty input: expected a JSON object or an array of objects")
	}
	cols, err := newColumns(features)
	if err != nil {
		return nil, err
	}
	// The stored cells are never more than the input: one allocation. A
	// cell takes at least 6 bytes of input ("a":1,), so a small input's
	// cell index is allocated once, at about its size; from 1024 cells on
	// it doubles (addCell).
	cells := min(len(trimmed)/6+1, 1024)
	p := &jsonParser{r: &Rows{Features: features, text: make([]byte, 0, len(trimmed)),
		cellEnd: make([]uint32, 0, cells), cellCol: make([]uint16, 0, cells)},
		cols: cols, single: trimmed[0] == '{', skipped: len(data) - len(trimmed)}
	dec := jsontext.NewDecoder(bytes.NewBuffer(trimmed)) // read in place, not copied
	switch trimmed[0] {
	case '{':
		if err := p.readRow(dec, 0); err != nil {
			return nil, err
		}
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, p.jsonError(err)
		}
		for i := 0; ; i++ {
			switch dec.PeekKind() {
			case ']':
			case '{':
				if maxRows > 0 && i >= maxRows {
					return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
				}
				if err := p.readRow(dec, i); err != nil {
					return nil, err
				}
				continue
			case 0: // invalid: the read reports why
				_, err := dec.ReadToken()
				return nil, p.jsonError(err)
			default:
				if maxRows > 0 && i >= maxRows {
					return nil, fmt.Errorf("%w: more than %d", ErrTooManyRows, maxRows)
				}
				return nil, &RowError{Row: i, Reason: "not a JSON object"}
			}
			break
		}
		if _, err := dec.ReadToken(); err != nil { // the closing ]
			return nil, p.jsonError(err)
		}
		if p.r.N == 0 {
			return nil, errors.New("empty input: the array has no rows")
		}
	default:
		return nil, errors.New("expected a JSON object or an array of objects")
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errors.New("invalid JSON: trailing data after the rows")
	}
	p.finish()
	return p.r, nil
}

// readRow reads row i, an object, from dec.
func (p *jsonParser) readRow(dec *jsontext.Decoder, i int) error {
	r, cols, stamp := p.r, p.cols, i+1
	if _, err := dec.ReadToken(); err != nil { // {
		return p.jsonError(err)
	}
	nf := len(r.Features)
	r.X = append(r.X, make([]float64, nf)...)
	p.grow() // an empty row must still find the features missing
	for dec.PeekKind() == '"' {
		quoted, err := dec.ReadValue()
		if err != nil {
			return p.jsonError(err)
		}
		key := quoted[1 : len(quoted)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			if p.name, err = jsontext.AppendUnquote(p.name[:0], quoted); err != nil {
				return p.jsonError(err)
			}
			key = p.name
		}
		col, ok := cols.index[string(key)]
		if !ok {
			if col, err = cols.add(string(key)); err != nil {
				if errors.Is(err, ErrTooManyColumns) {
					return err
				}
				return &RowError{Row: i, Field: string(key), Reason: err.Error()}
			}
		}
		p.grow()
		cls := cols.class[col]
		switch {
		case p.seen[col] == stamp:
			return &RowError{Row: i, Field: cols.names[col], Reason: reasonTwice}
		case p.seenClass[cls] == stamp:
			return &RowError{Row: i, Field: cols.names[col], Reason: fmt.Sprintf("duplicates %q: keys are compared ignoring case", cols.names[p.firstOf[cls]])}
		}
		p.seen[col], p.seenClass[cls], p.firstOf[cls] = stamp, stamp, col

		val, err := dec.ReadValue()
		if err != nil {
			return p.jsonError(err)
		}
		if col < nf {
			v, reason := jsonNumber(val)
			if reason != "" {
				return &RowError{Row: i, Field: cols.names[col], Reason: reason}
			}
			r.X[i*nf+col] = v
		} else if k := val.Kind(); k == '{' || k == '[' {
			val = val.Clone()
			if err := val.Compact(); err != nil {
				return p.jsonError(err)
			}
		}
		if err := addCell(r, col, val); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil { // }
		return p.jsonError(err)
	}
	for k := 0; k < nf; k++ {
		if p.seen[k] == stamp {
			continue
		}
		reason := reasonMissing
		if cls := cols.class[k]; p.seenClass[cls] == stamp {
			reason = fmt.Sprintf("missing (keys are case-sensitive: the row has %q)", cols.names[p.firstOf[cls]])
		}
		return &RowError{Row: i, Field: cols.names[k], Reason: reason}
	}
	r.endRow()
	return nil
}

// grow sizes the per-column scratch for the columns seen so far.
func (p *jsonParser) grow() {
	for len(p.seen) < len(p.cols.names) {
		p.seen = append(p.seen, 0)
	}
	for len(p.seenClass) < len(p.cols.classOf) {
		p.seenClass = append(p.seenClass, 0)
		p.firstOf = append(p.firstOf, 0)
	}
}

// finish sorts the extra columns by name.
func (p *jsonParser) finish() {
	r, names, nf := p.r, p.cols.names, len(p.r.Features)
	extras := slices.Clone(names[nf:])
	sort.Strings(extras)
	r.Columns = append(slices.Clone(names[:nf]), extras...)
	r.feature = make([]int, len(r.Columns))
	newCol := make([]uint16, len(names))
	for j, name := range r.Columns {
		newCol[p.cols.index[name]] = uint16(j)
		r.feature[j] = -1
		if j < nf {
			r.feature[j] = j
		}
	}
	for k, c := range r.cellCol {
		r.cellCol[k] = newCol[c]
	}
}

// jsonNumber parses a feature value; reason is "" when it is a finite number.
func jsonNumber(raw jsontext.Value) (v float64, reason string) {
	switch raw.Kind() {
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

// jsonError turns the decoder's errors into messages that say where: a
// *RowError for invalid UTF-8 or a duplicate key inside a row, otherwise
// an error naming the byte offset.
func (p *jsonParser) jsonError(err error) error {
	var syn *jsontext.SyntacticError
	if !errors.As(err, &syn) {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("invalid JSON: the input ends too early")
		}
		return fmt.Errorf("invalid JSON: %w", err)
	}
	row, field := p.r.N, ""
	var path []string
	for tok := range syn.JSONPointer.Tokens() {
		path = append(path, tok)
	}
	if !p.single && len(path) > 0 {
		if n, err := strconv.Atoi(path[0]); err == nil {
			row = n
		}
		path = path[1:]
	}
	for k, tok := range path {
		if _, err := strconv.Atoi(tok); err == nil && k > 0 {
			field += "[" + tok + "]"
		} else if k > 0 {
			field += "." + tok
		} else {
			field = tok
		}
	}
	msg := syn.Err.Error()
	switch {
	case errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return &RowError{Row: row, Field: field, Reason: reasonTwice}
	case strings.Contains(msg, "UTF-8") || strings.Contains(msg, "surrogate"):
		return &RowError{Row: row, Field: field, Reason: reasonInvalidUTF8}
	case errors.Is(syn.Err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: the input ends too early")
	}
	return fmt.Errorf("invalid JSON at byte %d (row %d): %s", syn.ByteOffset+int64(p.skipped), row, msg)
}
