package httpapi

import (
	"bytes"
	"io"
	"mime"
	"mlsvc/pkg/jsonbody"
	"mlsvc/pkg/mlsvc"
	"net/http"
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

// decode reads a JSON object body into v strictly (pkg/jsonbody: names
// match exactly, no unknown or duplicate names, valid UTF-8, nothing after
// the object) and checks the required fields in the order given, so the
// same request always gets the same answer. A body over the limit is the
// *http.MaxBytesError the error writer turns into a 413.
func decode(r *http.Request, v any, required ...string) error {
	if err := requireType(r, "application/json"); err != nil {
		return err
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return mlsvc.Errorf(mlsvc.EInvalid, "request body is empty: a JSON object is required")
	}
	if err := jsonbody.Unmarshal(data, v, required...); err != nil {
		return &mlsvc.Error{Code: mlsvc.EInvalid, Message: err.Error(), Err: err}
	}
	return nil
}

// maxPreallocated bounds the buffer readBody allocates before reading: a
// client's Content-Length is a claim, not bytes received.
const maxPreallocated = 64 << 10

// readBody reads the whole body, in one allocation of its size when its
// Content-Length is known and small (net/http then delivers exactly that
// many bytes, or an error).
func readBody(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n <= 0 || n > maxPreallocated {
		return io.ReadAll(r.Body)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r.Body, data); err != nil {
		return nil, err
	}
	return data, nil
}
