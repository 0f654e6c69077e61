package mlsvc

import (
	"context"
	"strings"
	"time"
)

// EntryType is what kind of balance change a ledger entry records.
type EntryType string

// Ledger entry types.
const (
	EntryTopUp  EntryType = "topup"  // self-service or paid (Stripe) top-up
	EntryCharge EntryType = "charge" // a prediction's cost, negative
	EntryRefund EntryType = "refund" // a failed or canceled prediction's cost back
	EntryCredit EntryType = "credit" // an operator's credit (mlsvc credit) or an opening balance
)

// LedgerEntry is one immutable balance change. The balance of a user is the
// sum of the amounts of their entries; BalanceAfter is the balance right
// after this entry was applied.
type LedgerEntry struct {
	ID           string
	UserID       string
	Type         EntryType
	Amount       Cents // signed: a charge is negative
	BalanceAfter Cents
	PredictionID string // charge and refund
	PaymentID    string // a paid top-up: the payment (Stripe Checkout Session) id, unique in the ledger
	CreatedAt    time.Time
}

// Top-up modes (MLSVC_TOPUP locally, the TopUpMode parameter on AWS).
const (
	TopUpOpen     = "open"     // POST /account/topup credits at once (the default)
	TopUpStripe   = "stripe"   // POST /account/topup starts a Stripe Checkout Session
	TopUpOperator = "operator" // POST /account/topup is refused; operators credit
)

// ParseTopUpMode checks a top-up mode; "" is TopUpOpen.
func ParseTopUpMode(s string) (string, error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return TopUpOpen, nil
	case TopUpOpen, TopUpStripe, TopUpOperator:
		return s, nil
	}
	return "", Errorf(EInvalid, "top-up mode %q is not open, stripe or operator", s)
}

// Transactions returns one page of the user's ledger, newest first, with
// the cursor of the next page.
func (s *Service) Transactions(ctx context.Context, userID string, page Page) ([]*LedgerEntry, string, error) {
	return s.store.Transactions(ctx, userID, page)
}

// Credit is an operator's credit of amount to the user named username: a
// ledger entry of type credit. It returns the new balance.
func (s *Service) Credit(ctx context.Context, username string, amount Cents) (*User, Cents, error) {
	if amount <= 0 || amount > MaxTopUp {
		return nil, 0, Errorf(EInvalid, "amount must be between 0.01 and %s", MaxTopUp)
	}
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil {
		return nil, 0, err
	}
	bal, err := s.store.Credit(ctx, &LedgerEntry{
		ID: s.newID(), UserID: u.ID, Type: EntryCredit, Amount: amount, CreatedAt: s.now().UTC(),
	})
	if err != nil {
		return nil, 0, err
	}
	s.log.InfoContext(ctx, "balance credited by an operator", "user_id", u.ID, "amount", amount.String(), "balance", bal.String())
	return u, bal, nil
}

// CreditPayment credits a completed payment (a Stripe Checkout Session) to
// the user, exactly once per paymentID: a payment already credited is not an
// error and changes nothing (credited is false).
func (s *Service) CreditPayment(ctx context.Context, userID, paymentID string, amount Cents) (credited bool, err error) {
	if paymentID == "" {
		return false, Errorf(EInvalid, "payment id is required")
	}
	if amount <= 0 {
		return false, Errorf(EInvalid, "payment amount must be positive")
	}
	bal, err := s.store.Credit(ctx, &LedgerEntry{
		ID: s.newID(), UserID: userID, Type: EntryTopUp, Amount: amount, PaymentID: paymentID, CreatedAt: s.now().UTC(),
	})
	if ErrorCode(err) == EConflict {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.log.InfoContext(ctx, "payment credited", "user_id", userID, "payment_id", paymentID, "amount", amount.String(), "balance", bal.String())
	return true, nil
}

// TopUpMode is how users add money: TopUpOpen, TopUpStripe or TopUpOperator.
func (s *Service) TopUpMode() string { return s.topUpMode }

// selfTopUp refuses a self-service top-up that is not the mode's.
func (s *Service) selfTopUp(want string) error {
	switch {
	case s.topUpMode == want:
		return nil
	case s.topUpMode == TopUpOperator:
		return Errorf(EForbidden, "top-ups are made by an operator in this service; ask for a credit")
	case s.topUpMode == TopUpStripe:
		return Errorf(EForbidden, "top-ups are paid through Stripe Checkout in this service")
	}
	return Errorf(EForbidden, "top-ups are credited at once in this service, not paid through Stripe")
}

// Payments is a payment provider (Stripe in stripe mode): it starts
// payments and reads its signed notifications of their outcome.
type Payments interface {
	// NewSession starts the payment of amount by the user and returns the
	// page where they pay and the session's id; the provider sends the user
	// back to the web UI at origin (such as https://api.example.com) unless
	// configured otherwise. EUnavailable when the provider cannot be reached.
	NewSession(ctx context.Context, userID string, amount Cents, origin string) (url, sessionID string, err error)
	// Event verifies a notification's signature and reads it: a completed
	// payment, or nil for an event that credits nothing. EInvalid for a
	// bad, stale or missing signature or a malformed event.
	Event(payload []byte, signature string) (*Payment, error)
}

// Payment is a completed payment of Amount by UserID, identified by
// SessionID.
type Payment struct {
	SessionID string
	UserID    string
	Amount    Cents
}

// StartTopUp starts a paid top-up of amount (stripe mode): the user pays on
// the returned page, and the provider's webhook credits the balance
// (CreditPayment) once the payment completes.
func (s *Service) StartTopUp(ctx context.Context, userID string, amount Cents, origin string) (url, sessionID string, err error) {
	if err := s.selfTopUp(TopUpStripe); err != nil {
		return "", "", err
	}
	if amount <= 0 || amount > MaxTopUp {
		return "", "", Errorf(EInvalid, "amount must be between 0.01 and %s", MaxTopUp)
	}
	if s.payments == nil {
		return "", "", Errorf(EUnavailable, "payments are not configured")
	}
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return "", "", err
	}
	url, sessionID, err = s.payments.NewSession(ctx, userID, amount, origin)
	if err != nil {
		return "", "", err
	}
	s.log.InfoContext(ctx, "checkout started", "user_id", userID, "session_id", sessionID, "amount", amount.String())
	return url, sessionID, nil
}

// PaymentNotice handles a payment provider's signed notification (the
// Stripe webhook): a completed payment is credited to its user exactly
// once, however often it is delivered. It reports whether this delivery
// credited the balance. EInvalid for a notification that does not verify.
func (s *Service) PaymentNotice(ctx context.Context, payload []byte, signature string) (credited bool, err error) {
	if s.payments == nil {
		return false, Errorf(ENotFound, "payments are not configured")
	}
	p, err := s.payments.Event(payload, signature)
	if err != nil || p == nil {
		return false, err
	}
	// What was paid is credited, even past MaxTopUp (which bounds what a
	// user may ask for, not what Stripe collected).
	if p.UserID == "" || p.Amount <= 0 {
		s.log.WarnContext(ctx, "payment not credited: no user or no amount", "session_id", p.SessionID, "user_id", p.UserID, "amount", p.Amount.String())
		return false, nil
	}
	return s.CreditPayment(ctx, p.UserID, p.SessionID, p.Amount)
}
