package mlsvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"mlsvc/pkg/rowio"
)

// Input is the body of a prediction request: rows as JSON (an object or an
// array of objects).
type Input = json.RawMessage

// PredictionRequest says who asks for a prediction of which model.
type PredictionRequest struct {
	UserID  string
	ModelID string
	// IdempotencyKey, when set, makes a retry of the same request (same
	// user, key, model and rows) return the first prediction instead of
	// charging again; the same key with another model or other rows is
	// EMismatch.
	IdempotencyKey string
	// WebhookURL, optional, receives the prediction when it ends.
	WebhookURL string
}

// RequestPrediction validates the rows, charges the model's price and starts
// the workflow. The charge and the prediction are one atomic step; the rows
// are stored after it, so a refused request leaves nothing behind; if they
// cannot be stored or the workflow cannot start, the prediction fails and
// the charge is refunded. replayed reports a repeated idempotent request
// answered with the prediction it created the first time.
func (s *Service) RequestPrediction(ctx context.Context, req PredictionRequest, input Input) (p *Prediction, replayed bool, err error) {
	return s.request(ctx, req, func(features []string) (*rowio.Rows, []byte, error) {
		rows, err := rowio.ParseJSON(input, features, MaxRows)
		if err != nil {
			return nil, nil, inputError(err, input)
		}
		return rows, input, nil
	})
}

// RequestPredictionCSV is RequestPrediction for rows given as CSV with a
// header. They are kept as JSON: feature columns as numbers, other columns
// as strings.
func (s *Service) RequestPredictionCSV(ctx context.Context, req PredictionRequest, csv io.Reader) (p *Prediction, replayed bool, err error) {
	return s.request(ctx, req, func(features []string) (*rowio.Rows, []byte, error) {
		rows, err := rowio.ParseCSV(csv, features, MaxRows)
		if err != nil {
			return nil, nil, csvError(err)
		}
		input, err := rowsJSON(rows)
		return rows, input, err
	})
}

// parseFunc parses a request's rows for a model's features, returning them
// and the input to store.
type parseFunc func(features []string) (*rowio.Rows, []byte, error)

// request is RequestPrediction's steps, cheapest first: the model, a
// replay of the same idempotent request, the balance, and only then the
// rows, the charge, the stored input and the workflow.
func (s *Service) request(ctx context.Context, req PredictionRequest, parse parseFunc) (*Prediction, bool, error) {
	if req.WebhookURL != "" {
		if err := ValidateWebhookURL(req.WebhookURL, s.webhookAllowPrivate); err != nil {
			return nil, false, err
		}
	}
	m, err := s.publishedModel(ctx, req.ModelID)
	if err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	p := &Prediction{
		ID: s.newID(), UserID: req.UserID, ModelID: m.ID, Status: StatusPending,
		Cost: m.Cost, Delay: s.delay(), WebhookURL: req.WebhookURL, CreatedAt: now, UpdatedAt: now,
	}
	var first *Prediction
	if req.IdempotencyKey != "" {
		p.ID = idempotentID(req)
		if first, err = s.earlier(ctx, p); err != nil {
			return nil, false, err
		}
	}
	if first == nil {
		// Refuse a request the balance cannot pay before parsing it: a
		// user who cannot pay cannot make the service work.
		if err := s.affordable(ctx, req.UserID, m); err != nil {
			return nil, false, err
		}
	}
	rows, input, err := parse(m.Features)
	if err != nil {
		return nil, false, err
	}
	p.Rows, p.InputBytes = rows.N, int64(len(input))
	if req.IdempotencyKey != "" {
		// What a retry with the same key is compared by (replay); without
		// a key no retry can find this prediction.
		canonical, err := rowsJSON(rows)
		if err != nil {
			return nil, false, err
		}
		p.RequestHash = requestHash(m.ID, canonical)
	}
	if first != nil {
		return s.replay(ctx, first, p, input)
	}
	// A store that keeps small inputs stores this one with the charge
	// (inputs.go): then no blob is written.
	inline := inlineInputs(s.store, len(input))
	if err := s.createPrediction(ctx, inline, p, input); err != nil {
		if req.IdempotencyKey != "" && ErrorCode(err) == EConflict {
			// A concurrent retry won: its charge is the only one.
			if first, rerr := s.earlier(ctx, p); first != nil || rerr != nil {
				if rerr != nil {
					return nil, false, rerr
				}
				return s.replay(ctx, first, p, input)
			}
		}
		if p, err = s.chargeOutcome(ctx, p, m, err); err != nil {
			return nil, false, err
		}
	}
	s.log.InfoContext(ctx, "prediction requested", "prediction_id", p.ID, "user_id", p.UserID,
		"model_id", m.ID, "rows", p.Rows, "cost", p.Cost.String(), "delay", p.Delay.String())
	s.metrics.PredictionCreated(ctx, p.ModelID, p.Cost)
	if err := s.storeInputAndStart(ctx, p, input, inline != nil); err != nil {
		return nil, false, err
	}
	return p, false, nil
}

// chargeOutcome maps a failed charge to the error to answer, or, when the
// outcome is unknown (a timeout, say) and the charge was in fact committed,
// returns the stored prediction, which must then run, not be lost.
func (s *Service) chargeOutcome(ctx context.Context, p *Prediction, m *CatalogEntry, err error) (*Prediction, error) {
	switch ErrorCode(err) {
	case EInsufficient:
		return nil, Errorf(EInsufficient, "insufficient balance: %s costs %s", m.Name, m.Cost)
	case EConflict, ENotFound, EInvalid:
		return nil, err
	}
	stored, serr := s.store.Prediction(context.WithoutCancel(ctx), p.ID)
	if serr != nil || stored.UserID != p.UserID {
		return nil, err
	}
	s.log.WarnContext(ctx, "charge committed despite an error", "prediction_id", p.ID, "err", err)
	return stored, nil
}

// affordable reports EInsufficient when the user's balance is below the
// model's cost. The charge itself checks again, atomically.
func (s *Service) affordable(ctx context.Context, userID string, m *CatalogEntry) error {
	// The record the request's authentication read will do (memo.go); it
	// may be a second old (usercache.go), so a refusal reads again.
	u := remembered(ctx, userID)
	if u == nil || u.Balance < m.Cost {
		var err error
		if u, err = s.store.UserByID(ctx, userID); err != nil {
			return err
		}
	}
	if u.Balance < m.Cost {
		return Errorf(EInsufficient, "insufficient balance: %s costs %s, the balance is %s", m.Name, m.Cost, u.Balance)
	}
	return nil
}

// createPrediction is Store.CreatePrediction, with the input when inline
// is the store that keeps it.
func (s *Service) createPrediction(ctx context.Context, inline InputStore, p *Prediction, input []byte) error {
	if inline != nil {
		return inline.CreatePredictionWithInput(ctx, p, input)
	}
	return s.store.CreatePrediction(ctx, p)
}

// storeInputAndStart stores a charged prediction's rows, unless stored says
// the store has them already, and starts its workflow; if either fails, the
// prediction fails and its charge is refunded. An idempotent retry racing
// the first request writes the same rows.
func (s *Service) storeInputAndStart(ctx context.Context, p *Prediction, input []byte, stored bool) error {
	var err error
	if !stored {
		err = s.blobs.Put(ctx, InputKey(p.ID), "application/json", bytes.NewReader(input))
	}
	if err == nil {
		err = s.workflow.Start(ctx, p)
	}
	if err == nil {
		return nil
	}
	s.log.ErrorContext(ctx, "prediction could not be started", "prediction_id", p.ID, "err", err)
	if ferr := failPrediction(context.WithoutCancel(ctx), s.store, s.now, s.log, s.metrics, s.finished, p.ID, ReasonNotStarted); ferr != nil {
		return fmt.Errorf("start prediction: %w; refund: %w", err, ferr)
	}
	return &Error{Code: EUnavailable, Message: ReasonNotStarted, Err: err}
}

// earlier returns the prediction an idempotent request with p's id created
// before, or nil if there is none.
func (s *Service) earlier(ctx context.Context, p *Prediction) (*Prediction, error) {
	first, err := s.store.Prediction(ctx, p.ID)
	switch {
	case ErrorCode(err) == ENotFound:
		return nil, nil
	case err != nil:
		return nil, err
	case first.UserID != p.UserID:
		return nil, Errorf(EConflict, "idempotency key clash; use another key")
	}
	return first, nil
}

// replay answers a repeated idempotent request p with the first
// prediction, or EMismatch when p asks for something else. A first
// prediction that is still pending has its rows stored and its workflow
// started again (harmless if it runs), in case the first request stopped
// between its charge and the start.
func (s *Service) replay(ctx context.Context, first, p *Prediction, input []byte) (*Prediction, bool, error) {
	switch {
	case first.ModelID != p.ModelID:
		return nil, false, Errorf(EMismatch, "Idempotency-Key was used before with model %q, not %q: use a new key for a new request", first.ModelID, p.ModelID)
	case first.RequestHash != "" && first.RequestHash != p.RequestHash:
		return nil, false, Errorf(EMismatch, "Idempotency-Key was used before with other input_data: use a new key for a new request")
	}
	if first.Status == StatusPending {
		// Rows kept with the charge (inputs.go) are there already.
		stored := false
		if is, ok := s.store.(InputStore); ok {
			_, err := is.PredictionInput(ctx, first.ID)
			stored = err == nil
		}
		if err := s.storeInputAndStart(ctx, first, input, stored); err != nil {
			return nil, false, err
		}
	}
	return first, true, nil
}

// idempotentID derives a prediction id (a version 8 UUID) from the user and
// the key, so a retry finds the first prediction before any work.
func idempotentID(req PredictionRequest) string {
	h := sha256.New()
	for _, part := range []string{req.UserID, req.IdempotencyKey} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	b := h.Sum(nil)
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// requestHash identifies what a prediction request asked for: the model and
// the rows as parsed (so whitespace and key order do not matter).
func requestHash(modelID string, canonicalRows []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s", len(modelID), modelID)
	h.Write(canonicalRows)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Service) publishedModel(ctx context.Context, modelID string) (*CatalogEntry, error) {
	if modelID == "" {
		return nil, Errorf(EInvalid, "model_id is required")
	}
	m, err := s.models.model(ctx, s.store, modelID)
	if ErrorCode(err) == ENotFound {
		return nil, Errorf(ENotFound, "model %q not found", modelID)
	}
	return m, err
}

// rowsJSON writes parsed rows as a JSON array of objects: features as
// numbers, other columns as given (strings for CSV). It is the stored form
// of CSV input and, for any input, the canonical form an idempotent retry
// is compared by (key order and whitespace do not matter).
func rowsJSON(rows *rowio.Rows) ([]byte, error) {
	b, err := rows.AppendJSON(nil, MaxStoredInput)
	if errors.Is(err, rowio.ErrTooLarge) {
		return nil, &Error{Code: ETooLarge, Message: fmt.Sprintf("input_data as JSON would exceed %d bytes", MaxStoredInput), Err: err}
	}
	return b, err
}

// inputError turns a row parsing error into an EInvalid or ETooLarge error
// that names the row and field as a path into the request:
// input_data[3].feature_2, or input_data.feature_2 for a single object.
func inputError(err error, input []byte) error {
	if errors.Is(err, rowio.ErrTooManyRows) {
		return &Error{Code: ETooLarge, Message: fmt.Sprintf("input_data has more than %d rows", MaxRows), Err: err}
	}
	var re *rowio.RowError
	if !errors.As(err, &re) {
		return &Error{Code: EInvalid, Message: "input_data: " + err.Error(), Err: err}
	}
	path := fmt.Sprintf("input_data[%d]", re.Row)
	if t := bytes.TrimLeft(input, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		path = "input_data"
	}
	if re.Field != "" {
		path += "." + re.Field
	}
	return &Error{Code: EInvalid, Message: path + ": " + re.Reason, Err: err}
}

// csvError turns a CSV parsing error into an EInvalid or ETooLarge error
// naming the CSV row (1-based, after the header) and column.
func csvError(err error) error {
	var re *rowio.RowError
	switch {
	case errors.Is(err, rowio.ErrTooManyRows):
		return inputError(err, nil)
	case errors.As(err, &re) && re.Field != "":
		return &Error{Code: EInvalid, Message: fmt.Sprintf("CSV row %d, column %q: %s", re.Row+1, re.Field, re.Reason), Err: err}
	case errors.As(err, &re):
		return &Error{Code: EInvalid, Message: fmt.Sprintf("CSV row %d: %s", re.Row+1, re.Reason), Err: err}
	}
	return &Error{Code: EInvalid, Message: "CSV: " + err.Error(), Err: err}
}
