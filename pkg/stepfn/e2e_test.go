package stepfn_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"mlsvc/catalog"
	"mlsvc/internal/testenv"
	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/model"
	"mlsvc/pkg/rowio"
	"mlsvc/pkg/s3blob"
	"mlsvc/pkg/stepfn"
)

// TestEndToEnd runs predictions through the real functions/inference and
// functions/failure bootstraps under aws-lambda-rie, driven by the state
// machine under aws-local-stepfunctions, on DynamoDB Local and an S3
// emulator (gofakes3 on 127.0.0.1). The prediction is requested by a
// Service whose Workflow is this package's, against a fake Step Functions
// API that hands the execution input to the state machine.
//
// Run by `make test`, inside scripts/dynamodb-local.sh run, which sets
// MLSVC_DYNAMODB_ENDPOINT. Without MLSVC_RIE or that endpoint it skips.
func TestEndToEnd(t *testing.T) {
	rie := needRIE(t)
	endpoint := os.Getenv("MLSVC_DYNAMODB_ENDPOINT")
	testenv.Need(t, endpoint != "", "MLSVC_DYNAMODB_ENDPOINT is not set: run under scripts/dynamodb-local.sh run (make test does)")
	ctx := t.Context()
	bin := buildFunctions(t, "inference", "failure")

	const (
		region = "us-east-1"
		key    = "mlsvctest" // DynamoDB Local keeps tables per access key and region
		bucket = "mlsvc-e2e"
	)
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: key, SecretAccessKey: key}, nil
	})
	db := dynamodb.New(dynamodb.Options{
		Region: region, Credentials: creds, BaseEndpoint: aws.String(endpoint),
		DisableValidateResponseChecksum: true,
	})
	tables := e2eTables(t, db)

	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	s3c := s3.New(s3.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true})

	sfnAPI := &fakeSFN{reply: func(int) (int, string) { return 200, started }}
	svc := mlsvc.New(mlsvc.Config{
		Store:      dynamo.NewStore(db, tables),
		Blobs:      s3blob.New(s3c, s3.NewPresignClient(s3c), bucket),
		Workflow:   newWorkflow(t, sfnAPI),
		Delay:      func() time.Duration { return 12 * time.Second },
		BcryptCost: 4,
	})
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Seed(ctx, entries); err != nil {
		t.Fatal(err)
	}

	// The functions' environment, as template.yaml sets it, pointed at the emulators.
	env := []string{
		"TABLE_USERS=" + tables.Users, "TABLE_USERNAMES=" + tables.Usernames,
		"TABLE_MODELS=" + tables.Models, "TABLE_PREDICTIONS=" + tables.Predictions,
		"TABLE_LEDGER=" + tables.Ledger, "TABLE_ACCESS=" + tables.Access,
		"BUCKET=" + bucket, "S3_FORCE_PATH_STYLE=true",
		"AWS_REGION=" + region, "AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + key, "AWS_SESSION_TOKEN=",
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint, "AWS_ENDPOINT_URL_S3=" + s3srv.URL,
		"AWS_EC2_METADATA_DISABLED=true",
	}
	urls := taskURLs{
		Inference: startRIE(t, rie, bin["inference"], env...),
		Failure:   startRIE(t, rie, bin["failure"], env...),
	}
	// An inference function whose bucket does not exist: every attempt fails
	// with an error worth a retry.
	broken := taskURLs{
		Inference: startRIE(t, rie, bin["inference"], append(env, "BUCKET=no-such-bucket")...),
		Failure:   urls.Failure,
	}

	u, err := svc.Register(ctx, "Ann", "ann-e2e", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TopUp(ctx, u.ID, 100_00); err != nil {
		t.Fatal(err)
	}
	balance := func() mlsvc.Cents {
		t.Helper()
		u, err := svc.User(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.Balance
	}
	rows := json.RawMessage(`[{"feature_0":0.9924,"feature_1":0.1429,"feature_2":25.8557,"feature_3":54.0688,"feature_4":25.4074},
		{"feature_0":0.398,"feature_1":0.3124,"feature_2":24.9254,"feature_3":23.2031,"feature_4":29.8757}]`)

	// request requests a prediction with rows and returns it with the
	// execution input its Workflow.Start sent to Step Functions.
	request := func(t *testing.T, modelID string) (*mlsvc.Prediction, []byte) {
		t.Helper()
		p, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: modelID}, rows)
		if err != nil {
			t.Fatal(err)
		}
		reqs := sfnAPI.requests()
		last := reqs[len(reqs)-1]
		if last.Name != p.ID {
			t.Fatalf("execution name %q, want the prediction id %q", last.Name, p.ID)
		}
		want, _ := json.Marshal(stepfn.ExecutionInput{PredictionID: p.ID, DelaySeconds: 12, ReadyAt: stepfn.ReadyAt(p)})
		if last.Input != string(want) {
			t.Errorf("execution input %s, want %s", last.Input, want)
		}
		return p, []byte(last.Input)
	}
	view := func(t *testing.T, id string) *mlsvc.View {
		t.Helper()
		v, err := svc.Prediction(ctx, u.ID, id, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("completes", func(t *testing.T) {
		p, input := request(t, "rf")
		if got, want := balance(), mlsvc.Cents(85_00); got != want {
			t.Fatalf("balance after the charge %s, want %s", got, want)
		}
		e := runWorkflow(t, urls, input)
		if e.Status != "SUCCEEDED" || !slices.Equal(e.calls(), []string{"Inference/"}) {
			t.Fatalf("execution %s %v, want SUCCEEDED [Inference/]", e.Status, e.calls())
		}
		v := view(t, p.ID)
		if v.Status != mlsvc.StatusCompleted || v.Output == nil {
			t.Fatalf("prediction %s, output %v; want completed", v.Status, v.Output)
		}
		want := localPredictions(t, "rf.json", rows)
		if len(v.Output.Predictions) != len(want) {
			t.Fatalf("predictions %v, want %v", v.Output.Predictions, want)
		}
		for i := range want {
			if math.Abs(v.Output.Predictions[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
				t.Errorf("prediction %d = %v, want %v", i, v.Output.Predictions[i], want[i])
			}
		}
		res, err := http.Get(v.CSVURL)
		if err != nil {
			t.Fatal(err)
		}
		csv, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(csv), "feature_0,") || strings.Count(string(csv), "\n") != 3 {
			t.Errorf("GET csv_url: %s\n%s", res.Status, csv)
		}

		// Step Functions may run the task again: nothing changes.
		if e := runWorkflow(t, urls, input); e.Status != "SUCCEEDED" {
			t.Errorf("second execution %s, want SUCCEEDED", e.Status)
		}
		if got, want := balance(), mlsvc.Cents(85_00); got != want {
			t.Errorf("balance %s, want %s", got, want)
		}
	})

	t.Run("permanent failure refunds at once", func(t *testing.T) {
		p, input := request(t, "lr")
		if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(mlsvc.InputKey(p.ID))}); err != nil {
			t.Fatal(err)
		}
		e := runWorkflow(t, urls, input)
		if e.Status != "FAILED" || e.Error != "PredictionFailed" ||
			!slices.Equal(e.calls(), []string{"Inference/PredictionFailed", "Fail/"}) {
			t.Fatalf("execution %s %s %v, want FAILED PredictionFailed [Inference/PredictionFailed Fail/]", e.Status, e.Error, e.calls())
		}
		got, err := svc.User(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Balance != 85_00 {
			t.Errorf("balance %s, want 85.00 (refunded)", got.Balance)
		}
		stored, err := dynamo.NewStore(db, tables).Prediction(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != mlsvc.StatusFailed || stored.Error != "the input rows are missing" {
			t.Errorf("prediction %s %q, want failed %q", stored.Status, stored.Error, "the input rows are missing")
		}
		// A second execution finds it final: no second refund.
		runWorkflow(t, urls, input)
		if got := balance(); got != 85_00 {
			t.Errorf("balance after a second execution %s, want 85.00", got)
		}
	})

	t.Run("exhausted retries refund", func(t *testing.T) {
		p, input := request(t, "cb")
		e := runWorkflow(t, broken, input)
		calls := e.calls()
		if e.Status != "FAILED" || len(calls) != 5 || calls[4] != "Fail/" {
			t.Fatalf("execution %s %v, want FAILED after 4 inference attempts and Fail", e.Status, calls)
		}
		for _, c := range calls[:4] {
			if c == "Inference/" || c == "Inference/PredictionFailed" {
				t.Errorf("inference attempt %s, want a retryable error", c)
			}
		}
		v := view(t, p.ID)
		if v.Status != mlsvc.StatusFailed || v.Error != mlsvc.ReasonNotRun {
			t.Errorf("prediction %s %q, want failed %q", v.Status, v.Error, mlsvc.ReasonNotRun)
		}
		if got := balance(); got != 85_00 {
			t.Errorf("balance %s, want 85.00 (refunded)", got)
		}
	})
}

// localPredictions evaluates a built-in model in this process.
func localPredictions(t *testing.T, file string, rows json.RawMessage) []float64 {
	t.Helper()
	data, err := catalog.Files.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := model.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rowio.ParseJSON(rows, pm.Features(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return rowio.Predict(pm, r)
}

// buildFunctions builds functions/<name> as Lambda bootstraps for this
// machine and returns their paths. (Without the release build's -trimpath,
// so the build cache of this test's own packages serves it.)
func buildFunctions(t *testing.T, names ...string) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := map[string]string{}
	for _, name := range names {
		bin := filepath.Join(dir, name, "bootstrap")
		cmd := exec.Command(goTool, "build", "-tags", "lambda.norpc", "-o", bin, "./functions/"+name)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build functions/%s: %v\n%s", name, err, b)
		}
		out[name] = bin
	}
	return out
}

// e2eTables creates empty tables with a random prefix, deleted when t ends.
func e2eTables(t *testing.T, db *dynamodb.Client) dynamo.Tables {
	t.Helper()
	prefix := "stepfn_e2e_" + rand.Text()[:8] + "_"
	tables := dynamo.Tables{
		Users: prefix + "users", Usernames: prefix + "usernames",
		Models: prefix + "models", Predictions: prefix + "predictions",
		Access: prefix + "access", Ledger: prefix + "ledger",
	}
	if err := dynamo.CreateTables(t.Context(), db, tables); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{tables.Users, tables.Usernames, tables.Models, tables.Predictions} {
			db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	return tables
}
