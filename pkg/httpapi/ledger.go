package httpapi

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"mlsvc/pkg/mlsvc"
)

type entryResponse struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Amount       mlsvc.Cents `json:"amount"`
	BalanceAfter mlsvc.Cents `json:"balance_after"`
	PredictionID *string     `json:"prediction_id"` // null unless a charge or refund
	PaymentID    *string     `json:"payment_id"`    // null unless a paid top-up
	CreatedAt    time.Time   `json:"created_at"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// transactions is GET /account/transactions?limit=&cursor=: the caller's
// ledger, newest first, paged like GET /predictions (X-Next-Cursor), in the
// same steps as predictions (predictions.go), through pageOf and writePage.
func (a *API) transactions(w http.ResponseWriter, r *http.Request, userID string) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	es, next, err := a.svc.Transactions(r.Context(), userID, page)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, es, next, func(e *mlsvc.LedgerEntry) entryResponse {
		return entryResponse{
			ID: e.ID, Type: string(e.Type), Amount: e.Amount, BalanceAfter: e.BalanceAfter,
			PredictionID: optional(e.PredictionID), PaymentID: optional(e.PaymentID), CreatedAt: e.CreatedAt,
		}
	})
	return nil
}

// startCheckout is POST /account/topup in stripe mode: a Checkout Session
// the web UI sends the user to.
func (a *API) startCheckout(w http.ResponseWriter, r *http.Request, userID string, amount mlsvc.Cents) error {
	url, id, err := a.svc.StartTopUp(r.Context(), userID, amount, origin(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"checkout_url": url, "session_id": id})
	return nil
}

// hostPattern is a host name or address with an optional port.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// origin is the scheme and host the request was sent to, where the web UI
// is served too: Stripe Checkout sends the user back there. Behind API
// Gateway the scheme comes from X-Forwarded-Proto.
func origin(r *http.Request) string {
	if !hostPattern.MatchString(r.Host) {
		return ""
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// maxWebhookBytes bounds a Stripe event; real ones are a few kilobytes.
const maxWebhookBytes = 256 << 10

// stripeWebhook is POST /webhooks/stripe: Stripe's signed events. A
// completed Checkout Session credits its user once, however often Stripe
// delivers it; a bad or stale signature is a 400 and credits nothing.
func (a *API) stripeWebhook(w http.ResponseWriter, r *http.Request, _ string) error {
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBytes+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr) || len(payload) > maxWebhookBytes:
		return mlsvc.Errorf(mlsvc.ETooLarge, "the event is larger than %d bytes", maxWebhookBytes)
	case err != nil:
		return mlsvc.Errorf(mlsvc.EInvalid, "could not read the event")
	}
	// Behind API Gateway the Lambda adapter splits header values at commas,
	// and Stripe-Signature is "t=…,v1=…": joined back, it is the header as
	// sent (net/http keeps it one value).
	signature := strings.Join(r.Header.Values("Stripe-Signature"), ",")
	credited, err := a.svc.PaymentNotice(r.Context(), payload, signature)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"received": true, "credited": credited})
	return nil
}
