package httpapi

import (
	"net/http"

	"mlsvc/pkg/obs"
)

// maxLoggedID bounds the path ids logged: prediction ids are UUIDs (36).
const maxLoggedID = 64

// logAttrs adds the caller and the prediction a request acts on (its path's
// {id}) to the attributes of its log lines and its request line
// (obs.Requests). A path id longer than any prediction id is not one, and
// is not logged (it would let a client fill the logs).
func logAttrs(r *http.Request, userID string) {
	if userID != "" {
		obs.Add(r.Context(), obs.KeyUserID, userID)
	}
	if id := r.PathValue("id"); id != "" && len(id) <= maxLoggedID {
		obs.Add(r.Context(), obs.KeyPredictionID, id)
	}
}
