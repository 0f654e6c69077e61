package local_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"
	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/stripemock"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stripepay"
)

// openMode opens the app in a top-up mode, with payments (stripe mode).
func openMode(t *testing.T, mode string, payments mlsvc.Payments) *testApp {
	t.Helper()
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	app, err := local.Open(context.Background(), local.Config{
		DataDir: t.TempDir(), Delay: mlsvc.Delay{Min: time.Hour, Max: time.Hour}, Catalog: entries, Builtin: catalog.Files,
		BcryptCost: bcrypt.MinCost, TopUpMode: mode, Payments: payments,
	})
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, app: app, srv: httptest.NewServer(app.Handler())}
	t.Cleanup(ta.close)
	return ta
}

type entryJSON struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Amount       json.Number `json:"amount"`
	BalanceAfter json.Number `json:"balance_after"`
	PredictionID *string     `json:"prediction_id"`
	PaymentID    *string     `json:"payment_id"`
	CreatedAt    time.Time   `json:"created_at"`
}

func (c *client) transactions(query string) ([]entryJSON, string) {
	c.a.t.Helper()
	req, _ := http.NewRequest("GET", c.a.srv.URL+"/account/transactions"+query, nil)
	req.SetBasicAuth(c.user, c.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.a.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		c.a.t.Fatalf("GET /account/transactions%s: %d", query, resp.StatusCode)
	}
	var es []entryJSON
	if err := json.NewDecoder(resp.Body).Decode(&es); err != nil {
		c.a.t.Fatal(err)
	}
	return es, resp.Header.Get("X-Next-Cursor")
}

func (c *client) me() (id, mode string) {
	c.a.t.Helper()
	var me struct {
		UserID    string `json:"user_id"`
		TopUpMode string `json:"topup_mode"`
	}
	if code := c.do("GET", "/users/me", "", &me); code != 200 {
		c.a.t.Fatalf("GET /users/me: %d", code)
	}
	return me.UserID, me.TopUpMode
}

// TestTransactions: the ledger through the API, newest first, paged.
func TestTransactions(t *testing.T) {
	a := openMode(t, "", nil)
	c := a.register("tina", "50")
	if _, mode := c.me(); mode != "open" {
		t.Errorf("topup_mode = %q, want open", mode)
	}
	code, id := c.predict("lr", rows) // costs 10
	if code != 202 {
		t.Fatalf("predict: %d", code)
	}
	es, next := c.transactions("")
	if len(es) != 2 || next != "" {
		t.Fatalf("transactions: %+v, cursor %q; want 2 entries, no cursor", es, next)
	}
	charge, topup := es[0], es[1]
	if charge.Type != "charge" || charge.Amount != "-10" || charge.BalanceAfter != "40" || charge.PredictionID == nil || *charge.PredictionID != id || charge.PaymentID != nil {
		t.Errorf("newest entry %+v, want the charge of -10 for %s leaving 40", charge, id)
	}
	if topup.Type != "topup" || topup.Amount != "50" || topup.BalanceAfter != "50" || topup.PredictionID != nil {
		t.Errorf("oldest entry %+v, want the top-up of 50", topup)
	}
	page1, cur := c.transactions("?limit=1")
	if len(page1) != 1 || page1[0].ID != charge.ID || cur == "" {
		t.Fatalf("first page of 1: %+v, cursor %q", page1, cur)
	}
	page2, cur2 := c.transactions("?limit=1&cursor=" + cur)
	if len(page2) != 1 || page2[0].ID != topup.ID || cur2 != "" {
		t.Errorf("second page of 1: %+v, cursor %q", page2, cur2)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?limit=1001", "?cursor=garbage!"} {
		if code := c.do("GET", "/account/transactions"+q, "", nil); code != 400 {
			t.Errorf("GET /account/transactions%s: %d, want 400", q, code)
		}
	}
	// Another user's cursor shows nothing of this one's.
	d := a.register("uma", "5")
	if es, _ := d.transactions("?cursor=" + cur); len(es) != 0 {
		t.Errorf("uma with tina's cursor sees %+v", es)
	}
	anon := &client{a: a}
	if code := anon.do("GET", "/account/transactions", "", nil); code != 401 {
		t.Errorf("anonymous: %d, want 401", code)
	}
	a.audit()
}

// TestOperatorMode: self-service top-up is refused; an operator's credit
// is a ledger entry of type credit.
func TestOperatorMode(t *testing.T) {
	a := openMode(t, mlsvc.TopUpOperator, nil)
	c := a.register("victor", "")
	if code := c.do("POST", "/account/topup", `{"amount":10}`, nil); code != 403 {
		t.Errorf("top-up in operator mode: %d, want 403", code)
	}
	if code := c.do("POST", "/account/topup", `not json`, nil); code != 403 {
		t.Errorf("malformed top-up in operator mode: %d, want 403", code)
	}
	if _, mode := c.me(); mode != "operator" {
		t.Errorf("topup_mode = %q, want operator", mode)
	}
	if _, bal, err := a.app.Service.Credit(context.Background(), "Victor", 7_50); err != nil || bal != 7_50 {
		t.Fatalf("Credit = %s, %v", bal, err)
	}
	es, _ := c.transactions("")
	if len(es) != 1 || es[0].Type != "credit" || es[0].Amount != "7.5" || es[0].BalanceAfter != "7.5" {
		t.Errorf("entries %+v, want one credit of 7.5", es)
	}
	if got := c.balance(); got != "7.5" {
		t.Errorf("balance %s, want 7.5", got)
	}
	a.audit()
}

const webhookSecret = "whsec_test_mlsvc"

// signed returns a Stripe-Signature header for payload at time at.
func signed(payload []byte, secret string, at time.Time) string {
	ts := fmt.Sprint(at.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(payload)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// sessionEvent is a Stripe event about a Checkout Session, with stripe-go's
// API version.
func sessionEvent(eventType, sessionID, userID string, amount int64, status string) []byte {
	ev := map[string]any{
		"id": "evt_" + sessionID, "object": "event", "type": eventType, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "livemode": false,
		"data": map[string]any{"object": map[string]any{
			"id": sessionID, "object": "checkout.session", "client_reference_id": userID,
			"amount_total": amount, "currency": "usd", "payment_status": status, "status": "complete", "mode": "payment",
		}},
	}
	b, _ := json.Marshal(ev)
	return b
}

func postWebhook(t *testing.T, a *testApp, payload []byte, signature string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.srv.URL+"/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func stripeTestPayments(t *testing.T, apiURL string) *stripepay.Payments {
	t.Helper()
	p, err := stripepay.New(stripepay.Config{
		SecretKey: "sk_test_mlsvc", WebhookSecret: webhookSecret, APIURL: apiURL,
		SuccessURL: stripepay.SuccessURL("http://127.0.0.1:8000"), CancelURL: stripepay.CancelURL("http://127.0.0.1:8000"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStripeWebhook: a completed Checkout Session credits its user exactly
// once however many times, and however concurrently, it is delivered; bad,
// stale and tampered signatures are 400s that credit nothing.
func TestStripeWebhook(t *testing.T) {
	// The webhook does not call Stripe: no API needed.
	a := openMode(t, mlsvc.TopUpStripe, stripeTestPayments(t, "http://127.0.0.1:1"))
	c := a.register("wanda", "")
	userID, mode := c.me()
	if mode != "stripe" {
		t.Errorf("topup_mode = %q, want stripe", mode)
	}
	payload := sessionEvent("checkout.session.completed", "cs_test_once", userID, 25_00, "paid")
	now := time.Now()

	for name, sig := range map[string]string{
		"stale":      signed(payload, webhookSecret, now.Add(-6*time.Minute)),
		"wrong key":  signed(payload, "whsec_other", now),
		"missing":    "",
		"garbage":    "t=abc,v1=zz",
		"no v1 part": "t=" + fmt.Sprint(now.Unix()),
	} {
		if code, body := postWebhook(t, a, payload, sig); code != 400 || !strings.Contains(body, "detail") {
			t.Errorf("%s signature: %d %s, want 400 with a detail", name, code, body)
		}
	}
	tampered := bytes.Replace(payload, []byte(`"amount_total":2500`), []byte(`"amount_total":999999`), 1)
	if bytes.Equal(tampered, payload) {
		t.Fatal("tampering did not change the payload")
	}
	if code, _ := postWebhook(t, a, tampered, signed(payload, webhookSecret, now)); code != 400 {
		t.Errorf("tampered payload: %d, want 400", code)
	}
	if got := c.balance(); got != "0" {
		t.Fatalf("balance %s after refused events, want 0", got)
	}

	// Ten concurrent deliveries of one event, then one more later.
	const deliveries = 10
	codes := make([]int, deliveries)
	var wg sync.WaitGroup
	for i := range deliveries {
		wg.Go(func() { codes[i], _ = postWebhook(t, a, payload, signed(payload, webhookSecret, now)) })
	}
	wg.Wait()
	for i, code := range codes {
		if code != 200 {
			t.Errorf("delivery %d: %d, want 200", i, code)
		}
	}
	if code, body := postWebhook(t, a, payload, signed(payload, webhookSecret, time.Now())); code != 200 || !strings.Contains(body, `"credited":false`) {
		t.Errorf("redelivery: %d %s, want 200 and not credited", code, body)
	}
	if got := c.balance(); got != "25" {
		t.Errorf("balance %s after %d deliveries, want 25 (credited once)", got, deliveries+1)
	}
	es, _ := c.transactions("")
	if len(es) != 1 || es[0].Type != "topup" || es[0].PaymentID == nil || *es[0].PaymentID != "cs_test_once" || es[0].Amount != "25" {
		t.Errorf("entries %+v, want one top-up of 25 with payment cs_test_once", es)
	}

	// Events that credit nothing: other types, unpaid sessions.
	for _, p := range [][]byte{
		sessionEvent("checkout.session.expired", "cs_test_exp", userID, 5_00, "unpaid"),
		sessionEvent("checkout.session.completed", "cs_test_unpaid", userID, 5_00, "unpaid"),
		sessionEvent("checkout.session.completed", "cs_test_nouser", "", 5_00, "paid"),
	} {
		if code, body := postWebhook(t, a, p, signed(p, webhookSecret, time.Now())); code != 200 || !strings.Contains(body, `"credited":false`) {
			t.Errorf("event %s: %d %s, want 200, not credited", p, code, body)
		}
	}
	// A delayed payment that succeeds later credits then.
	p := sessionEvent("checkout.session.async_payment_succeeded", "cs_test_unpaid", userID, 5_00, "paid")
	if code, body := postWebhook(t, a, p, signed(p, webhookSecret, time.Now())); code != 200 || !strings.Contains(body, `"credited":true`) {
		t.Errorf("async payment succeeded: %d %s", code, body)
	}
	if got := c.balance(); got != "30" {
		t.Errorf("balance %s, want 30", got)
	}
	// Self-service top-up is not open in stripe mode without Stripe: the
	// session request fails cleanly (the API is unreachable here).
	if code := c.do("POST", "/account/topup", `{"amount":10}`, nil); code != 503 {
		t.Errorf("top-up with Stripe unreachable: %d, want 503", code)
	}
	a.audit()
}

// TestStripeCheckout: POST /account/topup creates a Checkout Session on
// stripe-mock and returns its URL and id.
func TestStripeCheckout(t *testing.T) {
	a := openMode(t, mlsvc.TopUpStripe, stripeTestPayments(t, stripemock.Start(t)))
	c := a.register("xena", "")
	var out struct {
		CheckoutURL string `json:"checkout_url"`
		SessionID   string `json:"session_id"`
	}
	if code := c.do("POST", "/account/topup", `{"amount":12.5}`, &out); code != 200 {
		t.Fatalf("top-up: %d", code)
	}
	if !strings.HasPrefix(out.CheckoutURL, "https://") || !strings.HasPrefix(out.SessionID, "cs_") {
		t.Errorf("top-up answered %+v, want a checkout URL and a cs_ session id", out)
	}
	for _, body := range []string{`{"amount":0}`, `{"amount":"x"}`, `{}`, `{"amount":1.001}`} {
		if code := c.do("POST", "/account/topup", body, nil); code != 400 {
			t.Errorf("top-up %s: %d, want 400", body, code)
		}
	}
	if got := c.balance(); got != "0" {
		t.Errorf("balance %s before any payment, want 0", got)
	}
}
