// Package lambdafn is the composition root of the ML Service on AWS Lambda
// (pkg/local is the one of local mode): it reads
// the function's environment, builds the AWS SDK clients and the domain
// Service once per cold start, and adapts the HTTP API's routes to Lambda
// handlers (the state machine's tasks are pkg/stepfn's).
// Each functions/<name>/main.go is a few lines that call it and lambda.Start.
//
// Environment of every function (template.yaml sets it):
//
//	TABLE_USERS, TABLE_USERNAMES, TABLE_MODELS, TABLE_PREDICTIONS  DynamoDB tables
//	TABLE_ACCESS       DynamoDB table of API keys and throttles (access.go)
//	TOKEN_SECRET_ARN   Secrets Manager secret of the token keyset, read at cold start
//	MLSVC_TOKEN_KEYS   the token keyset itself, instead (sam local, tests)
//	MLSVC_ADDRESS_LIMIT, MLSVC_RATE_LIMIT  limits (mlsvc.ParseRate)
//	TABLE_USERS, TABLE_USERNAMES, TABLE_MODELS, TABLE_PREDICTIONS, TABLE_LEDGER  DynamoDB tables
//	MLSVC_TOPUP        top-up mode (mlsvc.ParseTopUpMode; the topup function)
//	BUCKET             S3 bucket of inputs, results, CSVs and model files
//	STATE_MACHINE_ARN  the prediction workflow (only the predict function starts it)
//	MLSVC_DELAY        workflow wait (mlsvc.ParseDelay; default mlsvc.DefaultDelay)
//	MLSVC_BCRYPT_COST  password hashing cost (mlsvc.ParseBcryptCost)
//	MLSVC_WEBHOOK_ALLOW_PRIVATE  1 lets webhooks go to loopback and private
//	                   addresses, over http: tests only; never set by template.yaml
//
// Local emulators are reached through the SDK's own settings:
// AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_SFN
// (or AWS_ENDPOINT_URL), plus S3_FORCE_PATH_STYLE=true for S3 emulators that
// need path-style addressing.
package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"
	"mlsvc/pkg/s3blob"
	"mlsvc/pkg/stepfn"
)

// Env is a function's configuration, read from its environment.
type Env struct {
	Tables          dynamo.Tables
	Bucket          string // "" in functions without Options.Blobs
	StateMachineARN string // "" in functions without Options.Workflow
	Delay           mlsvc.Delay
	BcryptCost      int
	S3PathStyle     bool
	// Access: TokenSecretARN or TokenKeys (one is needed by functions
	// that sign or check session tokens), and the limits.
	TokenSecretARN string
	TokenKeys      string
	AddressLimit   mlsvc.Rate
	RateLimit      mlsvc.Rate
	TopUpMode      string // mlsvc.TopUpOpen, TopUpStripe or TopUpOperator
	// WebhookAllowPrivate lets webhooks go to private and loopback
	// addresses and over http (MLSVC_WEBHOOK_ALLOW_PRIVATE=1; tests only).
	WebhookAllowPrivate bool
}

// ReadEnv reads an Env with getenv (os.Getenv in a function). The four
// tables are required; the bucket and the state machine are checked by the
// functions that use them.
func ReadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		Tables: dynamo.Tables{
			Users:       getenv("TABLE_USERS"),
			Usernames:   getenv("TABLE_USERNAMES"),
			Models:      getenv("TABLE_MODELS"),
			Predictions: getenv("TABLE_PREDICTIONS"),
			Access:      getenv("TABLE_ACCESS"),
			Ledger:      getenv("TABLE_LEDGER"),
		},
		TokenSecretARN:  getenv("TOKEN_SECRET_ARN"),
		TokenKeys:       getenv("MLSVC_TOKEN_KEYS"),
		Bucket:          getenv("BUCKET"),
		StateMachineARN: getenv("STATE_MACHINE_ARN"),

		WebhookAllowPrivate: getenv("MLSVC_WEBHOOK_ALLOW_PRIVATE") == "1",
	}
	var missing []string
	for name, v := range map[string]string{
		"TABLE_USERS": e.Tables.Users, "TABLE_USERNAMES": e.Tables.Usernames,
		"TABLE_MODELS": e.Tables.Models, "TABLE_PREDICTIONS": e.Tables.Predictions,
		"TABLE_ACCESS": e.Tables.Access,
		"TABLE_LEDGER": e.Tables.Ledger,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return Env{}, fmt.Errorf("lambdafn: environment variables not set: %s", strings.Join(missing, ", "))
	}
	var err error
	if e.Delay, err = mlsvc.ParseDelay(getenv("MLSVC_DELAY")); err != nil {
		return Env{}, fmt.Errorf("lambdafn: MLSVC_DELAY: %w", err)
	}
	if e.BcryptCost, err = mlsvc.ParseBcryptCost(getenv("MLSVC_BCRYPT_COST")); err != nil {
		return Env{}, fmt.Errorf("lambdafn: MLSVC_BCRYPT_COST: %w", err)
	}
	if e.AddressLimit, err = mlsvc.ParseRate(getenv("MLSVC_ADDRESS_LIMIT"), mlsvc.DefaultAddressLimit); err != nil {
		return Env{}, fmt.Errorf("lambdafn: MLSVC_ADDRESS_LIMIT: %w", err)
	}
	if e.RateLimit, err = mlsvc.ParseRate(getenv("MLSVC_RATE_LIMIT"), mlsvc.DefaultRateLimit); err != nil {
		return Env{}, fmt.Errorf("lambdafn: MLSVC_RATE_LIMIT: %w", err)
	}
	if e.TopUpMode, err = mlsvc.ParseTopUpMode(getenv("MLSVC_TOPUP")); err != nil {
		return Env{}, fmt.Errorf("lambdafn: MLSVC_TOPUP: %w", err)
	}
	if s := getenv("S3_FORCE_PATH_STYLE"); s != "" {
		if e.S3PathStyle, err = strconv.ParseBool(s); err != nil {
			return Env{}, fmt.Errorf("lambdafn: S3_FORCE_PATH_STYLE=%q: want true or false", s)
		}
	}
	return e, nil
}

// Options says what one function needs beyond the DynamoDB store. What a
// function leaves out is not linked into its binary: the S3 and Step
// Functions clients, the model files.
type Options struct {
	// Blobs builds the blob storage, S3 for functions that read or write
	// inputs, results or model files; nil for the others, whose Service
	// then fails any blob access.
	Blobs func(aws.Config, Env) (mlsvc.Blobs, error)
	// Workflow builds the prediction workflow, StepFunctions for the
	// function that starts predictions; nil for the others.
	Workflow func(aws.Config, Env) (mlsvc.Workflow, error)
	// Builtin holds the published models' files (catalog.Files): inference
	// reads them when a model's file is not in the bucket.
	Builtin fs.FS
	// Catalog returns the published models' catalog entries
	// (catalog.Entries); the cold start publishes those not in the table yet.
	Catalog func() ([]*mlsvc.CatalogEntry, error)
	// Tokens says the function signs or checks session tokens: its cold
	// start reads the keyset (TOKEN_SECRET_ARN or MLSVC_TOKEN_KEYS).
	Tokens bool
	Logger *slog.Logger
	// Metrics receives the business events; nil: CloudWatch Embedded
	// Metric Format lines on stdout (obs.EMF).
	Metrics mlsvc.Metrics
	// Payments builds the payment provider (payments.Stripe) of the
	// functions that take paid top-ups; called at cold start in stripe
	// mode only.
	Payments func(context.Context, aws.Config) (mlsvc.Payments, error)
}

// coldStartTimeout bounds the AWS calls of a cold start; Lambda allows 10 s
// for the whole init phase.
const coldStartTimeout = 8 * time.Second

// Deps are what a function's handler is built from: the domain's Service
// (the API's rules) and Worker (the workflow's steps) over the AWS
// adapters, and the function's logger.
type Deps struct {
	Service *mlsvc.Service
	Worker  *mlsvc.Worker
	Logger  *slog.Logger
	// Limiter limits each caller's requests (MLSVC_RATE_LIMIT), counted in
	// the access table: every warm instance sees the same count.
	Limiter mlsvc.RateLimiter
	// Store is the DynamoDB store under Service and Worker; the webhooks
	// function reads its queue (webhooks.go).
	Store *dynamo.Store
	Env   Env
}

// NewDeps builds the SDK clients, the Service and the Worker of one
// function from its environment. It is called once per cold start.
func NewDeps(ctx context.Context, opts Options) (Deps, error) {
	env, err := ReadEnv(os.Getenv)
	if err != nil {
		return Deps{}, err
	}
	cfg, err := AWSConfig()
	if err != nil {
		return Deps{}, err
	}
	var blobs mlsvc.Blobs = noBlobs{}
	if opts.Blobs != nil {
		if blobs, err = opts.Blobs(cfg, env); err != nil {
			return Deps{}, err
		}
	}
	var workflow mlsvc.Workflow = noWorkflow{}
	if opts.Workflow != nil {
		if workflow, err = opts.Workflow(cfg, env); err != nil {
			return Deps{}, err
		}
	}
	var keys *mlsvc.Keyset
	if opts.Tokens {
		if keys, err = tokenKeys(ctx, cfg, env); err != nil {
			return Deps{}, err
		}
	}
	var payments mlsvc.Payments
	if opts.Payments != nil && env.TopUpMode == mlsvc.TopUpStripe {
		pctx, cancel := context.WithTimeout(ctx, coldStartTimeout)
		payments, err = opts.Payments(pctx, cfg)
		cancel()
		if err != nil {
			return Deps{}, err
		}
	}
	store := dynamo.NewStore(newDynamoDB(cfg), env.Tables)
	domain := mlsvc.Config{
		TopUpMode:    env.TopUpMode,
		Payments:     payments,
		Store:        store,
		Blobs:        blobs,
		Workflow:     workflow,
		Builtin:      opts.Builtin,
		Delay:        env.Delay.Pick,
		BcryptCost:   env.BcryptCost,
		Logger:       opts.Logger,
		TokenKeys:    keys,
		AddressLimit: env.AddressLimit,
		Metrics:      opts.Metrics,
		// The webhooks function delivers them (webhooks.go).
		WebhookAllowPrivate: env.WebhookAllowPrivate,
	}
	if domain.Metrics == nil {
		domain.Metrics = obs.NewEMF(os.Stdout, opts.Logger, invocationAttrs)
	}
	d := Deps{
		Service: mlsvc.New(domain), Worker: mlsvc.NewWorker(domain), Logger: opts.Logger,
		Limiter: mlsvc.NewWindowLimiter(store, env.RateLimit, nil),
		Store:   store, Env: env,
	}
	if opts.Catalog != nil {
		ctx, cancel := context.WithTimeout(ctx, coldStartTimeout)
		defer cancel()
		if err := publish(ctx, d.Service, opts); err != nil {
			return Deps{}, fmt.Errorf("lambdafn: publish the built-in models: %w", err)
		}
	}
	return d, nil
}

// publish publishes the catalog's models that are not in the table yet
// (after the first deployment), leaving published ones as they are.
func publish(ctx context.Context, svc *mlsvc.Service, opts Options) error {
	catalog, err := opts.Catalog()
	if err != nil {
		return err
	}
	published, err := svc.Models(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(published))
	for _, m := range published {
		have[m.ID] = true
	}
	if !slices.ContainsFunc(catalog, func(m *mlsvc.CatalogEntry) bool { return !have[m.ID] }) {
		return nil
	}
	return svc.Seed(ctx, catalog)
}

// AWSConfig returns the SDK configuration of a function from its
// environment: AWS_REGION, the credentials Lambda sets (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; sam local and the tests set
// them too) and the endpoint variables AWS_ENDPOINT_URL[_<SERVICE>], which
// each client resolves from the environment source.
//
// config.LoadDefaultConfig would do the same in Lambda, but its full
// credential chain (shared files, SSO, STS, IMDS) adds about 1.3 MB to
// every binary, and shared-file lookups to every cold start, for nothing.
func AWSConfig() (aws.Config, error) {
	env, err := config.NewEnvConfig()
	if err != nil {
		return aws.Config{}, fmt.Errorf("lambdafn: AWS environment: %w", err)
	}
	if env.Region == "" {
		return aws.Config{}, errors.New("lambdafn: AWS_REGION is not set")
	}
	if !env.Credentials.HasKeys() {
		return aws.Config{}, errors.New("lambdafn: AWS credentials are not set (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	}
	cfg := aws.NewConfig()
	cfg.Region = env.Region
	cfg.Credentials = credentials.StaticCredentialsProvider{Value: env.Credentials}
	cfg.ConfigSources = []any{env}
	if env.BaseEndpoint != "" {
		cfg.BaseEndpoint = aws.String(env.BaseEndpoint)
	}
	return *cfg, nil
}

func newDynamoDB(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		// DynamoDB Local sends no CRC32 the SDK accepts; AWS always does.
		o.DisableValidateResponseChecksum = customEndpoint("DYNAMODB")
	})
}

// S3 is the Options.Blobs of functions that use the bucket BUCKET.
func S3(cfg aws.Config, env Env) (mlsvc.Blobs, error) {
	if env.Bucket == "" {
		return nil, errors.New("lambdafn: environment variable not set: BUCKET")
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = env.S3PathStyle })
	return s3blob.New(client, s3.NewPresignClient(client), env.Bucket), nil
}

// StepFunctions is the Options.Workflow of the function that starts
// executions of the state machine STATE_MACHINE_ARN.
func StepFunctions(cfg aws.Config, env Env) (mlsvc.Workflow, error) {
	if env.StateMachineARN == "" {
		return nil, errors.New("lambdafn: environment variable not set: STATE_MACHINE_ARN")
	}
	return stepfn.New(sfn.NewFromConfig(cfg), env.StateMachineARN), nil
}

// customEndpoint reports whether the SDK is pointed at an endpoint other
// than AWS's for the service with this environment suffix.
func customEndpoint(service string) bool {
	return os.Getenv("AWS_ENDPOINT_URL_"+service) != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
}

// noBlobs and noWorkflow stand in for what a function was built without
// (Options): its routes never reach them, and were one to, it fails loudly
// (a prediction that cannot start is failed and refunded by the Service).
type (
	noBlobs    struct{}
	noWorkflow struct{}
)

var errNotWired = errors.New("lambdafn: this function was built without it (see lambdafn.Options)")

func (noBlobs) Put(context.Context, string, string, io.Reader) error { return errNotWired }
func (noBlobs) Get(context.Context, string) (io.ReadCloser, error)   { return nil, errNotWired }
func (noBlobs) Delete(context.Context, string) error                 { return errNotWired }
func (noBlobs) URL(context.Context, string, string, time.Duration) (string, error) {
	return "", errNotWired
}
func (noWorkflow) Start(context.Context, *mlsvc.Prediction) error { return errNotWired }

// NewLogger returns the JSON logger of a function, on stderr, which Lambda
// sends to CloudWatch Logs (LoggerTo).
func NewLogger() *slog.Logger { return LoggerTo(os.Stderr) }

// LoggerTo returns a function's JSON logger on w: its lines carry the
// attributes of their context (obs.Handler: request_id, user_id,
// prediction_id) and the invocation's aws_request_id.
func LoggerTo(w io.Writer) *slog.Logger {
	return obs.NewLogger(slog.NewJSONHandler(w, nil), invocationAttrs)
}

// invocationAttrs is the Lambda invocation's request id in ctx.
func invocationAttrs(ctx context.Context) []slog.Attr {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return []slog.Attr{slog.String("aws_request_id", lc.AwsRequestID)}
	}
	return nil
}

// Start is a function's main: it builds the Deps at cold start and runs
// the Lambda handler that handler makes of them (any handler lambda.Start
// takes). A failed cold start is logged and exits, so Lambda reports an
// init error.
func Start(opts Options, handler func(Deps) any) {
	log := NewLogger()
	opts.Logger = log
	d, err := NewDeps(context.Background(), opts)
	if err != nil {
		log.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(handler(d))
}

// StartRoute is the main of the function of the API route name.
func StartRoute(name string, opts Options) {
	for _, rt := range httpapi.New(nil, nil, nil).Routes() {
		if rt.Name == name {
			opts.Tokens = rt.Auth || rt.Name == "token"
		}
	}
	Start(opts, func(d Deps) any { return Route(d.Service, name, d.Limiter, d.Logger) })
}
