package awstest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mlsvc/internal/webhooktest"
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/mlsvc"
)

// allowPrivate is the test-only setting that lets webhooks go to the
// loopback receivers of these tests (template.yaml never sets it).
const allowPrivate = "MLSVC_WEBHOOK_ALLOW_PRIVATE=1"

// TestWebhookSecret drives the webhook secret bootstraps: created on first
// use, kept, rotated; and POST /predict takes a webhook_url on AWS (no
// longer 403), validated before any charge.
func TestWebhookSecret(t *testing.T) {
	st := newStack(t)
	auth := st.user("judy", 100)
	var first, again, rotated struct{ Secret string }
	decode(t, "GET /account/webhook-secret", st.api("webhooksecret", request(t, "webhooksecret", "/account/webhook-secret", nil, auth)), http.StatusOK, &first)
	decode(t, "GET /account/webhook-secret again", st.api("webhooksecret", request(t, "webhooksecret", "/account/webhook-secret", nil, auth)), http.StatusOK, &again)
	if !strings.HasPrefix(first.Secret, "whsec_") || again.Secret != first.Secret {
		t.Errorf("secrets %q then %q, want one whsec_ secret", first.Secret, again.Secret)
	}
	decode(t, "POST /account/webhook-secret/rotate", st.api("webhookrotate", request(t, "webhookrotate", "/account/webhook-secret/rotate", nil, auth)), http.StatusOK, &rotated)
	decode(t, "GET after rotate", st.api("webhooksecret", request(t, "webhooksecret", "/account/webhook-secret", nil, auth)), http.StatusOK, &again)
	if rotated.Secret == first.Secret || again.Secret != rotated.Secret {
		t.Errorf("rotate: %q, then GET %q; want a new secret, kept", rotated.Secret, again.Secret)
	}
	decode(t, "GET /account/webhook-secret without credentials", st.api("webhooksecret", request(t, "webhooksecret", "/account/webhook-secret", nil, nil)), http.StatusUnauthorized, nil)

	// Targets that are not public https URLs are refused, naming the
	// field, before the charge (the deployment has no test flag).
	for _, url := range []string{
		"http://hooks.example.com/x", "https://127.0.0.1/x", "https://169.254.169.254/latest/meta-data",
		"https://localhost/x", "https://[::1]/x", "https://10.0.0.8/x",
	} {
		resp := st.api("predict", request(t, "predict", "/predict", map[string]any{"model_id": "lr", "input_data": rows, "webhook_url": url}, auth))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "webhook_url") {
			t.Errorf("POST /predict with webhook_url %s: %d %s, want 400 naming webhook_url", url, resp.StatusCode, resp.Body)
		}
	}
	if got := st.balance(auth); got != "100" {
		t.Errorf("balance = %s after refused requests, want 100", got)
	}
	var out struct {
		PredictionID string `json:"prediction_id"`
	}
	decode(t, "POST /predict with a public https webhook_url", st.api("predict", request(t, "predict", "/predict",
		map[string]any{"model_id": "lr", "input_data": rows, "webhook_url": "https://hooks.example.com/x"}, auth)), http.StatusAccepted, &out)
	if p, err := st.store.Prediction(t.Context(), out.PredictionID); err != nil || p.WebhookURL != "https://hooks.example.com/x" {
		t.Errorf("stored prediction %+v, %v; want its webhook URL", p, err)
	}
	if got := st.balance(auth); got != "90" {
		t.Errorf("balance = %s after the accepted request, want 90", got)
	}
}

// verify checks a delivery's Standard Webhooks signature as a receiver
// would, with the user's secret, and returns its payload.
func verify(t *testing.T, d webhooktest.Delivery, secret string) webhookPayload {
	t.Helper()
	id := webhooktest.Verify(t, d, secret)
	var p webhookPayload
	if err := json.Unmarshal(d.Body, &p); err != nil {
		t.Fatalf("delivery body %s: %v", d.Body, err)
	}
	if id != "msg_"+p.ID {
		t.Errorf("webhook-id %q, want msg_ and the prediction id %s", id, p.ID)
	}
	return p
}

type webhookPayload struct {
	Event      string          `json:"event"`
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Error      string          `json:"error"`
	OutputData json.RawMessage `json:"output_data"`
	CSVURL     string          `json:"csv_url"`
}

// webhookView is a prediction's webhook as GET /predict/{id} shows it.
type webhookView struct {
	URL        string `json:"url"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error"`
	Delivered  bool   `json:"delivered"`
}

func (st *stack) webhook(auth *signedIn, id string) webhookView {
	st.t.Helper()
	var v struct{ Webhook *webhookView }
	decode(st.t, "GET /predict/"+id, st.api("prediction", request(st.t, "prediction", "/predict/"+id, nil, auth)), http.StatusOK, &v)
	if v.Webhook == nil {
		st.t.Fatalf("GET /predict/%s shows no webhook", id)
	}
	return *v.Webhook
}

// predictHooked requests a prediction with a webhook URL and returns its id
// and execution input.
func (st *stack) predictHooked(auth *signedIn, url string) (string, string) {
	st.t.Helper()
	var out struct {
		PredictionID string `json:"prediction_id"`
	}
	decode(st.t, "POST /predict with webhook_url", st.api("predict", request(st.t, "predict", "/predict",
		map[string]any{"model_id": "lr", "input_data": rows, "webhook_url": url}, auth)), http.StatusAccepted, &out)
	starts := st.sfn.started()
	if len(starts) == 0 || starts[len(starts)-1].Name != out.PredictionID {
		st.t.Fatalf("POST /predict started no execution named %s", out.PredictionID)
	}
	return out.PredictionID, starts[len(starts)-1].Input
}

// pass invokes the webhooks function with event and returns how many
// attempts its pass made.
func pass(t *testing.T, f *function, event any) int {
	t.Helper()
	raw := f.invoke(t, event)
	if e := asError(raw); e != nil {
		t.Fatalf("webhooks function: %s: %s", e.ErrorType, e.ErrorMessage)
	}
	var out lambdafn.WebhooksOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("webhooks function answered %s: %v", raw, err)
	}
	return out.Attempts
}

func scheduled(t *testing.T) map[string]any {
	var ev map[string]any
	sampleEvent(t, "webhooks", &ev)
	return ev
}

// TestWebhookDelivery drives the webhooks bootstrap under the emulator: a
// prediction with a webhook_url that ends is POSTed, signed with its
// user's secret, by the pass the execution's status change triggers, once;
// a failed attempt is recorded and retried only after its back-off; a
// cancel and a failure are delivered too, and a user who never asked for
// a secret gets one created by the delivery, which the API then shows.
func TestWebhookDelivery(t *testing.T) {
	st := newStack(t)
	st.fns["predict"] = st.start("predict", allowPrivate)
	hooks := st.start("webhooks", allowPrivate)
	rc := webhooktest.NewReceiver(t)
	auth := st.user("wanda", 100)
	var secret struct{ Secret string }
	decode(t, "GET /account/webhook-secret", st.api("webhooksecret", request(t, "webhooksecret", "/account/webhook-secret", nil, auth)), http.StatusOK, &secret)

	id, input := st.predictHooked(auth, rc.URL+"/hook?a=1")
	if n := pass(t, hooks, scheduled(t)); n != 0 || len(rc.Deliveries()) != 0 {
		t.Fatalf("a pass while the prediction is pending made %d attempts, %d POSTs; want none", n, len(rc.Deliveries()))
	}
	if run := st.runWorkflow(input); run.Status != "SUCCEEDED" {
		t.Fatalf("workflow: %+v", run)
	}
	if n := pass(t, hooks, executionEnded(t, id, "SUCCEEDED")); n != 1 {
		t.Fatalf("the pass of the execution's end made %d attempts, want 1", n)
	}
	got := rc.Deliveries()
	if len(got) != 1 {
		t.Fatalf("%d POSTs, want 1", len(got))
	}
	p := verify(t, got[0], secret.Secret)
	if p.Event != "prediction.completed" || p.ID != id || p.Status != "completed" || len(p.OutputData) < 10 || p.CSVURL == "" {
		t.Errorf("payload %s, want the completed prediction %s with its output and CSV URL", got[0].Body, id)
	}
	if ct := got[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if w := st.webhook(auth, id); w.Attempts != 1 || w.LastStatus != http.StatusNoContent || !w.Delivered || w.URL != rc.URL+"/hook?a=1" {
		t.Errorf("GET /predict/%s webhook = %+v, want delivered after 1 attempt (204)", id, w)
	}
	// Delivered: later passes send nothing more, whatever triggers them.
	for _, ev := range []any{scheduled(t), executionEnded(t, id, "SUCCEEDED")} {
		if n := pass(t, hooks, ev); n != 0 {
			t.Errorf("a pass after the delivery made %d attempts, want 0", n)
		}
	}

	// A 500: one attempt recorded, retried after the first back-off; a
	// pass before then sends nothing. This one is a cancel.
	rc.Answer(http.StatusInternalServerError)
	canceled, _ := st.predictHooked(auth, rc.URL+"/hook")
	decode(t, "POST /predict/{id}/cancel", st.cancel(auth, canceled), http.StatusOK, nil)
	before := time.Now()
	if n := pass(t, hooks, executionEnded(t, canceled, "ABORTED")); n != 1 {
		t.Fatalf("the pass after a cancel made %d attempts, want 1", n)
	}
	after := time.Now()
	got = rc.Deliveries()
	if len(got) != 2 {
		t.Fatalf("%d POSTs, want 2", len(got))
	}
	if p := verify(t, got[1], secret.Secret); p.Event != "prediction.canceled" || p.ID != canceled || p.Status != "canceled" {
		t.Errorf("payload %s, want the canceled prediction %s", got[1].Body, canceled)
	}
	if w := st.webhook(auth, canceled); w.Attempts != 1 || w.LastStatus != http.StatusInternalServerError || w.Delivered || w.LastError == "" {
		t.Errorf("GET /predict/%s webhook = %+v, want 1 attempt, 500, not delivered", canceled, w)
	}
	d, err := st.store.WebhookDelivery(t.Context(), canceled)
	if err != nil {
		t.Fatal(err)
	}
	backoff := mlsvc.WebhookBackoff[0]
	if d.Done || d.NextAt.Before(before.Add(backoff-time.Second)) || d.NextAt.After(after.Add(backoff+time.Second)) {
		t.Errorf("after a 500: done %v, next attempt at %s; want not done, %v after the attempt (%s)", d.Done, d.NextAt, backoff, before)
	}
	if n := pass(t, hooks, scheduled(t)); n != 0 || len(rc.Deliveries()) != 2 {
		t.Errorf("a pass before the retry is due made %d attempts, %d POSTs in all; want 0 and 2", n, len(rc.Deliveries()))
	}

	// A user who never asked for a secret: the delivery of a failure
	// creates it, and GET /account/webhook-secret shows the one that
	// signed.
	rc.Answer(http.StatusOK)
	other := st.user("xena", 100)
	failed, _ := st.predictHooked(other, rc.URL+"/other")
	if e := asError(st.fn("failure").invoke(t, executionEnded(t, failed, "TIMED_OUT"))); e != nil {
		t.Fatalf("failure function: %s: %s", e.ErrorType, e.ErrorMessage)
	}
	if n := pass(t, hooks, scheduled(t)); n != 1 {
		t.Fatalf("the pass after a failure made %d attempts, want 1", n)
	}
	got = rc.Deliveries()
	if len(got) != 3 {
		t.Fatalf("%d POSTs, want 3", len(got))
	}
	var otherSecret struct{ Secret string }
	decode(t, "GET /account/webhook-secret", st.api("webhooksecret", request(t, "webhooksecret", "/account/webhook-secret", nil, other)), http.StatusOK, &otherSecret)
	if otherSecret.Secret == secret.Secret {
		t.Fatal("two users share a webhook secret")
	}
	if p := verify(t, got[2], otherSecret.Secret); p.Event != "prediction.failed" || p.ID != failed || p.Error == "" || p.OutputData != nil && string(p.OutputData) != "null" {
		t.Errorf("payload %s, want the failed prediction %s with its reason and no output", got[2].Body, failed)
	}
	if w := st.webhook(other, failed); w.Attempts != 1 || w.LastStatus != http.StatusOK || !w.Delivered {
		t.Errorf("GET /predict/%s webhook = %+v, want delivered after 1 attempt", failed, w)
	}
}

// TestWebhookPrivateTargetRefused: without the test flag (as deployed), the
// webhooks function sends nothing to a loopback target, even one the
// prediction was accepted with: each attempt is refused before any
// connection, recorded, and retried later.
func TestWebhookPrivateTargetRefused(t *testing.T) {
	st := newStack(t)
	st.fns["predict"] = st.start("predict", allowPrivate) // accepted, as by a deployment that had the flag
	rc := webhooktest.NewReceiver(t)
	auth := st.user("yara", 100)
	port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]
	targets := map[string]string{ // id → the URL
	}
	for _, url := range []string{rc.URL + "/hook", "https://127.0.0.1:" + port + "/hook", "https://[::ffff:127.0.0.1]:" + port + "/hook"} {
		id, input := st.predictHooked(auth, url)
		if run := st.runWorkflow(input); run.Status != "SUCCEEDED" {
			t.Fatalf("workflow: %+v", run)
		}
		targets[id] = url
	}
	before := time.Now()
	if n := pass(t, st.fn("webhooks"), scheduled(t)); n != len(targets) {
		t.Errorf("the pass made %d attempts, want %d", n, len(targets))
	}
	if got := rc.Deliveries(); len(got) != 0 {
		t.Errorf("the loopback receiver got %d POSTs, want none", len(got))
	}
	for id, url := range targets {
		w := st.webhook(auth, id)
		if w.Attempts != 1 || w.LastStatus != 0 || w.Delivered || !strings.Contains(w.LastError, "webhook_url must") {
			t.Errorf("%s: webhook %+v, want 1 attempt refused (no status, the reason)", url, w)
		}
		d, err := st.store.WebhookDelivery(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Done || d.NextAt.Before(before.Add(mlsvc.WebhookBackoff[0]-time.Second)) {
			t.Errorf("%s: done %v, next at %s; want retried after the back-off", url, d.Done, d.NextAt)
		}
	}
}
