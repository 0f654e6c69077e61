package httpapi

import (
	"net/http"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Session tokens, password changes and API keys.

type tokenRequest struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// token signs in with Basic credentials or a JSON body and returns a
// session token.
func (a *API) token(w http.ResponseWriter, r *http.Request, _ string) error {
	var username, password string
	if h := r.Header.Get("Authorization"); h != "" {
		var err error
		if username, password, err = parseBasic(h); err != nil {
			return err
		}
	} else {
		var req tokenRequest
		if err := decode(r, &req, "username", "password"); err != nil {
			return err
		}
		username, password = *req.Username, *req.Password
	}
	u, err := a.svc.SignIn(r.Context(), username, password, ClientAddr(r))
	if err != nil {
		return err
	}
	token, ttl, err := a.svc.IssueToken(u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse{token, "Bearer", int(ttl / time.Second)})
	return nil
}

type passwordRequest struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request, userID string) error {
	var req passwordRequest
	if err := decode(r, &req, "current_password", "new_password"); err != nil {
		return err
	}
	if err := a.svc.ChangePassword(r.Context(), userID, *req.CurrentPassword, *req.NewPassword, ClientAddr(r)); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type apiKeyRequest struct {
	Name *string `json:"name"`
}

// newKeyResponse is a key just created: the only time the key is shown.
type newKeyResponse struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Key       string    `json:"key"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}

// apiKeyResponse is a key as listed: never the key itself. The response
// types are struct literals of JSON fields; the tests (pkg/local,
// test/aws) declare their own of the same shape on purpose.
type apiKeyResponse struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func apiKeyView(k *mlsvc.APIKey) apiKeyResponse {
	v := apiKeyResponse{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt}
	if !k.LastUsedAt.IsZero() {
		v.LastUsedAt = &k.LastUsedAt
	}
	return v
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, userID string) error {
	var req apiKeyRequest
	if err := decode(r, &req, "name"); err != nil {
		return err
	}
	k, key, err := a.svc.CreateAPIKey(r.Context(), userID, *req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newKeyResponse{k.ID, k.Name, key, k.Prefix, k.CreatedAt})
	return nil
}

func (a *API) apiKeys(w http.ResponseWriter, r *http.Request, userID string) error {
	keys, err := a.svc.APIKeys(r.Context(), userID)
	if err != nil {
		return err
	}
	out := make([]apiKeyResponse, 0, len(keys))
	for _, k := range keys {
		out = append(out, apiKeyView(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, userID string) error {
	if err := a.svc.DeleteAPIKey(r.Context(), userID, r.PathValue("id")); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
