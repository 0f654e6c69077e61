package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/testenv"
	"mlsvc/internal/webhooktest"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/webhook"
)

// openWebhooks opens the app with webhooks to loopback allowed and a
// clock the test moves.
func openWebhooks(t *testing.T, dir string, delay mlsvc.Delay, clock *atomic.Int64, allowPrivate bool) *testApp {
	t.Helper()
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	app, err := local.Open(context.Background(), local.Config{
		DataDir: dir, Delay: delay, Catalog: entries, Builtin: catalog.Files, BcryptCost: bcrypt.MinCost,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, WebhookAllowPrivate: allowPrivate,
	})
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, dir: dir, app: app, srv: httptest.NewServer(app.Handler())}
	t.Cleanup(ta.close)
	return ta
}

func (c *client) secret(path, method string) string {
	c.a.t.Helper()
	var out struct{ Secret string }
	if code := c.do(method, path, "", &out); code != 200 || !strings.HasPrefix(out.Secret, "whsec_") {
		c.a.t.Fatalf("%s %s: %d %q", method, path, code, out.Secret)
	}
	return out.Secret
}

type webhookView struct {
	URL        string `json:"url"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"last_status"`
	Delivered  bool   `json:"delivered"`
}

func (c *client) webhook(id string) webhookView {
	c.a.t.Helper()
	var p struct{ Webhook *webhookView }
	c.do("GET", "/predict/"+id, "", &p)
	if p.Webhook == nil {
		c.a.t.Fatalf("GET /predict/%s has no webhook", id)
	}
	return *p.Webhook
}

// TestWebhookDelivered: a completed prediction is POSTed, signed, to its
// webhook; a rotated secret signs the next one; CSV requests take the URL
// in the query; a canceled prediction sends prediction.canceled.
func TestWebhookDelivered(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	a := openWebhooks(t, t.TempDir(), mlsvc.Delay{}, &clock, true)
	rc := webhooktest.NewReceiver(t)
	ann := a.register("ann", "100")
	secret := ann.secret("/account/webhook-secret", "GET")
	if again := ann.secret("/account/webhook-secret", "GET"); again != secret {
		t.Errorf("the secret changed between two reads")
	}
	var accepted struct {
		PredictionID string `json:"prediction_id"`
	}
	body := fmt.Sprintf(`{"model_id":"lr","input_data":%s,"webhook_url":%q}`, rows, rc.URL+"/hook?a=1")
	if code := ann.do("POST", "/predict", body, &accepted); code != 202 {
		t.Fatalf("POST /predict with webhook_url: %d", code)
	}
	id := accepted.PredictionID
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return len(rc.Deliveries()) > 0 }, "no webhook delivery")
	d := rc.Deliveries()[0]
	webhooktest.Verify(t, d, secret)
	var payload map[string]any
	if err := json.Unmarshal(d.Body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["event"] != "prediction.completed" || payload["id"] != id || payload["status"] != "completed" || payload["output_data"] == nil {
		t.Errorf("payload %s: want event prediction.completed, the id, status and output", d.Body)
	}
	if _, ok := payload["input_data"]; ok {
		t.Errorf("the payload carries the input rows: %.200s", d.Body)
	}
	if ct := d.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	testenv.Eventually(t, 5*time.Second, 20*time.Millisecond, func() bool { return ann.webhook(id).Delivered }, "delivery not recorded")
	if w := ann.webhook(id); w.Attempts != 1 || w.LastStatus != 204 || w.URL != rc.URL+"/hook?a=1" {
		t.Errorf("webhook on the prediction = %+v, want one attempt, 204", w)
	}

	// Rotation: the next delivery is signed with the new secret.
	rotated := ann.secret("/account/webhook-secret/rotate", "POST")
	if rotated == secret {
		t.Fatal("rotate returned the same secret")
	}
	if got := ann.secret("/account/webhook-secret", "GET"); got != rotated {
		t.Errorf("GET after rotate = %q, want the rotated secret", got)
	}
	req, _ := http.NewRequest("POST", a.srv.URL+"/predict?model_id=lr&webhook_url="+rc.URL, strings.NewReader("feature_0,feature_1,feature_2,feature_3,feature_4\n1,2,3,4,5\n"))
	req.Header.Set("Content-Type", "text/csv")
	req.SetBasicAuth(ann.user, ann.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("CSV POST /predict with webhook_url: %v %v", resp, err)
	}
	resp.Body.Close()
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return len(rc.Deliveries()) > 1 }, "no second delivery")
	webhooktest.Verify(t, rc.Deliveries()[1], rotated)

	// Canceled.
	slow := openWebhooks(t, t.TempDir(), mlsvc.Delay{Min: time.Hour, Max: time.Hour}, &clock, true)
	bob := slow.register("bob", "100")
	body = fmt.Sprintf(`{"model_id":"lr","input_data":%s,"webhook_url":%q}`, rows, rc.URL)
	bob.do("POST", "/predict", body, &accepted)
	if code := bob.do("POST", "/predict/"+accepted.PredictionID+"/cancel", "", nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return len(rc.Deliveries()) > 2 }, "no delivery of the cancel")
	d = rc.Deliveries()[2]
	webhooktest.Verify(t, d, bob.secret("/account/webhook-secret", "GET"))
	if !strings.Contains(string(d.Body), `"event":"prediction.canceled"`) {
		t.Errorf("payload %s, want event prediction.canceled", d.Body)
	}
}

// TestWebhookRetried: a 500 is retried after the back-off, also across a
// restart (the queue is in the database).
func TestWebhookRetried(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	dir := t.TempDir()
	a := openWebhooks(t, dir, mlsvc.Delay{}, &clock, true)
	rc := webhooktest.NewReceiver(t, 500, 503)
	ann := a.register("ann", "100")
	var accepted struct {
		PredictionID string `json:"prediction_id"`
	}
	ann.do("POST", "/predict", fmt.Sprintf(`{"model_id":"lr","input_data":%s,"webhook_url":%q}`, rows, rc.URL), &accepted)
	id := accepted.PredictionID
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return ann.webhook(id).Attempts == 1 }, "no first attempt")
	if w := ann.webhook(id); w.LastStatus != 500 || w.Delivered {
		t.Errorf("after a 500: %+v", w)
	}
	time.Sleep(1500 * time.Millisecond) // the deliverer polls every second: not due yet
	if n := len(rc.Deliveries()); n != 1 {
		t.Fatalf("%d attempts before the back-off ended, want 1", n)
	}
	clock.Add(int64(mlsvc.WebhookBackoff[0] + time.Second))
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return ann.webhook(id).Attempts == 2 }, "no second attempt")

	// Restart while the third attempt waits.
	a.close()
	clock.Add(int64(mlsvc.WebhookBackoff[1] + time.Second))
	b := openWebhooks(t, dir, mlsvc.Delay{}, &clock, true)
	ann.a = b
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return ann.webhook(id).Delivered }, "not delivered after the restart")
	if w := ann.webhook(id); w.Attempts != 3 || w.LastStatus != 204 {
		t.Errorf("after a restart: %+v, want delivered at the third attempt", w)
	}
	ds := rc.Deliveries()
	if len(ds) != 3 || ds[0].Header.Get("webhook-id") != ds[2].Header.Get("webhook-id") {
		t.Errorf("%d deliveries; want 3 with one webhook-id", len(ds))
	}
}

// TestWebhookURLRefused: without the test setting, URLs that are not
// https or point to non-public addresses are refused at request time.
func TestWebhookURLRefused(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	a := openWebhooks(t, t.TempDir(), mlsvc.Delay{}, &clock, false)
	ann := a.register("ann", "100")
	for _, u := range []string{
		"http://hooks.example.com/", "https://127.0.0.1/", "https://10.0.0.1/", "https://169.254.169.254/latest/meta-data",
		"https://localhost:8080/", "https://u:p@example.com/", "https://[::1]/", "https://example.com/" + strings.Repeat("x", 2100), "",
	} {
		var e struct{ Detail string }
		code := ann.do("POST", "/predict", fmt.Sprintf(`{"model_id":"lr","input_data":%s,"webhook_url":%q}`, rows, u), &e)
		if code != 400 || !strings.Contains(e.Detail, "webhook_url") {
			t.Errorf("webhook_url %.60q: %d %q, want 400 naming webhook_url", u, code, e.Detail)
		}
	}
	if got := ann.balance(); got != "100" {
		t.Errorf("balance after refused requests = %s, want 100", got)
	}
}

// TestWebhookClientRefusesPrivate: at send time the client refuses to
// connect to loopback, private and link-local addresses, also through a
// name that resolves to one, and follows no redirect.
func TestWebhookClientRefusesPrivate(t *testing.T) {
	rc := webhooktest.NewReceiver(t)
	port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]
	client := webhook.Client(false)
	for _, u := range []string{
		rc.URL, "http://localhost:" + port + "/", "http://[::1]:" + port + "/",
		"http://10.0.0.1:9/", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1:9/",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader("{}"))
		resp, err := client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, webhook.ErrForbiddenAddress) {
			t.Errorf("POST %s: %v, want refused as not public", u, err)
		}
	}
	if n := len(rc.Deliveries()); n != 0 {
		t.Errorf("the loopback receiver got %d requests", n)
	}

	// Redirects are not followed (the test setting allows loopback).
	target := webhooktest.NewReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	resp, err := webhook.Client(true).Post(redirect.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || len(target.Deliveries()) != 0 {
		t.Errorf("redirect: status %d, target hit %d times; want 307 and no request to the target", resp.StatusCode, len(target.Deliveries()))
	}
}
