// Package httpapi is the ML Service's HTTP API as plain net/http handlers.
// The local server mounts all routes on one mux; each AWS Lambda serves one
// route through the same handler. It knows nothing of AWS.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Authenticator tells which user made a request: from its Basic credentials
// locally, or from the API Gateway authorizer's context on AWS. It returns an
// EUnauthorized error when there is no valid identity.
type Authenticator interface {
	Authenticate(r *http.Request) (userID string, err error)
}

// API serves the HTTP API of one Service.
type API struct {
	svc  *mlsvc.Service
	auth Authenticator
	log  *slog.Logger
}

// New returns the API of svc, identifying callers with auth.
func New(svc *mlsvc.Service, auth Authenticator, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{svc: svc, auth: auth, log: log}
}

// Route is one endpoint: its method and path pattern and its handler.
type Route struct {
	Name    string // also the name of its function in functions/
	Method  string
	Pattern string
	handler handlerFunc
	auth    bool
}

// Routes lists the API's endpoints, in the order of SPEC.md.
func (a *API) Routes() []Route {
	return []Route{
		{"register", "POST", "/users", a.register, false},
		{"me", "GET", "/users/me", a.me, true},
		{"topup", "POST", "/account/topup", a.topUp, true},
		{"models", "GET", "/models", a.models, false},
		{"predict", "POST", "/predict", a.predict, true},
		{"prediction", "GET", "/predict/{id}", a.prediction, true},
		{"download", "GET", "/predict/{id}/download", a.download, true},
		{"predictions", "GET", "/predictions", a.predictions, true},
	}
}

// Mount adds every route to mux.
func (a *API) Mount(mux *http.ServeMux) {
	for _, rt := range a.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, a.serve(rt))
	}
}

// Route returns the handler of the route named name, for a function that
// serves only that route; nil if there is no such route.
func (a *API) Route(name string) http.Handler {
	for _, rt := range a.Routes() {
		if rt.Name == name {
			mux := http.NewServeMux()
			mux.Handle(rt.Method+" "+rt.Pattern, a.serve(rt))
			return mux
		}
	}
	return nil
}

// handlerFunc handles a request and returns an error to be written as
// {"detail": …}. userID is "" for routes without authentication.
type handlerFunc func(w http.ResponseWriter, r *http.Request, userID string) error

// serve wraps a route with authentication, the body limit and the one place
// that turns errors into responses.
func (a *API) serve(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var userID string
		var err error
		if rt.auth {
			userID, err = a.auth.Authenticate(r)
		}
		if err == nil {
			r.Body = http.MaxBytesReader(w, r.Body, mlsvc.MaxBodyBytes)
			err = rt.handler(w, r, userID)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	mlsvc.EInvalid:      http.StatusBadRequest,
	mlsvc.EUnauthorized: http.StatusUnauthorized,
	mlsvc.EInsufficient: http.StatusPaymentRequired,
	mlsvc.ENotFound:     http.StatusNotFound,
	mlsvc.EConflict:     http.StatusConflict,
	mlsvc.ETooLarge:     http.StatusRequestEntityTooLarge,
	mlsvc.EUnavailable:  http.StatusServiceUnavailable,
	mlsvc.EInternal:     http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for err.
func ErrorStatus(err error) int {
	if s, ok := statusOf[mlsvc.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = mlsvc.Errorf(mlsvc.ETooLarge, "request body is larger than %d bytes", mlsvc.MaxBodyBytes)
	}
	status := ErrorStatus(err)
	if status >= 500 {
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized && r.Header.Get("X-Requested-With") == "" {
		// Browsers' own login prompt only for clients that are not the web UI.
		w.Header().Set("WWW-Authenticate", `Basic realm="mlsvc", charset="UTF-8"`)
	}
	writeJSON(w, status, map[string]string{"detail": mlsvc.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// decode reads a JSON object body into v, rejecting anything else with a
// message that names the problem.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return mlsvc.Errorf(mlsvc.EInvalid, "request body must be JSON (Content-Type: application/json), not %s", ct)
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
		case err.Error() == "EOF":
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

type registerRequest struct {
	Firstname *string `json:"firstname"`
	Username  *string `json:"username"`
	Password  *string `json:"password"`
}

func (a *API) register(w http.ResponseWriter, r *http.Request, _ string) error {
	var req registerRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	for name, v := range map[string]*string{"firstname": req.Firstname, "username": req.Username, "password": req.Password} {
		if v == nil {
			return mlsvc.Errorf(mlsvc.EInvalid, "field %q is required", name)
		}
	}
	u, err := a.svc.Register(r.Context(), *req.Firstname, *req.Username, *req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"user_id": u.ID, "message": "user registered"})
	return nil
}

type userResponse struct {
	UserID    string      `json:"user_id"`
	Firstname string      `json:"firstname"`
	Username  string      `json:"username"`
	Balance   mlsvc.Cents `json:"balance"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, userID string) error {
	u, err := a.svc.User(r.Context(), userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userResponse{u.ID, u.Firstname, u.Username, u.Balance})
	return nil
}

func (a *API) topUp(w http.ResponseWriter, r *http.Request, userID string) error {
	var req struct {
		Amount json.RawMessage `json:"amount"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	raw := string(req.Amount)
	switch {
	case raw == "" || raw == "null":
		return mlsvc.Errorf(mlsvc.EInvalid, `field "amount" is required`)
	case raw[0] != '-' && (raw[0] < '0' || raw[0] > '9'):
		return mlsvc.Errorf(mlsvc.EInvalid, `field "amount" must be a number`)
	}
	amount, err := mlsvc.ParseAmount("amount", raw, mlsvc.MaxTopUp)
	if err != nil {
		return err
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

type modelResponse struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Cost        mlsvc.Cents    `json:"cost"`
	Description string         `json:"description"`
	Format      string         `json:"format,omitempty"`
	Features    []string       `json:"features"`
	Quality     *mlsvc.Quality `json:"quality,omitempty"`
}

func (a *API) models(w http.ResponseWriter, r *http.Request, _ string) error {
	ms, err := a.svc.Models(r.Context())
	if err != nil {
		return err
	}
	out := make([]modelResponse, 0, len(ms))
	for _, m := range ms {
		mr := modelResponse{ID: m.ID, Name: m.Name, Cost: m.Cost, Description: m.Description, Format: m.Format, Features: m.Features}
		if m.Metric != "" {
			mr.Quality = &mlsvc.Quality{Metric: m.Metric, Value: m.Score}
		}
		out = append(out, mr)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) predict(w http.ResponseWriter, r *http.Request, userID string) error {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 || strings.ContainsFunc(key, func(c rune) bool { return c < ' ' || c > '~' }) {
		return mlsvc.Errorf(mlsvc.EInvalid, "Idempotency-Key must be at most 255 printable ASCII characters")
	}
	req := mlsvc.PredictionRequest{UserID: userID, IdempotencyKey: key}
	var p *mlsvc.Prediction
	var replayed bool
	var err error
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/csv") {
		// CSV rows as the body, the model in the query: POST /predict?model_id=rf
		req.ModelID = r.URL.Query().Get("model_id")
		p, replayed, err = a.svc.RequestPredictionCSV(r.Context(), req, r.Body)
	} else {
		p, replayed, err = a.predictJSON(r, req)
	}
	if err != nil {
		return err
	}
	message := fmt.Sprintf("prediction accepted: %d rows, charged %s", p.Rows, p.Cost)
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		message = "this request was made before with the same Idempotency-Key: not charged again"
	}
	writeJSON(w, http.StatusAccepted, struct {
		PredictionID string       `json:"prediction_id"`
		Status       mlsvc.Status `json:"status"`
		Message      string       `json:"message"`
		Rows         int          `json:"rows"`
		Cost         mlsvc.Cents  `json:"cost"`
		DelaySeconds float64      `json:"delay_seconds"`
		Replayed     bool         `json:"replayed,omitempty"`
	}{p.ID, p.Status, message, p.Rows, p.Cost, p.Delay.Seconds(), replayed})
	return nil
}

func (a *API) predictJSON(r *http.Request, req mlsvc.PredictionRequest) (*mlsvc.Prediction, bool, error) {
	var body struct {
		ModelID   json.RawMessage `json:"model_id"`
		InputData json.RawMessage `json:"input_data"`
	}
	if err := decode(r, &body); err != nil {
		return nil, false, err
	}
	modelID, err := idString(body.ModelID)
	if err != nil {
		return nil, false, err
	}
	if len(body.InputData) == 0 || string(body.InputData) == "null" {
		return nil, false, mlsvc.Errorf(mlsvc.EInvalid, `field "input_data" is required: an object or an array of objects`)
	}
	req.ModelID = modelID
	return a.svc.RequestPrediction(r.Context(), req, body.InputData)
}

// idString accepts a model id as a JSON string, or as a number for clients
// of the original service.
func idString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", mlsvc.Errorf(mlsvc.EInvalid, `field "model_id" is required`)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", mlsvc.Errorf(mlsvc.EInvalid, `field "model_id" must be a string`)
}

type predictionSummary struct {
	ID           string       `json:"id"`
	ModelID      string       `json:"model_id"`
	Status       mlsvc.Status `json:"status"`
	Rows         int          `json:"rows"`
	Cost         mlsvc.Cents  `json:"cost"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	DelaySeconds float64      `json:"delay_seconds"`
	Error        string       `json:"error,omitempty"`
}

func summary(p *mlsvc.Prediction) predictionSummary {
	return predictionSummary{p.ID, p.ModelID, p.Status, p.Rows, p.Cost, p.CreatedAt, p.UpdatedAt, p.Delay.Seconds(), p.Error}
}

func (a *API) prediction(w http.ResponseWriter, r *http.Request, userID string) error {
	v, err := a.svc.Prediction(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		predictionSummary
		InputData    json.RawMessage `json:"input_data"`
		InputOmitted bool            `json:"input_data_omitted,omitempty"`
		OutputData   *mlsvc.Output   `json:"output_data"`
		CSVURL       string          `json:"csv_url,omitempty"`
		FilesExpired bool            `json:"files_expired,omitempty"`
	}{summary(v.Prediction), v.Input, v.InputOmitted, v.Output, v.CSVURL, v.FilesExpired})
	return nil
}

func (a *API) download(w http.ResponseWriter, r *http.Request, userID string) error {
	u, err := a.svc.DownloadURL(r.Context(), userID, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

func (a *API) predictions(w http.ResponseWriter, r *http.Request, userID string) error {
	page := mlsvc.Page{Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return mlsvc.Errorf(mlsvc.EInvalid, "limit must be an integer from 1 to 1000")
		}
		page.Limit = n
	}
	ps, next, err := a.svc.Predictions(r.Context(), userID, page)
	if err != nil {
		return err
	}
	out := make([]predictionSummary, len(ps))
	for i, p := range ps {
		out[i] = summary(p)
	}
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
