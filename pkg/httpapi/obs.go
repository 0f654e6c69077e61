package httpapi

import (
	"net/http"

	"mlsvc/pkg/obs"
)

// logAttrs adds the caller and the prediction a request acts on (its path's
// {id}) to the attributes of its log lines and its request line
// (obs.Requests).
func logAttrs(r *http.Request, userID string) {
	if userID != "" {
		obs.Add(r.Context(), obs.KeyUserID, userID)
	}
	if id := r.PathValue("id"); id != "" {
		obs.Add(r.Context(), obs.KeyPredictionID, id)
	}
}
