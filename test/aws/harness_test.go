package awstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/mlsvc"
)

// Credentials and region of every client, the bootstraps' and the tests':
// DynamoDB Local keeps separate tables per access key and region.
const (
	region          = "us-east-1"
	accessKey       = "mlsvctest"
	secretKey       = "mlsvctest"
	bucket          = "mlsvc-e2e"
	stateMachineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mlsvc-e2e"
)

// functionNames are the directories of functions/, one bootstrap each.
var functionNames = []string{
	"register", "me", "topup", "models", "predict", "prediction",
	"download", "predictions", "web", "inference", "failure", "sweeper",
	"token", "password", "createkey", "apikeys", "deletekey",
	"cancel", "webhooksecret", "webhookrotate",
	"transactions", "stripewebhook", "webhooks",
}

// emulators are the tools the end-to-end tests need.
type emulators struct {
	rie      string // aws-lambda-rie
	dynamodb string // DynamoDB Local's endpoint
	node     string
	infra    string // infra/, with node_modules
	bin      string // directory of <name>/bootstrap built for this machine
}

var (
	emuOnce sync.Once
	emu     *emulators
	emuErr  string
)

// requireEmulators returns the tools, or skips the test (fails it in strict
// mode) saying what is missing and how to get it.
func requireEmulators(t *testing.T) *emulators {
	t.Helper()
	emuOnce.Do(func() { emu, emuErr = findEmulators(repoRoot(t)) })
	testenv.Need(t, emuErr == "", "%s (`make test-aws` sets everything up)", emuErr)
	if emu.bin == "" {
		emu.bin = buildHostBootstraps(t)
	}
	return emu
}

func findEmulators(root string) (*emulators, string) {
	e := &emulators{dynamodb: os.Getenv("MLSVC_DYNAMODB_ENDPOINT"), infra: filepath.Join(root, "infra")}
	if e.dynamodb == "" {
		return nil, "DynamoDB Local not running: set MLSVC_DYNAMODB_ENDPOINT (scripts/dynamodb-local.sh run sets it)"
	}
	e.rie = os.Getenv("MLSVC_RIE")
	if e.rie == "" {
		e.rie = filepath.Join(root, ".cache", "bin", "aws-lambda-rie")
		if _, err := os.Stat(e.rie); err != nil {
			if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
				e.rie = p
			}
		}
	}
	if _, err := os.Stat(e.rie); err != nil {
		return nil, "aws-lambda-rie not found: run scripts/lambda-rie.sh install or set MLSVC_RIE"
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, "node not found: the state machine runs under Node (infra/test/run-workflow.mjs)"
	}
	e.node = node
	if _, err := os.Stat(filepath.Join(e.infra, "node_modules", "aws-local-stepfunctions")); err != nil {
		return nil, "infra/node_modules is missing: run npm ci in infra/"
	}
	if dir := os.Getenv("MLSVC_LAMBDA_BIN"); dir != "" {
		for _, name := range functionNames {
			if _, err := os.Stat(filepath.Join(dir, name, "bootstrap")); err != nil {
				return nil, fmt.Sprintf("MLSVC_LAMBDA_BIN=%s has no %s/bootstrap", dir, name)
			}
		}
		e.bin = dir
	}
	return e, ""
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// buildHostBootstraps builds every function for this machine, as `make
// test-aws` does, when MLSVC_LAMBDA_BIN does not name prebuilt ones.
func buildHostBootstraps(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "mlsvc-lambda-host-")
		if buildErr != nil {
			return
		}
		for _, name := range functionNames {
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath",
				"-o", filepath.Join(buildDir, name, "bootstrap"), "./functions/"+name)
			cmd.Dir = repoRoot(t)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build ./functions/%s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// stack is one deployment of the service for one test: fresh tables in
// DynamoDB Local, a bucket in an in-process S3, a fake Step Functions
// endpoint, and the functions, each a real bootstrap under its own
// aws-lambda-rie.
type stack struct {
	t      *testing.T
	emu    *emulators
	tables dynamo.Tables
	ddb    *dynamodb.Client
	store  *dynamo.Store
	s3     *s3.Client
	puts   *counter // PUT requests to S3 by path
	sfn    *fakeSFN
	env    []string

	s3Handler http.Handler // the in-process S3

	mu    sync.Mutex
	fns   map[string]*function
	ran   map[string]bool // functions started
	calls []call          // AWS calls of the functions, for checkPolicies
}

func newStack(t *testing.T) *stack {
	t.Helper()
	emu := requireEmulators(t)
	st := &stack{t: t, emu: emu, puts: &counter{n: map[string]int{}}, fns: map[string]*function{}, ran: map[string]bool{}}

	creds := credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")
	st.ddb = dynamodb.New(dynamodb.Options{
		Region: region, Credentials: creds, BaseEndpoint: aws.String(emu.dynamodb),
		DisableValidateResponseChecksum: true,
	})
	prefix := "e2e_" + strings.ToLower(rand.Text()[:10]) + "_"
	st.tables = dynamo.Tables{
		Users: prefix + "users", Usernames: prefix + "usernames",
		Models: prefix + "models", Predictions: prefix + "predictions",
		Access: prefix + "access",
		Ledger: prefix + "ledger",
	}
	if err := dynamo.CreateTables(t.Context(), st.ddb, st.tables); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{st.tables.Users, st.tables.Usernames, st.tables.Models, st.tables.Predictions, st.tables.Access, st.tables.Ledger} {
			st.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	st.store = dynamo.NewStore(st.ddb, st.tables)
	// When the test ends, its money must add up: every balance equals its
	// ledger, every charge has its prediction and at most one refund.
	t.Cleanup(func() {
		ms, err := mlsvc.Audit(context.Background(), st.store)
		if err != nil {
			t.Errorf("Audit: %v", err)
		}
		for _, m := range ms {
			t.Errorf("Audit: %s", m)
		}
	})

	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(backend).Server()
	st.s3Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			st.puts.add(r.URL.Path)
		}
		fake.ServeHTTP(w, r)
	})
	s3srv := httptest.NewServer(st.s3Handler)
	t.Cleanup(s3srv.Close)
	st.s3 = s3.New(s3.Options{
		Region: region, Credentials: creds, BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true,
	})

	st.sfn = newFakeSFN(t)
	keyset, err := mlsvc.NewKeyset().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}

	st.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secretKey,
		"TABLE_USERS=" + st.tables.Users,
		"TABLE_USERNAMES=" + st.tables.Usernames,
		"TABLE_MODELS=" + st.tables.Models,
		"TABLE_PREDICTIONS=" + st.tables.Predictions,
		"TABLE_ACCESS=" + st.tables.Access,
		// One keyset for every function, as the template's secret is.
		"MLSVC_TOKEN_KEYS=" + string(keyset),
		"TABLE_LEDGER=" + st.tables.Ledger,
		"BUCKET=" + bucket,
		"STATE_MACHINE_ARN=" + stateMachineARN,
		"MLSVC_DELAY=0s",
		"MLSVC_BCRYPT_COST=4",
		"S3_FORCE_PATH_STYLE=true",
	}
	// Checked when the test ends: every AWS call a function made is one
	// its policy in template.yaml allows.
	t.Cleanup(st.checkPolicies)
	return st
}

// hashKeys names the partition key of each of the stack's tables, as
// template.yaml declares it.
func (st *stack) hashKeys() map[string]string {
	tpl := loadTemplate(st.t)
	genv := get(map[string]any(tpl), "Globals", "Function", "Environment", "Variables")
	out := map[string]string{}
	for env, table := range map[string]string{
		"TABLE_USERS": st.tables.Users, "TABLE_USERNAMES": st.tables.Usernames,
		"TABLE_MODELS": st.tables.Models, "TABLE_PREDICTIONS": st.tables.Predictions,
	} {
		for _, k := range list(get(tpl.resource(str(get(genv, env, "Ref"))), "Properties", "KeySchema")) {
			if str(get(k, "KeyType")) == "HASH" {
				out[table] = str(get(k, "AttributeName"))
			}
		}
	}
	return out
}

// fn returns the running function name, starting it on first use.
func (st *stack) fn(name string) *function {
	st.t.Helper()
	st.mu.Lock()
	f := st.fns[name]
	st.mu.Unlock()
	if f == nil {
		f = st.start(name)
		st.mu.Lock()
		st.fns[name] = f
		st.mu.Unlock()
	}
	return f
}

// start starts a new instance of function name: a cold start, with the
// stack's environment and extra variables ("NAME=value").
func (st *stack) start(name string, extra ...string) *function {
	st.t.Helper()
	// Each function reaches DynamoDB, S3 and Step Functions through
	// proxies that record its calls, for checkPolicies.
	env := append(append(slices.Clip(st.env), extra...),
		"AWS_ENDPOINT_URL_DYNAMODB="+st.recorder(name, dynamoRecorder(st.emu.dynamodb, st.hashKeys())),
		"AWS_ENDPOINT_URL_S3="+st.recorder(name, s3Recorder(st.s3Handler)),
		"AWS_ENDPOINT_URL_SFN="+st.recorder(name, sfnRecorder(st.sfn.handler)))
	st.mu.Lock()
	st.ran[name] = true
	st.mu.Unlock()
	return startFunction(st.t, st.emu, name, env)
}

// function is one bootstrap running under aws-lambda-rie.
type function struct {
	name string
	url  string // the invoke URL
	out  *syncBuffer
}

var initDuration = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// startFunction runs bootstrap name under aws-lambda-rie on two free
// loopback ports and waits until it accepts invocations. The function is
// stopped when the test ends; its output is logged if the test failed.
func startFunction(t *testing.T, emu *emulators, name string, env []string) *function {
	t.Helper()
	var out *syncBuffer
	// A port found free can be taken before aws-lambda-rie binds it (by an
	// outgoing connection, say): it then exits at once, and is started again.
	for attempt := 1; ; attempt++ {
		f, exited := tryStartFunction(t, emu, name, env)
		if f != nil {
			return f
		}
		out = exited
		if attempt == 5 {
			break
		}
	}
	t.Fatalf("aws-lambda-rie for %s exited before listening, 5 times:\n%s", name, out.String())
	return nil
}

// tryStartFunction starts name once; it returns the output instead of the
// function when aws-lambda-rie exits before listening.
func tryStartFunction(t *testing.T, emu *emulators, name string, env []string) (*function, *syncBuffer) {
	t.Helper()
	apiPort, runtimePort := freePort(t), freePort(t)
	for runtimePort == apiPort {
		runtimePort = freePort(t)
	}
	cmd := exec.Command(emu.rie,
		"--runtime-interface-emulator-address", "127.0.0.1:"+apiPort,
		"--runtime-api-address", "127.0.0.1:"+runtimePort,
		filepath.Join(emu.bin, name, "bootstrap"))
	cmd.Env = append(slices.Clip(env), "AWS_LAMBDA_FUNCTION_NAME=mlsvc-"+name, "AWS_LAMBDA_FUNCTION_TIMEOUT=60")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so stopping it stops the bootstrap it runs too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie for %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return nil, out
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+apiPort, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("aws-lambda-rie for %s does not listen on %s: %v\n%s", name, apiPort, err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("--- output of %s under aws-lambda-rie:\n%s", name, out.String())
		}
	})
	return &function{name: name, url: "http://127.0.0.1:" + apiPort + "/2015-03-31/functions/function/invocations", out: out}, nil
}

// invoke sends event to the function and returns its raw response: the
// handler's result, or {"errorMessage", "errorType"} for a handler error.
func (f *function) invoke(t *testing.T, event any) []byte {
	t.Helper()
	body, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post(f.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("invoke %s: %v\n%s", f.name, err, f.out.String())
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s: HTTP %d, %v: %s\n%s", f.name, resp.StatusCode, err, out, f.out.String())
	}
	return out
}

// lambdaError is a handler error as the invoke API returns it.
type lambdaError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// asError returns the handler error in a response, or nil.
func asError(raw []byte) *lambdaError {
	var e lambdaError
	if json.Unmarshal(raw, &e) == nil && e.ErrorType != "" {
		return &e
	}
	return nil
}

// initMs is the function's cold start as aws-lambda-rie reports it after
// the first invocation.
func (f *function) initMs(t *testing.T) float64 {
	t.Helper()
	var ms float64
	testenv.WaitFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		m := initDuration.FindStringSubmatch(f.out.String())
		if m == nil {
			return fmt.Errorf("%s: aws-lambda-rie reported no Init Duration:\n%s", f.name, f.out.String())
		}
		ms, _ = strconv.ParseFloat(m[1], 64)
		return nil
	})
	return ms
}

// api invokes the function of an API route with an HTTP API event and
// returns the response API Gateway would send.
func (st *stack) api(name string, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	st.t.Helper()
	raw := st.fn(name).invoke(st.t, ev)
	if e := asError(raw); e != nil {
		st.t.Fatalf("%s: handler error %s: %s", name, e.ErrorType, e.ErrorMessage)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		st.t.Fatalf("%s: response %s: %v", name, raw, err)
	}
	return resp
}

// signedIn is a user as requests carry it: an Authorization header.
type signedIn struct {
	header string // Authorization
	userID string
}

// request builds the HTTP API event of route name from its sample in
// events/, with the path, body, and the caller's Authorization header
// (nil: none).
func request(t *testing.T, name, path string, body any, auth *signedIn) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	sampleEvent(t, name, &ev)
	ev.RawPath, ev.RequestContext.HTTP.Path = path, path
	ev.RawQueryString, ev.QueryStringParameters = "", nil
	ev.Body = ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		ev.Body = string(b)
	}
	if id, ok := strings.CutPrefix(path, "/predict/"); ok {
		id = strings.TrimSuffix(strings.TrimSuffix(id, "/download"), "/cancel")
		ev.PathParameters = map[string]string{"id": id}
	}
	if id, ok := strings.CutPrefix(path, "/api-keys/"); ok {
		ev.PathParameters = map[string]string{"id": id}
	}
	if ev.Headers == nil {
		ev.Headers = map[string]string{}
	}
	delete(ev.Headers, "authorization")
	ev.RequestContext.Authorizer = nil
	if auth != nil {
		ev.Headers["authorization"] = auth.header
	}
	return ev
}

// sampleEvent decodes events/<name>.json into v.
func sampleEvent(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("events/%s.json: %v", name, err)
	}
}

// workflowRun is run-workflow.mjs's summary of one execution.
type workflowRun struct {
	Status      string   `json:"status"`
	Error       string   `json:"error"`
	Cause       string   `json:"cause"`
	States      []string `json:"states"`
	Invocations []struct {
		State    string          `json:"state"`
		Payload  json.RawMessage `json:"payload"`
		Response json.RawMessage `json:"response"`
		Error    string          `json:"error"`
	} `json:"invocations"`
}

// runWorkflow executes infra/statemachine.asl.json once with input, its
// Tasks invoking this stack's inference and failure functions.
func (st *stack) runWorkflow(input string) workflowRun {
	st.t.Helper()
	cmd := exec.Command(st.emu.node, filepath.Join(st.emu.infra, "test", "run-workflow.mjs"), input)
	cmd.Dir = st.emu.infra
	cmd.Env = append(os.Environ(),
		"INFERENCE_URL="+st.fn("inference").url,
		"FAILURE_URL="+st.fn("failure").url,
		"WAIT_MS=0", "RETRY_MS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		st.t.Fatalf("run-workflow.mjs %s: %v\n%s", input, err, stderr.String())
	}
	var run workflowRun
	if err := json.Unmarshal(out, &run); err != nil {
		st.t.Fatalf("run-workflow.mjs printed %s: %v", out, err)
	}
	return run
}

// object returns the bytes of key in the bucket.
func (st *stack) object(key string) []byte {
	st.t.Helper()
	out, err := st.s3.GetObject(st.t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		st.t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		st.t.Fatal(err)
	}
	return b
}

// fakeSFN is a Step Functions endpoint (JSON 1.0 protocol) that records
// StartExecution calls and starts nothing: the test runs the recorded
// input through the state machine itself.
type fakeSFN struct {
	handler http.Handler
	refuse  atomic.Bool // answer every StartExecution with an error

	mu     sync.Mutex
	starts []startExecution
	stops  []string // execution ARNs (cancel_test.go)
}

type startExecution struct {
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Input           string `json:"input"`
}

func newFakeSFN(*testing.T) *fakeSFN {
	f := &fakeSFN{}
	f.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if r.Header.Get("X-Amz-Target") == "AWSStepFunctions.StopExecution" {
			f.stop(w, r)
			return
		}
		if target := r.Header.Get("X-Amz-Target"); target != "AWSStepFunctions.StartExecution" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"InvalidAction","message":"fake sfn: unexpected %s"}`, target)
			return
		}
		if f.refuse.Load() {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"StateMachineDoesNotExist","message":"fake sfn: refused"}`)
			return
		}
		var in startExecution
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"InvalidExecutionInput","message":%q}`, err.Error())
			return
		}
		f.mu.Lock()
		f.starts = append(f.starts, in)
		f.mu.Unlock()
		execARN := strings.Replace(in.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + in.Name
		fmt.Fprintf(w, `{"executionArn":%q,"startDate":%d}`, execARN, time.Now().Unix())
	})
	return f
}

// started returns the StartExecution calls so far.
func (f *fakeSFN) started() []startExecution {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startExecution(nil), f.starts...)
}

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	c.n[k]++
	c.mu.Unlock()
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// syncBuffer is a bytes.Buffer for concurrent writers. pkg/local's
// obs_test.go has its own: two test packages share no unexported helper,
// and these few lines do not make a package worth importing.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freePort returns a loopback TCP port that was free a moment ago, below
// Linux's default range of ephemeral ports (32768-60999), which outgoing
// connections take theirs from.
func freePort(t *testing.T) string {
	t.Helper()
	for range 100 {
		port := 20000 + mathrand.IntN(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return strconv.Itoa(port)
		}
	}
	t.Fatal("found no free loopback port in 20000-31999")
	return ""
}
