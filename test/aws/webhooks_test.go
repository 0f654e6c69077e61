package awstest

import (
	"net/http"
	"strings"
	"testing"
)

// TestWebhookSecret drives the webhook secret bootstraps: created on first
// use, kept, rotated; and a webhook_url is refused (403) on AWS, where
// deliveries are not made yet, before any charge. It opens as
// TestPreferWait does, with a stack and a funded user.
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

	resp := st.api("predict", request(t, "predict", "/predict", map[string]any{"model_id": "lr", "input_data": rows, "webhook_url": "https://hooks.example.com/x"}, auth))
	decode(t, "POST /predict with webhook_url on AWS", resp, http.StatusForbidden, nil)
	if got := st.balance(auth); got != "100" {
		t.Errorf("balance = %s after a refused request, want 100", got)
	}
}
