// Package mlsvc is the domain of the ML Service: users and their balances,
// priced models, and predictions with their charge and refund rules.
//
// It imports no AWS SDK and no database. Storage, blob storage and the
// prediction workflow are interfaces implemented by adapters (SQLite and
// DynamoDB stores, a local directory and S3 for blobs, an in-process runner
// and Step Functions for the workflow), chosen at start-up.
package mlsvc

import (
	"context"
	"io"
	"time"
)

// User is a registered customer. PasswordHash is never shown.
type User struct {
	ID           string
	Firstname    string
	Username     string // as registered; uniqueness is case-insensitive
	PasswordHash string
	Balance      Cents
	CreatedAt    time.Time
}

// CatalogEntry is a model as the catalog publishes it: its id, name, price
// and description, and File, the blob key of its model file. (The model
// file itself, evaluated, is a *model.Model of pkg/model; the files shipped
// with the service are in package catalog.)
type CatalogEntry struct {
	ID          string
	Name        string
	Cost        Cents
	Description string
	File        string // blob key of the model file (models/<id>.json)
	Format      string // model file format (model.Format*): "linear", "tree_ensemble", "catboost_json"
	Features    []string
	Metric      string  // quality metric name, e.g. "r2"; "" if unknown
	Score       float64 // value of Metric on held-out data
	CreatedAt   time.Time
}

// Status is the life stage of a prediction.
type Status string

// Prediction statuses: pending → completed | failed | canceled.
const (
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled" // by its owner, refunded
)

// Prediction is one paid request. Its rows, result and CSV live in blob
// storage under keys derived from its ID; the record holds a summary only.
type Prediction struct {
	ID      string
	UserID  string
	ModelID string
	Status  Status
	Cost    Cents // what was charged; refunded when it fails
	Rows    int
	// InputBytes is the size of the stored input rows, so a view can tell
	// whether to show them without reading them.
	InputBytes int64
	// RequestHash identifies the model and rows asked for, so a retry with
	// the same Idempotency-Key and other content is told apart; "" for a
	// prediction requested without a key.
	RequestHash string
	Delay       time.Duration // how long the workflow waits before inference
	Error       string        // reason, when failed
	// WebhookURL, when set, receives the prediction when it ends (webhooks.go).
	WebhookURL string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Blob keys of a prediction's input rows, result and CSV.
func InputKey(id string) string  { return "predictions/" + id + "/input.json" }
func ResultKey(id string) string { return "predictions/" + id + "/result.json" }
func CSVKey(id string) string    { return "predictions/" + id + "/result.csv" }

// Page asks for one page of a listing. Cursor is opaque; "" starts at the top.
type Page struct {
	Limit  int
	Cursor string
}

// Store keeps users, balances, models and predictions.
//
// Errors: ENotFound for an absent record (including the user of AddBalance
// and the prediction of CompletePrediction and FailPrediction); EConflict for
// a duplicate (username, id) or a prediction that is no longer pending;
// EInsufficient when a charge exceeds the balance; EInvalid for a malformed
// page cursor; EUnavailable when the backend is throttled or down. Any other
// error is an internal failure. Times keep at least millisecond precision.
type Store interface {
	// CreateUser stores u with its balance. The username is unique, compared
	// case-insensitively: a taken name is EConflict.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByUsername looks the name up case-insensitively.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// AddBalance adds amount (> 0) to the user's balance and returns the new balance.
	AddBalance(ctx context.Context, userID string, amount Cents) (Cents, error)

	// PutModel creates or replaces the model with m.ID.
	PutModel(ctx context.Context, m *CatalogEntry) error
	// CreateModel stores m only if no model has m.ID: EConflict otherwise.
	CreateModel(ctx context.Context, m *CatalogEntry) error
	Model(ctx context.Context, id string) (*CatalogEntry, error)
	// Models lists all models ordered by cost, then name.
	Models(ctx context.Context) ([]*CatalogEntry, error)

	// CreatePrediction charges p.Cost to p.UserID and stores p (pending) in one
	// atomic step: EInsufficient (nothing stored, nothing charged) when the
	// balance is below the cost, EConflict when p.ID exists.
	CreatePrediction(ctx context.Context, p *Prediction) error
	Prediction(ctx context.Context, id string) (*Prediction, error)
	// Predictions lists a user's predictions, newest first (equal times by
	// id, descending), one page of page.Size() at a time, and
	// the cursor of the next page ("" after the last, even when it is full).
	// The listing may lag a moment behind writes (DynamoDB's index).
	Predictions(ctx context.Context, userID string, page Page) ([]*Prediction, string, error)
	// CompletePrediction marks a pending prediction completed. EConflict if it
	// is not pending.
	CompletePrediction(ctx context.Context, id string, at time.Time) error
	// FailPrediction marks a pending prediction failed with reason and refunds
	// its cost to its user, atomically. EConflict if it is not pending, so the
	// refund happens exactly once.
	FailPrediction(ctx context.Context, id, reason string, at time.Time) error
	// CancelPrediction marks a pending prediction canceled and refunds its
	// cost to its user, atomically. EConflict if it is not pending: a
	// prediction ends completed, failed or canceled, and is refunded at
	// most once.
	CancelPrediction(ctx context.Context, id string, at time.Time) error

	// WebhookSecret returns the user's webhook signing secret; a user
	// without one gets candidate, stored (atomically: two first calls at
	// once return the same secret). ENotFound for an absent user.
	WebhookSecret(ctx context.Context, userID, candidate string) (string, error)
	// SetWebhookSecret replaces the user's webhook secret. ENotFound for an
	// absent user.
	SetWebhookSecret(ctx context.Context, userID, secret string) error
	// PendingPredictions lists every prediction still pending, oldest
	// first: the local runner resumes them after a restart and both
	// runtimes settle those whose workflow was lost.
	PendingPredictions(ctx context.Context) ([]*Prediction, error)

	// AccessStore keeps API keys, password changes and throttles (access.go).
	AccessStore
	// Money (ledger.go). AddBalance above appends a topup entry;
	// CreatePrediction a charge entry (amount -cost); FailPrediction a refund
	// entry; CreateUser with a positive balance a credit entry of it. Each in
	// the same atomic step as the balance change, so a user's balance always
	// equals the sum of their entries.

	// Credit adds e.Amount (> 0) to e.UserID's balance and appends e (type
	// EntryTopUp or EntryCredit; ID, CreatedAt and PaymentID given by the
	// caller, BalanceAfter filled in) in one atomic step, and returns the new
	// balance. A PaymentID already in the ledger is EConflict and changes
	// nothing: a payment credits once.
	Credit(ctx context.Context, e *LedgerEntry) (Cents, error)
	// Transactions lists a user's ledger entries, newest first (equal times
	// by id, descending), one page at a time, with the cursor of the next
	// page ("" after the last).
	Transactions(ctx context.Context, userID string, page Page) ([]*LedgerEntry, string, error)
	// Users lists every user, for the audit (a scan: never on a request path).
	Users(ctx context.Context) ([]*User, error)
}

// Blobs stores opaque objects by key.
//
// Errors: ENotFound for an absent key; EUnavailable when the backend is
// down, throttled or full. Any other error is an internal failure.
type Blobs interface {
	Put(ctx context.Context, key, contentType string, body io.Reader) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// URL returns a signed URL that lets anyone holding it download key as an
	// attachment named filename until it expires after ttl, clamped to
	// (0, MaxURLTTL]: a ttl that is not positive or too long gets MaxURLTTL.
	URL(ctx context.Context, key, filename string, ttl time.Duration) (string, error)
}

// Workflow runs a prediction asynchronously: wait p.Delay, then
// Worker.RunPrediction, and Worker.FailPrediction if that fails for good.
// Start must be safe to call twice for one prediction.
type Workflow interface {
	Start(ctx context.Context, p *Prediction) error
}
