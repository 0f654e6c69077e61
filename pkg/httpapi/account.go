package httpapi

import (
	"encoding/json"
	"mlsvc/pkg/mlsvc"
	"net/http"
)

func (a *API) topUp(w http.ResponseWriter, r *http.Request, userID string) error {
	var req struct {
		Amount json.RawMessage `json:"amount"`
	}
	if a.svc.TopUpMode() == mlsvc.TopUpOperator {
		_, err := a.svc.TopUp(r.Context(), userID, 0) // refused (403) before the body is read
		return err
	}
	if err := decode(r, &req, "amount"); err != nil {
		return err
	}
	raw := string(req.Amount)
	switch {
	case raw[0] != '-' && (raw[0] < '0' || raw[0] > '9'):
		return mlsvc.Errorf(mlsvc.EInvalid, `field "amount" must be a number`)
	}
	amount, err := mlsvc.ParseAmount("amount", raw, mlsvc.MaxTopUp)
	if err != nil {
		return err
	}
	if a.svc.TopUpMode() == mlsvc.TopUpStripe {
		return a.startCheckout(w, r, userID, amount)
	}
	bal, err := a.svc.TopUp(r.Context(), userID, amount)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Message string      `json:"message"`
		Balance mlsvc.Cents `json:"balance"`
	}{"balance topped up by " + amount.String(), bal})
	return nil
}
