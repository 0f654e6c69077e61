package httpapi

import (
	"encoding/json"
	"fmt"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (a *API) predict(w http.ResponseWriter, r *http.Request, userID string) error {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 || strings.ContainsFunc(key, func(c rune) bool { return c < ' ' || c > '~' }) {
		return mlsvc.Errorf(mlsvc.EInvalid, "Idempotency-Key must be at most 255 printable ASCII characters")
	}
	req := mlsvc.PredictionRequest{UserID: userID, IdempotencyKey: key}
	var p *mlsvc.Prediction
	var replayed bool
	var err error
	if err := requireType(r, "application/json", "text/csv"); err != nil {
		return err
	}
	if mediaType(r) == "text/csv" {
		// CSV rows as the body, the model in the query: POST /predict?model_id=rf
		req.ModelID = r.URL.Query().Get("model_id")
		req.WebhookURL = r.URL.Query().Get("webhook_url")
		p, replayed, err = a.svc.RequestPredictionCSV(r.Context(), req, r.Body)
	} else {
		p, replayed, err = a.predictJSON(r, req)
	}
	if err != nil {
		return err
	}
	obs.Add(r.Context(), obs.KeyPredictionID, p.ID)
	if d, ok := a.preferWait(r); ok {
		// Prefer: wait: the final prediction if it ends in time.
		applied(w, d)
		if final, err := a.svc.AwaitPrediction(r.Context(), userID, p.ID, d); err == nil && final.Status != mlsvc.StatusPending {
			if replayed {
				w.Header().Set("Idempotent-Replayed", "true")
			}
			return a.writePrediction(w, r, userID, p.ID)
		}
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
		ModelID    json.RawMessage `json:"model_id"`
		InputData  json.RawMessage `json:"input_data"`
		WebhookURL *string         `json:"webhook_url"`
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
	if body.WebhookURL != nil {
		if req.WebhookURL = *body.WebhookURL; req.WebhookURL == "" {
			return nil, false, mlsvc.Errorf(mlsvc.EInvalid, "webhook_url must not be empty: leave it out for no webhook")
		}
	}
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
	id := r.PathValue("id")
	if d, ok := a.preferWait(r); ok {
		if _, err := a.svc.AwaitPrediction(r.Context(), userID, id, d); err != nil {
			return err
		}
		applied(w, d)
	}
	return a.writePrediction(w, r, userID, id)
}

// writePrediction answers with the prediction id as its owner sees it.
func (a *API) writePrediction(w http.ResponseWriter, r *http.Request, userID, id string) error {
	v, err := a.svc.Prediction(r.Context(), userID, id, MaxInlineInput)
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
		Webhook      *webhookJSON    `json:"webhook,omitempty"`
	}{summary(v.Prediction), v.Input, v.InputOmitted, v.Output, v.CSVURL, v.FilesExpired, webhookOf(v)})
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

// predictions is GET /predictions?limit=&cursor=: the caller's predictions,
// newest first. transactions (ledger.go) pages the ledger in the same
// steps, through pageOf and writePage.
func (a *API) predictions(w http.ResponseWriter, r *http.Request, userID string) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	ps, next, err := a.svc.Predictions(r.Context(), userID, page)
	if err != nil {
		return err
	}
	writePage(w, ps, next, summary)
	return nil
}

// writePage answers with a page of a listing, each item as view shows it,
// and the cursor of the next page, if one follows, in X-Next-Cursor.
func writePage[T, R any](w http.ResponseWriter, items []T, next string, view func(T) R) {
	out := make([]R, len(items))
	for i, it := range items {
		out[i] = view(it)
	}
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	writeJSON(w, http.StatusOK, out)
}

// pageOf reads a listing's ?limit= and ?cursor= (the cursor is checked by
// the store).
func pageOf(r *http.Request) (mlsvc.Page, error) {
	page := mlsvc.Page{Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > mlsvc.MaxPageLimit {
			return page, mlsvc.Errorf(mlsvc.EInvalid, "limit must be an integer from 1 to %d", mlsvc.MaxPageLimit)
		}
		page.Limit = n
	}
	return page, nil
}
