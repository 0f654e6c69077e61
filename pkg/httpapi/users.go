package httpapi

import (
	"mlsvc/pkg/mlsvc"
	"net/http"
)

type registerRequest struct {
	Firstname string `json:"firstname"`
	Username  string `json:"username"`
	Password  string `json:"password"`
}

func (a *API) register(w http.ResponseWriter, r *http.Request, _ string) error {
	if err := a.svc.AllowRegistration(r.Context(), ClientAddr(r)); err != nil {
		return err
	}
	var req registerRequest
	if err := decode(r, &req, "firstname", "username", "password"); err != nil {
		return err
	}
	u, err := a.svc.Register(r.Context(), req.Firstname, req.Username, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"user_id": u.ID, "message": "user registered"})
	return nil
}

// userResponse is GET /users/me. The response types are struct literals of
// JSON fields; the tests (pkg/local, test/aws) declare their own of the same
// shape on purpose.
type userResponse struct {
	UserID    string      `json:"user_id"`
	Firstname string      `json:"firstname"`
	Username  string      `json:"username"`
	Balance   mlsvc.Cents `json:"balance"`
	// TopUpMode tells the web UI how to offer top-ups: open, stripe or operator.
	TopUpMode string `json:"topup_mode"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, userID string) error {
	u, err := a.svc.User(r.Context(), userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userResponse{u.ID, u.Firstname, u.Username, u.Balance, a.svc.TopUpMode()})
	return nil
}
