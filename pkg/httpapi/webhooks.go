package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"mlsvc/pkg/mlsvc"
)

// webhookJSON is a prediction's webhook delivery as GET /predict/{id}
// shows it.
type webhookJSON struct {
	URL        string `json:"url"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"last_status,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	Delivered  bool   `json:"delivered"`
	GivenUp    bool   `json:"given_up,omitempty"`
}

func webhookOf(v *mlsvc.View) *webhookJSON {
	d := v.Webhook
	if d == nil {
		return nil
	}
	ok := d.LastStatus >= 200 && d.LastStatus < 300
	return &webhookJSON{URL: d.URL, Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		Delivered: d.Done && ok, GivenUp: d.Done && !ok}
}

func (a *API) webhookSecret(w http.ResponseWriter, r *http.Request, userID string) error {
	return writeSecret(w)(a.svc.WebhookSecret(r.Context(), userID))
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, userID string) error {
	return writeSecret(w)(a.svc.RotateWebhookSecret(r.Context(), userID))
}

// writeSecret answers {"secret"}, or the error of getting it.
func writeSecret(w http.ResponseWriter) func(secret string, err error) error {
	return func(secret string, err error) error {
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct {
			Secret string `json:"secret"`
		}{secret})
		return nil
	}
}

// WebhookPayload is the body of a webhook delivery: the prediction as GET
// /predict/{id} shows it, without the input rows, and the event.
func (a *API) WebhookPayload(ctx context.Context, d *mlsvc.WebhookDelivery) ([]byte, error) {
	v, err := a.svc.Prediction(ctx, d.UserID, d.PredictionID, -1)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Event string `json:"event"`
		predictionSummary
		OutputData   *mlsvc.Output `json:"output_data"`
		CSVURL       string        `json:"csv_url,omitempty"`
		FilesExpired bool          `json:"files_expired,omitempty"`
	}{d.Event, summary(v.Prediction), v.Output, v.CSVURL, v.FilesExpired})
}
