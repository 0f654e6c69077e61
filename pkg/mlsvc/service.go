package mlsvc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/pkg/model"
	"mlsvc/pkg/rowio"
)

// Limits of the API, stated in the README.
const (
	MaxRows      = 10_000           // rows in one prediction
	MaxBodyBytes = 6_000_000        // request body: 6 MB, under Lambda's 6 MiB event limit with room for the event around it
	URLTTL       = 10 * time.Minute // lifetime of a download URL
	// MaxInlineInput is the largest input returned with a prediction, so the
	// response stays under Lambda's 6 MB; larger ones are in the CSV.
	MaxInlineInput = 4 * 1024 * 1024
)

// Config wires a Service. Store, Blobs and Workflow are required.
type Config struct {
	Store    Store
	Blobs    Blobs
	Workflow Workflow
	// Builtin holds model files shipped with the binary (lr.json, …), used when
	// a model's file is not in Blobs. Optional.
	Builtin fs.FS
	// Delay picks how long a new prediction waits before inference. Default 0.
	Delay func() time.Duration
	// Now and NewID are injectable for tests. Defaults: time.Now, random UUIDs.
	Now   func() time.Time
	NewID func() string
	// BcryptCost is the password hashing cost. Default bcrypt.DefaultCost.
	BcryptCost int
	Logger     *slog.Logger
}

// Service implements the product's rules over a Store, Blobs and a Workflow.
type Service struct {
	store    Store
	blobs    Blobs
	workflow Workflow
	builtin  fs.FS
	delay    func() time.Duration
	now      func() time.Time
	newID    func() string
	cost     int
	log      *slog.Logger

	mu     sync.Mutex
	models map[string]*model.Model // parsed model files by blob key and version
	dummy  []byte                  // hash compared when a user does not exist
}

// New returns a Service for cfg.
func New(cfg Config) *Service {
	s := &Service{
		store: cfg.Store, blobs: cfg.Blobs, workflow: cfg.Workflow, builtin: cfg.Builtin,
		delay: cfg.Delay, now: cfg.Now, newID: cfg.NewID, cost: cfg.BcryptCost, log: cfg.Logger,
		models: map[string]*model.Model{},
	}
	if s.delay == nil {
		s.delay = func() time.Duration { return 0 }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = NewID
	}
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// NewID returns a random RFC 4122 version 4 UUID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Register creates a user with a zero balance.
func (s *Service) Register(ctx context.Context, firstname, username, password string) (*User, error) {
	firstname = strings.TrimSpace(firstname)
	switch n := utf8.RuneCountInString(firstname); {
	case n == 0:
		return nil, Errorf(EInvalid, "firstname is required")
	case n > 100:
		return nil, Errorf(EInvalid, "firstname must be at most 100 characters")
	}
	if err := validUsername(username); err != nil {
		return nil, err
	}
	switch {
	case utf8.RuneCountInString(password) < 8:
		return nil, Errorf(EInvalid, "password must be at least 8 characters")
	case len(password) > 72:
		return nil, Errorf(EInvalid, "password must be at most 72 bytes")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u := &User{
		ID: s.newID(), Firstname: firstname, Username: username,
		PasswordHash: string(hash), CreatedAt: s.now().UTC(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if ErrorCode(err) == EConflict {
			return nil, Errorf(EConflict, "username %q is already taken", username)
		}
		return nil, err
	}
	s.log.InfoContext(ctx, "user registered", "user_id", u.ID)
	return u, nil
}

func validUsername(name string) error {
	if len(name) < 3 || len(name) > 64 {
		return Errorf(EInvalid, "username must be 3 to 64 characters")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)
		if !ok {
			return Errorf(EInvalid, "username may contain only letters, digits and . _ - @")
		}
	}
	return nil
}

// Authenticate returns the user whose username and password match, or
// EUnauthorized. It costs one slow hash either way.
func (s *Service) Authenticate(ctx context.Context, username, password string) (*User, error) {
	bad := Errorf(EUnauthorized, "invalid username or password")
	u, err := s.store.UserByUsername(ctx, username)
	if ErrorCode(err) == ENotFound {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, bad
	}
	return u, nil
}

func (s *Service) dummyHash() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dummy == nil {
		s.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), s.cost)
	}
	return s.dummy
}

// User returns the user with id.
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	return s.store.UserByID(ctx, id)
}

// TopUp adds amount to the user's balance and returns the new balance.
func (s *Service) TopUp(ctx context.Context, userID string, amount Cents) (Cents, error) {
	if amount <= 0 || amount > MaxTopUp {
		return 0, Errorf(EInvalid, "amount must be between 0.01 and %s", MaxTopUp)
	}
	bal, err := s.store.AddBalance(ctx, userID, amount)
	if err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "balance topped up", "user_id", userID, "amount", amount.String(), "balance", bal.String())
	return bal, nil
}

// Models lists the published models.
func (s *Service) Models(ctx context.Context) ([]*Model, error) { return s.store.Models(ctx) }

// Seed publishes each catalog model whose ID is not in the store yet, so a
// model's price or description changed later is not overwritten.
func (s *Service) Seed(ctx context.Context, catalog []*Model) error {
	for _, m := range catalog {
		_, err := s.store.Model(ctx, m.ID)
		if err == nil {
			continue
		}
		if ErrorCode(err) != ENotFound {
			return err
		}
		if m.CreatedAt.IsZero() {
			c := *m
			c.CreatedAt = s.now().UTC()
			m = &c
		}
		if err := s.store.PutModel(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// PublishModel validates a model file, stores it and publishes it under id
// with a name, a price and a description. An existing id is replaced.
func (s *Service) PublishModel(ctx context.Context, id, name string, cost Cents, description string, file []byte) (*Model, error) {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/\\ ") {
		return nil, Errorf(EInvalid, "model id must be 1 to 64 characters without spaces or slashes")
	}
	if strings.TrimSpace(name) == "" {
		return nil, Errorf(EInvalid, "model name is required")
	}
	if cost <= 0 {
		return nil, Errorf(EInvalid, "model cost must be positive")
	}
	pm, err := model.Parse(file)
	if err != nil {
		return nil, &Error{Code: EInvalid, Message: "model file: " + err.Error()}
	}
	m := Describe(pm)
	m.ID, m.Name, m.Cost, m.Description = id, name, cost, description
	m.File = "models/" + id + ".json"
	m.CreatedAt = s.now().UTC()
	if err := s.blobs.Put(ctx, m.File, "application/json", bytes.NewReader(file)); err != nil {
		return nil, fmt.Errorf("store model file: %w", err)
	}
	if err := s.store.PutModel(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Describe returns the catalog fields a model file determines: format,
// features and quality.
func Describe(pm *model.Model) *Model {
	info := pm.Info()
	m := &Model{Name: info.Name, Format: info.Format, Features: pm.Features()}
	if info.Quality != nil {
		m.Metric, m.Score = info.Quality.Metric, info.Quality.Value
	}
	return m
}

// Input is the body of a prediction request: rows as JSON (an object or an
// array of objects).
type Input = json.RawMessage

// PredictionRequest says who asks for a prediction of which model.
type PredictionRequest struct {
	UserID  string
	ModelID string
	// IdempotencyKey, when set, makes a retry of the same request (same
	// user, key, model and rows) return the first prediction instead of
	// charging again.
	IdempotencyKey string
}

// RequestPrediction validates the rows, charges the model's price and starts
// the workflow. The charge and the prediction are one atomic step; if the
// workflow cannot start, the prediction fails and the charge is refunded.
// replayed reports a repeated idempotent request answered with the
// prediction it created the first time.
func (s *Service) RequestPrediction(ctx context.Context, req PredictionRequest, input Input) (p *Prediction, replayed bool, err error) {
	m, err := s.publishedModel(ctx, req.ModelID)
	if err != nil {
		return nil, false, err
	}
	rows, err := rowio.ParseJSON(input, m.Features, MaxRows)
	if err != nil {
		return nil, false, inputError(err, input)
	}
	return s.request(ctx, req, m, rows, input)
}

// RequestPredictionCSV is RequestPrediction for rows given as CSV with a
// header. They are kept as JSON: feature columns as numbers, other columns
// as strings.
func (s *Service) RequestPredictionCSV(ctx context.Context, req PredictionRequest, csv io.Reader) (p *Prediction, replayed bool, err error) {
	m, err := s.publishedModel(ctx, req.ModelID)
	if err != nil {
		return nil, false, err
	}
	rows, err := rowio.ParseCSV(csv, m.Features, MaxRows)
	if err != nil {
		var re *rowio.RowError
		switch {
		case errors.Is(err, rowio.ErrTooManyRows):
			return nil, false, inputError(err, nil)
		case errors.As(err, &re) && re.Field != "":
			return nil, false, &Error{Code: EInvalid, Message: fmt.Sprintf("CSV row %d, column %q: %s", re.Row+1, re.Field, re.Reason), Err: err}
		case errors.As(err, &re):
			return nil, false, &Error{Code: EInvalid, Message: fmt.Sprintf("CSV row %d: %s", re.Row+1, re.Reason), Err: err}
		default:
			return nil, false, &Error{Code: EInvalid, Message: "CSV: " + err.Error(), Err: err}
		}
	}
	input, err := rowsJSON(rows)
	if err != nil {
		return nil, false, err
	}
	return s.request(ctx, req, m, rows, input)
}

// rowsJSON writes parsed rows as a JSON array of objects.
func rowsJSON(rows *rowio.Rows) ([]byte, error) {
	isFeature := map[string]int{}
	for k, f := range rows.Features {
		isFeature[f] = k
	}
	objects := make([]map[string]any, rows.N)
	nf := len(rows.Features)
	for i := range objects {
		obj := make(map[string]any, len(rows.Columns))
		for j, col := range rows.Columns {
			if k, ok := isFeature[col]; ok {
				obj[col] = rows.X[i*nf+k]
			} else {
				obj[col] = rows.Cells[i][j]
			}
		}
		objects[i] = obj
	}
	return json.Marshal(objects)
}

func (s *Service) publishedModel(ctx context.Context, modelID string) (*Model, error) {
	if modelID == "" {
		return nil, Errorf(EInvalid, "model_id is required")
	}
	m, err := s.store.Model(ctx, modelID)
	if ErrorCode(err) == ENotFound {
		return nil, Errorf(ENotFound, "model %q not found", modelID)
	}
	return m, err
}

// request stores the validated rows, charges for them and starts the workflow.
func (s *Service) request(ctx context.Context, req PredictionRequest, m *Model, rows *rowio.Rows, input []byte) (*Prediction, bool, error) {
	now := s.now().UTC()
	p := &Prediction{
		ID: s.newID(), UserID: req.UserID, ModelID: m.ID, Status: StatusPending,
		Cost: m.Cost, Rows: rows.N, Delay: s.delay(), CreatedAt: now, UpdatedAt: now,
	}
	if req.IdempotencyKey != "" {
		canonical, err := rowsJSON(rows)
		if err != nil {
			return nil, false, err
		}
		p.ID = idempotentID(req, canonical)
		if first, err := s.replay(ctx, p); first != nil || err != nil {
			return first, first != nil, err
		}
	}
	// Input first: a charged prediction always has its rows. An idempotent
	// retry racing the first request writes the same rows.
	if err := s.blobs.Put(ctx, InputKey(p.ID), "application/json", bytes.NewReader(input)); err != nil {
		return nil, false, fmt.Errorf("store input: %w", err)
	}
	if _, err := s.store.CreatePrediction(ctx, p); err != nil {
		if req.IdempotencyKey != "" {
			// A concurrent retry may have won: its charge is the only one.
			if first, rerr := s.replay(ctx, p); first != nil || rerr != nil {
				return first, first != nil, rerr
			}
		}
		switch ErrorCode(err) {
		case EInsufficient:
			return nil, false, Errorf(EInsufficient, "insufficient balance: %s costs %s", m.Name, m.Cost)
		case EConflict, ENotFound, EInvalid:
			return nil, false, err
		}
		// The outcome is unknown (a timeout, say): the charge may have been
		// committed. If it was, the prediction must run, not be lost.
		stored, serr := s.store.Prediction(context.WithoutCancel(ctx), p.ID)
		if serr != nil || stored.UserID != p.UserID {
			return nil, false, err
		}
		s.log.WarnContext(ctx, "charge committed despite an error", "prediction_id", p.ID, "err", err)
		p = stored
	}
	s.log.InfoContext(ctx, "prediction requested", "prediction_id", p.ID, "user_id", p.UserID,
		"model_id", m.ID, "rows", p.Rows, "cost", p.Cost.String(), "delay", p.Delay.String())
	if err := s.start(ctx, p); err != nil {
		return nil, false, err
	}
	return p, false, nil
}

// start starts the workflow of a pending prediction; if it cannot, the
// prediction fails and its charge is refunded.
func (s *Service) start(ctx context.Context, p *Prediction) error {
	err := s.workflow.Start(ctx, p)
	if err == nil {
		return nil
	}
	s.log.ErrorContext(ctx, "workflow start failed", "prediction_id", p.ID, "err", err)
	if ferr := s.FailPrediction(context.WithoutCancel(ctx), p.ID, "the prediction could not be started"); ferr != nil {
		return fmt.Errorf("start workflow: %w; refund: %w", err, ferr)
	}
	return &Error{Code: EUnavailable, Message: "the prediction could not be started; the charge was refunded", Err: err}
}

// replay returns the prediction an idempotent request created before, or
// nil if there is none. A replayed prediction that is still pending has its
// workflow started again (harmless if it runs), in case the first request
// stopped between its charge and the start.
func (s *Service) replay(ctx context.Context, p *Prediction) (*Prediction, error) {
	first, err := s.store.Prediction(ctx, p.ID)
	switch {
	case ErrorCode(err) == ENotFound:
		return nil, nil
	case err != nil:
		return nil, err
	case first.UserID != p.UserID:
		return nil, Errorf(EConflict, "idempotency key clash; use another key")
	case first.Status == StatusPending:
		if err := s.start(ctx, first); err != nil {
			return nil, err
		}
	}
	return first, nil
}

// idempotentID derives a prediction id (a version 8 UUID) from the user,
// the key, the model and the rows (as parsed, so whitespace and key order
// do not matter), so that only the same request replays: the same key with
// other rows is a new prediction.
func idempotentID(req PredictionRequest, input []byte) string {
	h := sha256.New()
	for _, part := range []string{req.UserID, req.IdempotencyKey, req.ModelID} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	h.Write(input)
	b := h.Sum(nil)
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
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

// PermanentError marks an inference failure that retrying cannot fix: the
// workflow fails the prediction at once.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return e.Reason }

// RunPrediction is the inference step: it reads the rows, runs the model,
// writes the result JSON and CSV and marks the prediction completed. It is
// idempotent: a prediction that is no longer pending is left as it is. A
// *PermanentError means the prediction cannot succeed; other errors are
// worth a retry.
func (s *Service) RunPrediction(ctx context.Context, id string) error {
	p, err := s.store.Prediction(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return &PermanentError{Reason: "prediction not found"}
		}
		return err
	}
	if p.Status != StatusPending {
		return nil
	}
	m, err := s.store.Model(ctx, p.ModelID)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return &PermanentError{Reason: fmt.Sprintf("model %q is no longer published", p.ModelID)}
		}
		return err
	}
	pm, err := s.loadModel(ctx, m)
	if err != nil {
		return err
	}
	input, err := s.readBlob(ctx, InputKey(id))
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return &PermanentError{Reason: "the input rows are missing"}
		}
		return err
	}
	rows, err := rowio.ParseJSON(input, pm.Features(), MaxRows)
	if err != nil {
		return &PermanentError{Reason: "input_data: " + err.Error()}
	}
	preds := rowio.Predict(pm, rows)
	result, err := json.Marshal(Output{Predictions: preds, Quality: quality(m)})
	if err != nil {
		return &PermanentError{Reason: "the model produced values that are not finite numbers"}
	}
	var csv bytes.Buffer
	if err := rowio.WriteCSV(&csv, rows, preds); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := s.blobs.Put(ctx, CSVKey(id), "text/csv", &csv); err != nil {
		return fmt.Errorf("store csv: %w", err)
	}
	if err := s.blobs.Put(ctx, ResultKey(id), "application/json", bytes.NewReader(result)); err != nil {
		return fmt.Errorf("store result: %w", err)
	}
	if err := s.store.CompletePrediction(ctx, id, s.now().UTC()); err != nil {
		if ErrorCode(err) == EConflict {
			return nil // finished meanwhile by another attempt
		}
		return err
	}
	s.log.InfoContext(ctx, "prediction completed", "prediction_id", id, "rows", len(preds))
	return nil
}

// FailPrediction marks a pending prediction failed and refunds its charge,
// exactly once: it does nothing to a prediction that is already final.
func (s *Service) FailPrediction(ctx context.Context, id, reason string) error {
	err := s.store.FailPrediction(ctx, id, reason, s.now().UTC())
	if ErrorCode(err) == EConflict {
		return nil
	}
	if err != nil {
		return err
	}
	s.log.WarnContext(ctx, "prediction failed and refunded", "prediction_id", id, "reason", reason)
	return nil
}

// Output is a completed prediction's result.
type Output struct {
	Predictions []float64 `json:"predictions"`
	Quality     *Quality  `json:"quality,omitempty"`
}

// Quality is a model's held-out quality metric.
type Quality struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
}

func quality(m *Model) *Quality {
	if m.Metric == "" {
		return nil
	}
	return &Quality{Metric: m.Metric, Value: m.Score}
}

// View is a prediction as its owner sees it.
type View struct {
	*Prediction
	Input json.RawMessage // the rows as submitted; nil when InputOmitted
	// InputOmitted says the rows are larger than MaxInlineInput (the CSV
	// has them) or no longer kept.
	InputOmitted bool
	// FilesExpired says the rows and results are no longer kept.
	FilesExpired bool
	Output       *Output // once completed
	CSVURL       string  // once completed
}

// Prediction returns the user's prediction with its input, and once
// completed its output and a download URL. Someone else's is ENotFound.
func (s *Service) Prediction(ctx context.Context, userID, id string) (*View, error) {
	p, err := s.own(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	v := &View{Prediction: p}
	// Files may be gone (the bucket expires them): the record still shows.
	v.Input, err = s.readBlob(ctx, InputKey(id))
	switch {
	case ErrorCode(err) == ENotFound:
		v.Input, v.InputOmitted, v.FilesExpired = nil, true, true
	case err != nil:
		return nil, fmt.Errorf("read input: %w", err)
	case len(v.Input) > MaxInlineInput:
		v.Input, v.InputOmitted = nil, true
	}
	if p.Status != StatusCompleted {
		return v, nil
	}
	raw, err := s.readBlob(ctx, ResultKey(id))
	if ErrorCode(err) == ENotFound {
		v.FilesExpired = true
		return v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	v.Output = new(Output)
	if err := json.Unmarshal(raw, v.Output); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	if v.CSVURL, err = s.downloadURL(ctx, p); err != nil {
		return nil, err
	}
	return v, nil
}

// DownloadURL returns a short-lived URL of a completed prediction's CSV.
// EConflict while it is not completed.
func (s *Service) DownloadURL(ctx context.Context, userID, id string) (string, error) {
	p, err := s.own(ctx, userID, id)
	if err != nil {
		return "", err
	}
	switch p.Status {
	case StatusPending:
		return "", Errorf(EConflict, "prediction %s is still pending", id)
	case StatusFailed:
		return "", Errorf(EConflict, "prediction %s failed: %s", id, p.Error)
	}
	return s.downloadURL(ctx, p)
}

func (s *Service) downloadURL(ctx context.Context, p *Prediction) (string, error) {
	u, err := s.blobs.URL(ctx, CSVKey(p.ID), "prediction-"+p.ID+".csv", URLTTL)
	if err != nil {
		return "", fmt.Errorf("sign download url: %w", err)
	}
	return u, nil
}

// Predictions lists the user's predictions, newest first.
func (s *Service) Predictions(ctx context.Context, userID string, page Page) ([]*Prediction, string, error) {
	if page.Limit <= 0 || page.Limit > 1000 {
		page.Limit = 1000
	}
	return s.store.Predictions(ctx, userID, page)
}

func (s *Service) own(ctx context.Context, userID, id string) (*Prediction, error) {
	p, err := s.store.Prediction(ctx, id)
	if ErrorCode(err) == ENotFound || err == nil && p.UserID != userID {
		return nil, Errorf(ENotFound, "prediction %s not found", id)
	}
	return p, err
}

func (s *Service) readBlob(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// loadModel returns the parsed model file of m, from a cache, Blobs, or the
// built-in files. A file that does not parse is a permanent failure.
func (s *Service) loadModel(ctx context.Context, m *Model) (*model.Model, error) {
	cacheKey := m.File + "@" + m.CreatedAt.Format(time.RFC3339Nano)
	s.mu.Lock()
	pm := s.models[cacheKey]
	s.mu.Unlock()
	if pm != nil {
		return pm, nil
	}
	data, err := s.readBlob(ctx, m.File)
	if ErrorCode(err) == ENotFound && s.builtin != nil {
		data, err = fs.ReadFile(s.builtin, path.Base(m.File))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &PermanentError{Reason: fmt.Sprintf("the file of model %q is missing", m.ID)}
		}
	}
	if ErrorCode(err) == ENotFound {
		return nil, &PermanentError{Reason: fmt.Sprintf("the file of model %q is missing", m.ID)}
	}
	if err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	if pm, err = model.Parse(data); err != nil {
		return nil, &PermanentError{Reason: fmt.Sprintf("model %q cannot be loaded: %v", m.ID, err)}
	}
	s.mu.Lock()
	s.models[cacheKey] = pm
	s.mu.Unlock()
	return pm, nil
}

// StaleAfter is how long past its wait a prediction may stay pending before
// SettleStale fails it: longer than any run of the workflow with all its
// retries (three inference attempts of up to 15 minutes each, and backoff).
const StaleAfter = 2 * time.Hour

// SettleStale fails and refunds every prediction still pending StaleAfter
// past its wait: one whose workflow was lost (its failure step could not
// run, say). A late inference then finds it final and changes nothing.
// It needs a store that can list pending predictions, and returns how many
// it settled.
func (s *Service) SettleStale(ctx context.Context) (int, error) {
	lister, ok := s.store.(PendingLister)
	if !ok {
		return 0, errors.New("settle stale predictions: the store cannot list pending predictions")
	}
	pending, err := lister.PendingPredictions(ctx)
	if err != nil {
		return 0, err
	}
	now, settled := s.now(), 0
	for _, p := range pending {
		if now.Before(p.CreatedAt.Add(p.Delay + StaleAfter)) {
			continue
		}
		if err := s.FailPrediction(ctx, p.ID, "the prediction did not finish in time; the charge was refunded"); err != nil {
			return settled, err
		}
		settled++
	}
	return settled, nil
}
