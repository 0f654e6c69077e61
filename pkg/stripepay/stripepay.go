// Package stripepay is the Stripe adapter of mlsvc.Payments: paid top-ups
// through Stripe Checkout (github.com/stripe/stripe-go) and the signed
// webhook events that report them paid.
package stripepay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"mlsvc/pkg/mlsvc"
)

// Tolerance is how old a webhook's signed timestamp may be: older
// deliveries are refused as replays.
const Tolerance = 5 * time.Minute

// Config configures Payments.
type Config struct {
	SecretKey     string // sk_test_… or sk_live_…
	WebhookSecret string // whsec_…, of the webhook endpoint
	// APIURL is Stripe's API base URL; "" for Stripe's own (tests point it
	// at stripe-mock).
	APIURL string
	// SuccessURL and CancelURL are where Checkout sends the user back (the
	// web UI); SuccessURL may contain {CHECKOUT_SESSION_ID}. Empty: the web
	// UI at the origin the top-up was requested from (SuccessURL, CancelURL).
	SuccessURL, CancelURL string
	HTTPClient            *http.Client // default: a client with a 20 s timeout
}

// Payments is mlsvc.Payments on Stripe.
type Payments struct {
	client *stripe.Client
	cfg    Config
}

var _ mlsvc.Payments = (*Payments)(nil)

// New returns Payments for cfg. Both secrets are required.
func New(cfg Config) (*Payments, error) {
	if cfg.SecretKey == "" || cfg.WebhookSecret == "" {
		return nil, errors.New("stripepay: the Stripe secret key and webhook secret are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:    cfg.HTTPClient,
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(strings.TrimSuffix(cfg.APIURL, "/"))
	}
	backends := &stripe.Backends{
		API:         stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect:     stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads:     stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
		MeterEvents: stripe.GetBackendWithConfig(stripe.MeterEventsBackend, bc),
	}
	return &Payments{client: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends)), cfg: cfg}, nil
}

// NewSession implements mlsvc.Payments: a Checkout Session in payment mode
// for amount (cents, USD), the user's id as client_reference_id.
func (p *Payments) NewSession(ctx context.Context, userID string, amount mlsvc.Cents, origin string) (string, string, error) {
	success, cancel := p.cfg.SuccessURL, p.cfg.CancelURL
	if success == "" {
		success = SuccessURL(origin)
	}
	if cancel == "" {
		cancel = CancelURL(origin)
	}
	if !strings.HasPrefix(success, "http") || !strings.HasPrefix(cancel, "http") {
		return "", "", mlsvc.Errorf(mlsvc.EInvalid, "the request's host is not a valid address to return to after payment")
	}
	s, err := p.client.V1CheckoutSessions.Create(ctx, &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(userID),
		SuccessURL:        stripe.String(success),
		CancelURL:         stripe.String(cancel),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(string(stripe.CurrencyUSD)),
				UnitAmount:  stripe.Int64(int64(amount)),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("ML Service balance")},
			},
		}},
		Metadata: map[string]string{"user_id": userID},
	})
	if err != nil {
		return "", "", &mlsvc.Error{Code: mlsvc.EUnavailable, Message: "the payment provider is unavailable; try again later", Err: fmt.Errorf("stripepay: create checkout session: %w", err)}
	}
	if s.ID == "" || s.URL == "" {
		return "", "", fmt.Errorf("stripepay: checkout session without id or url")
	}
	return s.URL, s.ID, nil
}

// Event implements mlsvc.Payments: it verifies the Stripe-Signature header
// (HMAC-SHA256 with the webhook secret, timestamp within Tolerance) and
// reads a paid Checkout Session from checkout.session.completed (or, for
// delayed payment methods, checkout.session.async_payment_succeeded). Other
// events, and sessions not paid yet, are nil.
func (p *Payments) Event(payload []byte, signature string) (*mlsvc.Payment, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, signature, p.cfg.WebhookSecret,
		webhook.ConstructEventOptions{Tolerance: Tolerance})
	if err != nil {
		return nil, &mlsvc.Error{Code: mlsvc.EInvalid, Message: "the event's signature does not verify or the event is malformed", Err: err}
	}
	switch ev.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded:
	default:
		return nil, nil
	}
	if ev.Data == nil {
		return nil, mlsvc.Errorf(mlsvc.EInvalid, "the event has no data")
	}
	var s stripe.CheckoutSession
	if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
		return nil, &mlsvc.Error{Code: mlsvc.EInvalid, Message: "the event's session is malformed", Err: err}
	}
	if s.ID == "" {
		return nil, mlsvc.Errorf(mlsvc.EInvalid, "the event's session has no id")
	}
	if s.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid || !strings.EqualFold(string(s.Currency), string(stripe.CurrencyUSD)) {
		return nil, nil
	}
	return &mlsvc.Payment{SessionID: s.ID, UserID: s.ClientReferenceID, Amount: mlsvc.Cents(s.AmountTotal)}, nil
}

// SuccessURL and CancelURL are the web UI's pages Checkout returns to, for
// the service at baseURL (such as https://api.example.com/).
func SuccessURL(baseURL string) string {
	return strings.TrimSuffix(baseURL, "/") + "/?topup=success&session_id={CHECKOUT_SESSION_ID}"
}

func CancelURL(baseURL string) string {
	return strings.TrimSuffix(baseURL, "/") + "/?topup=canceled"
}
