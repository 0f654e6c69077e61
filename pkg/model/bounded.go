package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Arrays in model files are decoded through these types so that a hostile file
// cannot make the decoder allocate far more than MaxNodes elements: the element
// count is bounded from the raw text before anything is allocated.

type (
	int32s   = bounded[int32]
	float32s = bounded[float32]
	float64s = bounded[float64]
)

// bounded is a list of numbers decoded by decodeBounded, up to MaxNodes.
type bounded[T int32 | float32 | float64] []T

func (s *bounded[T]) UnmarshalJSON(raw []byte) error {
	return decodeBounded(raw, (*[]T)(s), MaxNodes)
}

// decodeBounded decodes a JSON array into *v (a pointer to a slice) after
// checking that it has at most limit elements. Every element but the last is
// followed by a comma, so the comma count bounds the length from above; the
// slice is then allocated once, at that capacity, instead of growing by doubling.
func decodeBounded[T any](raw []byte, v *[]T, limit int) error {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		*v = nil
		return nil
	}
	if len(raw) == 0 || raw[0] != '[' {
		return fmt.Errorf("expected a JSON array")
	}
	n := bytes.Count(raw, []byte(",")) + 1
	if n > limit {
		return fmt.Errorf("array of more than %d elements", limit)
	}
	s := make([]T, 0, n)
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	*v = s
	return nil
}

// streamList decodes a JSON array with streamArray into a list, calling
// check (if not nil) on each element before it is added: the elements
// decoded so far are returned with an error.
func streamList[T any](raw []byte, limit int, what string, strict bool, check func(elem *T) error) ([]T, error) {
	var out []T
	err := streamArray(raw, limit, what, strict, func(_ int, elem *T) error {
		if check != nil {
			if err := check(elem); err != nil {
				return err
			}
		}
		out = append(out, *elem)
		return nil
	})
	return out, err
}

// nodeBudget counts the nodes of a model's trees as they are decoded: add
// fails once they pass MaxNodes in all. unit names them in the error.
type nodeBudget struct {
	total int
	unit  string
}

func (b *nodeBudget) add(n int) error {
	b.total += n
	if b.total > MaxNodes {
		return fmt.Errorf("more than %d %s in all", MaxNodes, b.unit)
	}
	return nil
}

// streamArray decodes a JSON array element by element, calling each for every
// element, so that a long array of small hostile objects is rejected as soon as
// limit is passed or an element is invalid, not after it has all been decoded.
// Elements are decoded in place (no copy of the array); with strict, objects
// may hold only the fields of T. raw must be valid JSON, as it is inside
// UnmarshalJSON.
func streamArray[T any](raw []byte, limit int, what string, strict bool, each func(i int, elem *T) error) error {
	return splitArray(raw, what, func(i int, elemRaw []byte) error {
		if i >= limit {
			return fmt.Errorf("more than %d %s", limit, what)
		}
		var elem T
		var err error
		if strict {
			err = decodeStrict(elemRaw, &elem)
		} else if err = json.Unmarshal(elemRaw, &elem); err != nil {
			err = jsonError(err)
		}
		if err != nil {
			return fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		if err := each(i, &elem); err != nil {
			return fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		return nil
	})
}

// splitArray calls each with the raw text of every element of the valid JSON
// array raw, in order, stopping at the first error.
func splitArray(raw []byte, what string, each func(i int, elem []byte) error) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' {
		return fmt.Errorf("%s: expected a JSON array", what)
	}
	body := raw[1 : len(raw)-1]
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	depth, inString, escaped := 0, false, false
	start, n := 0, 0
	for i, c := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			if err := each(n, bytes.TrimSpace(body[start:i])); err != nil {
				return err
			}
			start, n = i+1, n+1
		}
	}
	return each(n, bytes.TrimSpace(body[start:]))
}

// decodeStrict decodes one JSON value into the struct pointed to by v,
// rejecting keys that name none of its fields (at the top level; nested
// structs check their own). Unlike json.Decoder.DisallowUnknownFields it does
// not copy data.
func decodeStrict(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return jsonError(err)
	}
	var keys map[string]present
	if err := json.Unmarshal(data, &keys); err != nil {
		return jsonError(err)
	}
	allowed := jsonFields(reflect.TypeOf(v).Elem())
	for k := range keys {
		if !allowed[k] {
			return fmt.Errorf("unknown field %q", truncate(k))
		}
	}
	return nil
}

// jsonFields returns the JSON names of a struct's fields, embedded ones included.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k := range jsonFields(f.Type) {
				out[k] = true
			}
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}
