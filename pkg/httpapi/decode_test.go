package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBody: a body is read whole whatever its Content-Length says; a
// short one is an error; a claimed length never allocates more than
// maxPreallocated before the bytes arrive.
func TestReadBody(t *testing.T) {
	small := `{"model_id":"lr"}`
	large := strings.Repeat("x", maxPreallocated+10)
	for _, tc := range []struct {
		name, body string
		length     int64
		want       string
		fails      bool
	}{
		{"known length", small, int64(len(small)), small, false},
		{"unknown length", small, -1, small, false},
		{"over the preallocation", large, int64(len(large)), large, false},
		{"shorter than claimed", small, int64(len(small)) + 5, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/predict", io.NopCloser(strings.NewReader(tc.body)))
			r.ContentLength = tc.length
			if tc.fails {
				// As net/http's body reader does when the client sends less.
				r.Body = io.NopCloser(io.MultiReader(strings.NewReader(tc.body), errReader{}))
			}
			got, err := readBody(r)
			if tc.fails != (err != nil) || !tc.fails && !bytes.Equal(got, []byte(tc.want)) {
				t.Fatalf("readBody: %d bytes, %v", len(got), err)
			}
		})
	}
	huge := httptest.NewRequest(http.MethodPost, "/predict", strings.NewReader(small))
	huge.ContentLength = 1 << 40 // a claim only
	allocs := testing.AllocsPerRun(10, func() {
		huge.Body = io.NopCloser(strings.NewReader(small))
		if _, err := readBody(huge); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Errorf("%v allocations for a 17-byte body claiming 1 TiB", allocs)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
