package mlsvc

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// Config wires a Service and a Worker. Store and Blobs are required;
// Workflow is required by the Service only.
type Config struct {
	Store    Store
	Blobs    Blobs
	Workflow Workflow
	// Builtin holds model files shipped with the binary (lr.json, …), used when
	// a model's file is not in Blobs. Optional; the Worker reads it.
	Builtin fs.FS
	// Delay picks how long a new prediction waits before inference. Default 0.
	Delay func() time.Duration
	// Now and NewID are injectable for tests. Defaults: time.Now, and
	// NewID (time-ordered UUIDs).
	Now   func() time.Time
	NewID func() string
	// BcryptCost is the password hashing cost. Default DefaultBcryptCost.
	BcryptCost int
	Logger     *slog.Logger
	// Metrics observes predictions' business events (metrics.go). Default
	// NopMetrics.
	Metrics Metrics
	// TokenKeys signs and verifies session tokens. Default: a new random
	// keyset (tokens then die with the process).
	TokenKeys *Keyset
	// AddressLimit bounds registrations and failed sign-ins per client
	// address (zero: off).
	AddressLimit Rate
	// TopUpMode is TopUpOpen (the default, ""), TopUpStripe or
	// TopUpOperator (ledger.go); Payments takes paid top-ups in stripe mode.
	TopUpMode string
	Payments  Payments
	// OnFinish, when set, is told of each prediction this process saw end
	// (completed, failed or canceled), after the store recorded it: local
	// mode wakes the requests waiting for it (notify.go). It must not block.
	OnFinish func(ctx context.Context, id string)
	// Broker, when set, wakes AwaitPrediction when OnFinish publishes to it
	// (wait.go); without it AwaitPrediction polls the store.
	Broker *Broker
	// WebhookAllowPrivate lets webhooks go to private and loopback
	// addresses and over http (MLSVC_WEBHOOK_ALLOW_PRIVATE=1, for tests
	// only).
	WebhookAllowPrivate bool
	// SoleWriter says that every password change the store sees is made
	// through this Service (local mode: one process), so authentication
	// may use users read up to a second before (usercache.go).
	SoleWriter bool
}

// withDefaults fills in the optional fields.
func (cfg Config) withDefaults() Config {
	if cfg.Delay == nil {
		cfg.Delay = func() time.Duration { return 0 }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = NewID
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = DefaultBcryptCost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NopMetrics{}
	}
	if cfg.TokenKeys == nil {
		cfg.TokenKeys = NewKeyset()
	}
	if cfg.OnFinish == nil {
		cfg.OnFinish = func(context.Context, string) {}
	}
	return cfg
}

// Service implements the product's rules for its callers: users and their
// balances (users.go), the model catalog (catalog.go), paid prediction
// requests (requests.go) and what a user sees of them (views.go). The
// workflow's steps are the Worker's (worker.go).
type Service struct {
	store               Store
	blobs               Blobs
	workflow            Workflow
	delay               func() time.Duration
	now                 func() time.Time
	newID               func() string
	cost                int
	log                 *slog.Logger
	metrics             Metrics
	finished            func(ctx context.Context, id string) // Config.OnFinish
	broker              *Broker
	webhookAllowPrivate bool

	hashers chan struct{} // bounds concurrent password hashing (users.go)

	tokenKeys    *Keyset  // tokens.go
	addressLimit Rate     // signin.go
	topUpMode    string   // ledger.go
	payments     Payments // ledger.go, stripe mode only

	models     *modelCache // modelcache.go
	users      *userCache  // usercache.go, with soleWriter
	soleWriter bool

	mu    sync.Mutex
	dummy []byte // hash compared when a user does not exist
}

// New returns a Service for cfg.
func New(cfg Config) *Service {
	cfg = cfg.withDefaults()
	return &Service{
		store: cfg.Store, blobs: cfg.Blobs, workflow: cfg.Workflow,
		delay: cfg.Delay, now: cfg.Now, newID: cfg.NewID, cost: cfg.BcryptCost, log: cfg.Logger,
		metrics: cfg.Metrics,
		// Half the CPUs at most: a burst of sign-ins leaves the others to
		// everyone else's requests (BenchmarkSignInAttackP99 in pkg/local).
		hashers:   make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		tokenKeys: cfg.TokenKeys, addressLimit: cfg.AddressLimit,
		topUpMode: cmp.Or(cfg.TopUpMode, TopUpOpen), payments: cfg.Payments,
		finished: cfg.OnFinish, broker: cfg.Broker,
		webhookAllowPrivate: cfg.WebhookAllowPrivate,
		soleWriter:          cfg.SoleWriter,
		models:              newModelCache(), users: newUserCache(),
	}
}

// NewID returns a new RFC 9562 version 7 UUID: the first 48 bits are the
// Unix time in milliseconds, the last 74 are random. Ids made later sort
// after earlier ones (to the millisecond), so a new record's keys land at the
// end of the database's indexes rather than on a random page of each.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[6:])
	ms := uint64(time.Now().UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// readBlob reads a whole blob.
func readBlob(ctx context.Context, blobs Blobs, key string) ([]byte, error) {
	rc, err := blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
