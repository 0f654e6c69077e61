package awstest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v82"

	"mlsvc/internal/stripemock"
	"mlsvc/pkg/mlsvc"
)

// Stripe's secrets as the fake Parameter Store holds them.
const (
	stripeKeyParam     = "/mlsvc-e2e/stripe/secret-key"
	stripeWebhookParam = "/mlsvc-e2e/stripe/webhook-secret"
	stripeWebhookKey   = "whsec_test_mlsvc_aws"
)

// fakeSSM is a Systems Manager endpoint (JSON 1.1 protocol) that answers
// AmazonSSM.GetParameter from a fixed set of SecureString parameters and
// records the names asked for.
type fakeSSM struct {
	url    string
	params map[string]string

	mu    sync.Mutex
	asked map[string]int
}

func newFakeSSM(t *testing.T, params map[string]string) *fakeSSM {
	f := &fakeSSM{params: params, asked: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if target := r.Header.Get("X-Amz-Target"); target != "AmazonSSM.GetParameter" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"InvalidAction","message":"fake ssm: unexpected %s"}`, target)
			return
		}
		var in struct {
			Name           string
			WithDecryption bool
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ValidationException","message":%q}`, err.Error())
			return
		}
		f.mu.Lock()
		f.asked[in.Name]++
		f.mu.Unlock()
		value, ok := f.params[in.Name]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ParameterNotFound","message":"fake ssm: no parameter %s"}`, in.Name)
			return
		}
		if !in.WithDecryption {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"ValidationException","message":"fake ssm: SecureString read without WithDecryption"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": "SecureString", "Value": value, "Version": 1,
			"ARN": "arn:aws:ssm:" + region + ":123456789012:parameter" + in.Name,
		}})
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// counts returns how many times each parameter was asked for.
func (f *fakeSSM) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.asked)
}

// stripeSigned returns a Stripe-Signature header for payload at time at.
func stripeSigned(payload []byte, secret string, at time.Time) string {
	ts := fmt.Sprint(at.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(payload)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// checkoutEvent is a Stripe event about a Checkout Session, with stripe-go's
// API version.
func checkoutEvent(t *testing.T, eventType, sessionID, userID string, amount int64, status string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": "evt_" + sessionID, "object": "event", "type": eventType, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "livemode": false,
		"data": map[string]any{"object": map[string]any{
			"id": sessionID, "object": "checkout.session", "client_reference_id": userID,
			"amount_total": amount, "currency": "usd", "payment_status": status, "status": "complete", "mode": "payment",
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webhookEvent is the API Gateway event of Stripe POSTing payload with
// signature to /webhooks/stripe.
func webhookEvent(t *testing.T, payload []byte, signature string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	ev := request(t, "stripewebhook", "/webhooks/stripe", nil, nil)
	ev.Body = string(payload)
	ev.IsBase64Encoded = false
	delete(ev.Headers, "stripe-signature")
	if signature != "" {
		ev.Headers["stripe-signature"] = signature
	}
	return ev
}

// deliver invokes one stripewebhook instance and returns the response.
func deliver(t *testing.T, f *function, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	raw := f.invoke(t, ev)
	if e := asError(raw); e != nil {
		t.Errorf("stripewebhook: handler error %s: %s", e.ErrorType, e.ErrorMessage)
		return events.APIGatewayV2HTTPResponse{}
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Errorf("stripewebhook: response %s: %v", raw, err)
	}
	return resp
}

// TestStripeTopUp drives the stripe top-up mode on AWS: the topup and
// stripewebhook bootstraps read Stripe's secrets from Parameter Store once
// per cold start; topup creates a Checkout Session on stripe-mock; a signed
// checkout.session.completed event credits its user exactly once however
// many times and however concurrently it is delivered (to several warm
// instances); stale and tampered events are 400s that credit nothing.
func TestStripeTopUp(t *testing.T) {
	st := newStack(t)
	stripeURL := stripemock.Start(t)
	ssm := newFakeSSM(t, map[string]string{stripeKeyParam: "sk_test_mlsvc", stripeWebhookParam: stripeWebhookKey})
	st.env = append(st.env,
		"MLSVC_TOPUP=stripe",
		"STRIPE_SECRET_KEY_PARAM="+stripeKeyParam,
		"STRIPE_WEBHOOK_SECRET_PARAM="+stripeWebhookParam,
		"MLSVC_STRIPE_API_URL="+stripeURL,
		"AWS_ENDPOINT_URL_SSM="+ssm.url)

	auth := st.user("stripey", 0)
	var me struct {
		Balance   json.Number `json:"balance"`
		TopUpMode string      `json:"topup_mode"`
	}
	decode(t, "GET /users/me", st.api("me", request(t, "me", "/users/me", nil, auth)), http.StatusOK, &me)
	if me.TopUpMode != "stripe" || me.Balance.String() != "0" {
		t.Errorf("GET /users/me = %+v, want topup_mode stripe and balance 0", me)
	}

	// POST /account/topup: a Checkout Session, no credit yet.
	var session struct {
		CheckoutURL string `json:"checkout_url"`
		SessionID   string `json:"session_id"`
	}
	decode(t, "POST /account/topup", st.api("topup", request(t, "topup", "/account/topup", map[string]any{"amount": 12.5}, auth)), http.StatusOK, &session)
	if !strings.HasPrefix(session.CheckoutURL, "https://") || !strings.HasPrefix(session.SessionID, "cs_") {
		t.Errorf("POST /account/topup = %+v, want a checkout URL and a cs_ session id", session)
	}
	for _, body := range []string{`{"amount":0}`, `{"amount":"x"}`, `{}`, `{"amount":1.001}`} {
		ev := request(t, "topup", "/account/topup", nil, auth)
		ev.Body = body
		if resp := st.api("topup", ev); resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "detail") {
			t.Errorf("POST /account/topup %s: %d %s, want 400 with a detail", body, resp.StatusCode, resp.Body)
		}
	}
	if got := st.balance(auth); got != "0" {
		t.Errorf("balance %s after a Checkout Session and no payment, want 0", got)
	}

	// Several cold-started instances of the webhook, as Lambda scales out
	// under concurrent deliveries.
	const instances = 4
	hooks := make([]*function, instances)
	for i := range hooks {
		hooks[i] = st.start("stripewebhook")
	}

	payload := checkoutEvent(t, "checkout.session.completed", "cs_test_aws_once", auth.userID, 12_50, "paid")
	now := time.Now()
	tampered := bytes.Replace(payload, []byte(`"amount_total":1250`), []byte(`"amount_total":999999`), 1)
	if bytes.Equal(tampered, payload) {
		t.Fatal("tampering did not change the payload")
	}
	for name, ev := range map[string]events.APIGatewayV2HTTPRequest{
		"stale signature":  webhookEvent(t, payload, stripeSigned(payload, stripeWebhookKey, now.Add(-6*time.Minute))),
		"tampered payload": webhookEvent(t, tampered, stripeSigned(payload, stripeWebhookKey, now)),
		"wrong key":        webhookEvent(t, payload, stripeSigned(payload, "whsec_other", now)),
		"no signature":     webhookEvent(t, payload, ""),
	} {
		if resp := deliver(t, hooks[0], ev); resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "detail") {
			t.Errorf("%s: %d %s, want 400 with a detail", name, resp.StatusCode, resp.Body)
		}
	}
	if got := st.balance(auth); got != "0" {
		t.Fatalf("balance %s after refused events, want 0", got)
	}

	// Five deliveries of the event: one to each instance at once, then one
	// more later.
	type result struct {
		Received bool `json:"received"`
		Credited bool `json:"credited"`
	}
	results := make([]result, instances+1)
	var wg sync.WaitGroup
	for i, f := range hooks {
		wg.Go(func() {
			resp := deliver(t, f, webhookEvent(t, payload, stripeSigned(payload, stripeWebhookKey, now)))
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &results[i]) != nil {
				t.Errorf("delivery %d: %d %s, want 200", i, resp.StatusCode, resp.Body)
			}
		})
	}
	wg.Wait()
	later := deliver(t, hooks[1], webhookEvent(t, payload, stripeSigned(payload, stripeWebhookKey, time.Now())))
	if later.StatusCode != http.StatusOK || json.Unmarshal([]byte(later.Body), &results[instances]) != nil {
		t.Errorf("redelivery: %d %s, want 200", later.StatusCode, later.Body)
	}
	credits := 0
	for i, r := range results {
		if !r.Received {
			t.Errorf("delivery %d: %+v, want received", i, r)
		}
		if r.Credited {
			credits++
		}
	}
	if credits != 1 {
		t.Errorf("%d of %d deliveries credited, want exactly 1: %+v", credits, len(results), results)
	}
	if results[instances].Credited {
		t.Error("the later redelivery credited again")
	}
	if got := st.balance(auth); got != "12.5" {
		t.Errorf("balance %s after %d deliveries, want 12.5 (credited once)", got, len(results))
	}

	// The ledger, through the transactions bootstrap: one top-up with the
	// session as its payment.
	var entries []struct {
		Type         string      `json:"type"`
		Amount       json.Number `json:"amount"`
		BalanceAfter json.Number `json:"balance_after"`
		PaymentID    *string     `json:"payment_id"`
	}
	decode(t, "GET /account/transactions", st.api("transactions", request(t, "transactions", "/account/transactions", nil, auth)), http.StatusOK, &entries)
	if len(entries) != 1 || entries[0].Type != "topup" || entries[0].PaymentID == nil ||
		*entries[0].PaymentID != "cs_test_aws_once" || entries[0].Amount.String() != "12.5" || entries[0].BalanceAfter.String() != "12.5" {
		t.Errorf("ledger %+v, want one top-up of 12.5 with payment cs_test_aws_once", entries)
	}

	// Parameter Store was asked for each secret once per cold start (topup
	// once, each webhook instance once), however many invocations followed;
	// no other function asked.
	want := map[string]int{stripeKeyParam: 1 + instances, stripeWebhookParam: 1 + instances}
	if got := ssm.counts(); !maps.Equal(got, want) {
		t.Errorf("GetParameter calls %v, want %v (once per cold start of topup and stripewebhook)", got, want)
	}

	ms, err := mlsvc.Audit(context.Background(), st.store)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	for _, m := range ms {
		t.Errorf("Audit: %s", m)
	}
}
