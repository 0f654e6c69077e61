package httpapi

import (
	"net/http"
)

// cancel is POST /predict/{id}/cancel: the prediction, canceled and
// refunded; 409 unless it is pending. It takes no body.
func (a *API) cancel(w http.ResponseWriter, r *http.Request, userID string) error {
	p, err := a.svc.CancelPrediction(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, summary(p))
	return nil
}
