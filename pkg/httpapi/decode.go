package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mlsvc/pkg/mlsvc"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// mediaType is the request's media type, lower-cased, without parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// requireType refuses a body not declared as one of the media types with
// EUnsupported (415): a form a browser posts cross-site (with its cached
// credentials) is never read as JSON.
func requireType(r *http.Request, types ...string) error {
	mt := mediaType(r)
	if slices.Contains(types, mt) {
		return nil
	}
	if mt == "" {
		return mlsvc.Errorf(mlsvc.EUnsupported, "the request body needs a Content-Type: %s", strings.Join(types, " or "))
	}
	return mlsvc.Errorf(mlsvc.EUnsupported, "Content-Type %s is not supported here: use %s", mt, strings.Join(types, " or "))
}

// required reports the first of the named fields that is missing (nil), in
// the order given, so the same request always gets the same answer.
func required(fields ...any) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if reflect.ValueOf(fields[i+1]).IsNil() {
			return mlsvc.Errorf(mlsvc.EInvalid, "field %q is required", fields[i])
		}
	}
	return nil
}

// decode reads a JSON object body into v, rejecting anything else with a
// message that names the problem.
func decode(r *http.Request, v any) error {
	if err := requireType(r, "application/json"); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &maxErr):
			return err
		case errors.As(err, &typeErr):
			field := typeErr.Field
			if field == "" {
				return mlsvc.Errorf(mlsvc.EInvalid, "request body must be a JSON object")
			}
			return mlsvc.Errorf(mlsvc.EInvalid, "field %q must be %s", field, jsonKind(typeErr.Type.String()))
		case errors.As(err, &syntaxErr):
			return mlsvc.Errorf(mlsvc.EInvalid, "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
		case errors.Is(err, io.EOF):
			return mlsvc.Errorf(mlsvc.EInvalid, "request body is empty: a JSON object is required")
		default:
			return mlsvc.Errorf(mlsvc.EInvalid, "malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return mlsvc.Errorf(mlsvc.EInvalid, "request body must hold one JSON object")
	}
	return nil
}

func jsonKind(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "json.Number":
		return "a number"
	default:
		return "of another type"
	}
}
