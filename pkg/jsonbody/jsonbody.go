// Package jsonbody decodes JSON request bodies strictly. encoding/json is
// lenient in ways an API that charges money should not be: it matches member
// names to struct fields ignoring case ({"Amount":5} fills amount), keeps the
// last of duplicate names, and replaces invalid UTF-8. Here a body is one JSON
// object whose names match the struct's exactly; duplicate names (also ones
// that differ only in case) at any depth, invalid UTF-8, unknown members and
// trailing data are errors that name the member.
//
// Decoding uses github.com/go-json-experiment/json (the mirror of Go's
// encoding/json/v2), which is case-sensitive and rejects exact duplicates and
// invalid UTF-8; this package adds the case-insensitive duplicate check,
// required members and messages safe to show to the client.
package jsonbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Error is a body that is not acceptable. Its message is safe to show to the
// client; every *Error is a bad request (400).
type Error struct {
	// Field is the member at fault as a path ("amount", "input_data[3].x"),
	// or "" when the problem is the body as a whole.
	Field string
	// Reason completes the message: `field "amount" is required`.
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("field %q %s", e.Field, e.Reason)
}

// Decode reads r to its end and unmarshals it as Unmarshal does. An error
// reading r (such as *http.MaxBytesError from http.MaxBytesReader, which the
// caller maps to 413) is returned wrapped, unchanged for errors.As; every
// other error is an *Error.
func Decode(r io.Reader, v any, required ...string) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	return Unmarshal(data, v, required...)
}

// Unmarshal decodes data, which must be one JSON object, into v, a pointer
// to a struct whose `json` tags name its members. Names must match exactly;
// a member the struct does not have is an error, as are duplicate names
// (compared ignoring case, at any depth), invalid UTF-8 and anything after
// the object. Each name in required must be present and not null, checked
// in the order given after the rest, so the first missing one is reported
// (and {"Amount":1} reports the unknown "Amount", the likelier mistake).
// Errors are *Error.
func Unmarshal(data []byte, v any, required ...string) error {
	present, err := check(data)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v, json.RejectUnknownMembers(true)); err != nil {
		return convert(err)
	}
	for _, name := range required {
		if !present[name] {
			return &Error{Field: name, Reason: "is required"}
		}
	}
	return nil
}

// check walks data's tokens: the grammar, UTF-8 and exact duplicates are
// jsontext's checks; names equal ignoring case are this one's. It returns
// the top-level names with a non-null value.
func check(data []byte) (map[string]bool, error) {
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return nil, &Error{Reason: "request body is empty: a JSON object is required"}
	}
	dec := jsontext.NewDecoder(bytes.NewBuffer(data)) // read in place, not copied
	if k := dec.PeekKind(); k != '{' && k != 0 {
		return nil, &Error{Reason: "request body must be a JSON object"}
	}
	present := map[string]bool{}
	// names[d] holds the folded names of the object open at depth d+1; maps
	// are reused as objects close.
	var names []map[string]string
	for {
		depth := dec.StackDepth()
		kind, length := dec.StackIndex(depth)
		isName := kind == '{' && length%2 == 0
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, convert(err)
		}
		if dec.StackDepth() == 0 { // the object is complete
			if _, err := dec.ReadToken(); err != io.EOF {
				return nil, &Error{Reason: "request body must hold one JSON object and nothing after it"}
			}
			return present, nil
		}
		switch tok.Kind() {
		case '{':
			d := dec.StackDepth() - 1
			for len(names) <= d {
				names = append(names, map[string]string{})
			}
			clear(names[d])
		case '"':
			if !isName {
				continue
			}
			name := tok.String()
			set := names[depth-1]
			folded := fold(name)
			if first, dup := set[folded]; dup {
				field := pointerPath(dec.StackPointer())
				return nil, &Error{Field: field, Reason: fmt.Sprintf("duplicates %q: member names are compared ignoring case", first)}
			}
			set[folded] = name
			if depth == 1 {
				present[name] = dec.PeekKind() != 'n'
			}
		}
	}
}

// fold maps names that are equal ignoring case (as strings.EqualFold sees
// them) to one key.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(strings.ToUpper(s))
		}
	}
	return s
}

// convert turns the json module's errors into *Error.
func convert(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		field := pointerPath(syn.JSONPointer)
		reason := syn.Err.Error()
		switch {
		case errors.Is(syn.Err, jsontext.ErrDuplicateName):
			reason = "is given twice"
		case strings.Contains(reason, "UTF-8"):
			reason = "contains invalid UTF-8"
		case strings.Contains(reason, "surrogate"):
			reason = "contains invalid UTF-8 (an unpaired surrogate escape)"
		case errors.Is(err, io.ErrUnexpectedEOF):
			return &Error{Reason: "malformed JSON: the body ends too early"}
		default:
			return &Error{Reason: fmt.Sprintf("malformed JSON at byte %d: %s", syn.ByteOffset, reason)}
		}
		if field == "" {
			return &Error{Reason: "request body " + reason}
		}
		return &Error{Field: field, Reason: reason}
	case errors.As(err, &sem):
		field := pointerPath(sem.JSONPointer)
		reason := "has an unusable value"
		switch {
		case errors.Is(sem.Err, json.ErrUnknownName):
			reason = "is not a known field (names are case-sensitive)"
		case sem.GoType != nil:
			reason = "must be " + kindOf(sem.GoType)
		}
		if field == "" {
			return &Error{Reason: "request body must be a JSON object"}
		}
		return &Error{Field: field, Reason: reason}
	}
	return &Error{Reason: "malformed JSON: " + err.Error()}
}

// kindOf names the JSON kind a Go type holds.
func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of another type"
}

// pointerPath writes a JSON pointer (/input_data/3/x) as a path
// (input_data[3].x); numeric tokens are written as indexes.
func pointerPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 32); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}
