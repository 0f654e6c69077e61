package httpapi

import (
	"errors"
	"io"
	"net/http"

	"mlsvc/pkg/httperr"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"
)

// maxDrain bounds what is read and discarded of a body refused as too
// large, so that clients which send it all before reading the answer
// (no Expect: 100-continue) get the 413 instead of a reset connection.
const maxDrain = 2 * MaxBodyBytes

// ErrorStatus returns the HTTP status for err.
func ErrorStatus(err error) int { return httperr.Status(err) }

// writeError answers err with {"detail"}, logging server errors. body is
// the request's own body, drained (bounded) when it was too large.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, body io.Reader, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = mlsvc.Errorf(mlsvc.ETooLarge, "request body is larger than %d bytes", MaxBodyBytes)
		_, _ = io.CopyN(io.Discard, body, maxDrain)
	}
	status := httperr.Status(err)
	if status >= 500 && obs.ClientGone(r) {
		// The client went away (the error is likely its canceled context):
		// not a server error. The answer reaches no one.
		if !obs.RecordError(r.Context(), err) {
			a.log.InfoContext(r.Context(), "client closed request", "method", r.Method, "path", r.URL.Path, "status", obs.StatusClientClosed, "err", err)
		}
		httperr.Detail(w, obs.StatusClientClosed, "client closed request")
		return
	}
	// Exactly one log line per 5xx answer carries its numeric status (a
	// metric filter counts them): obs.Requests' line when it serves the
	// request, with the error recorded here, else this one.
	if !obs.RecordError(r.Context(), err) && status >= 500 {
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized && r.Header.Get("X-Requested-With") == "" {
		// Browsers' own login prompt only for clients that are not the web UI.
		w.Header().Set("WWW-Authenticate", `Basic realm="mlsvc", charset="UTF-8"`)
	}
	httperr.Write(w, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httperr.WriteJSON(w, status, v) }
