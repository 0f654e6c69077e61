package awstest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"mlsvc/pkg/mlsvc"
)

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// decode unmarshals a response body, failing the test on a wrong status.
func decode(t *testing.T, what string, resp events.APIGatewayV2HTTPResponse, status int, v any) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, status, resp.Body)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal([]byte(resp.Body), v); err != nil {
		t.Fatalf("%s: body %q: %v", what, resp.Body, err)
	}
}

// user registers a user through the register function, tops up its balance
// and returns its session token from the token function.
func (st *stack) user(name string, topUp float64) *signedIn {
	t := st.t
	t.Helper()
	password := "correct horse " + name
	var reg struct {
		UserID  string `json:"user_id"`
		Message string `json:"message"`
	}
	decode(t, "POST /users", st.api("register", request(t, "register", "/users",
		map[string]string{"firstname": "Ann", "username": name, "password": password}, nil)), http.StatusCreated, &reg)
	if reg.UserID == "" || reg.Message == "" || reg.UserID != st.userID(name) {
		t.Fatalf("POST /users = %+v, want the id of the new user and a message", reg)
	}
	auth := &signedIn{header: "Bearer " + st.token(name, password), userID: reg.UserID}
	if topUp > 0 {
		var out struct{ Balance json.Number }
		decode(t, "POST /account/topup", st.api("topup", request(t, "topup", "/account/topup",
			map[string]any{"amount": topUp}, auth)), http.StatusOK, &out)
	}
	return auth
}

// token signs in through the token function and returns the session token.
func (st *stack) token(name, password string) string {
	st.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	decode(st.t, "POST /auth/token", st.api("token", request(st.t, "token", "/auth/token",
		map[string]string{"username": name, "password": password}, nil)), http.StatusOK, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.ExpiresIn > 3600 {
		st.t.Fatalf("POST /auth/token = %+v", tok)
	}
	return tok.AccessToken
}

// userID looks the user up in the tables, independently of the functions.
func (st *stack) userID(name string) string {
	st.t.Helper()
	u, err := st.store.UserByUsername(st.t.Context(), name)
	if err != nil {
		st.t.Fatalf("user %s is not in the tables: %v", name, err)
	}
	return u.ID
}

func (st *stack) balance(auth *signedIn) string {
	st.t.Helper()
	var me struct {
		Balance json.Number `json:"balance"`
	}
	decode(st.t, "GET /users/me", st.api("me", request(st.t, "me", "/users/me", nil, auth)), http.StatusOK, &me)
	return me.Balance.String()
}

// predictionView is a prediction as a client decodes it. The tests declare
// the wire format themselves (pkg/local has predictionJSON and keyJSON)
// instead of using httpapi's response types, so they check the API, not
// the server against its own types.
type predictionView struct {
	ID         string          `json:"id"`
	ModelID    string          `json:"model_id"`
	Status     string          `json:"status"`
	Error      string          `json:"error"`
	InputData  json.RawMessage `json:"input_data"`
	OutputData *mlsvc.Output   `json:"output_data"`
	CSVURL     string          `json:"csv_url"`
	UpdatedAt  string          `json:"updated_at"`
}

func (st *stack) prediction(auth *signedIn, id string) predictionView {
	st.t.Helper()
	var v predictionView
	decode(st.t, "GET /predict/"+id, st.api("prediction", request(st.t, "prediction", "/predict/"+id, nil, auth)), http.StatusOK, &v)
	return v
}

// predict requests a prediction and returns its id and the execution input
// the predict function started the state machine with.
func (st *stack) predict(auth *signedIn, modelID string, rows any) (string, string) {
	t := st.t
	t.Helper()
	before := len(st.sfn.started())
	var out struct {
		PredictionID string `json:"prediction_id"`
		Status       string `json:"status"`
		Message      string `json:"message"`
	}
	decode(t, "POST /predict", st.api("predict", request(t, "predict", "/predict",
		map[string]any{"model_id": modelID, "input_data": rows}, auth)), http.StatusAccepted, &out)
	if out.PredictionID == "" || out.Status != "pending" || out.Message == "" {
		t.Fatalf("POST /predict: %+v, want an id, status pending and a message", out)
	}
	starts := st.sfn.started()
	if len(starts) != before+1 {
		t.Fatalf("POST /predict started %d executions, want 1", len(starts)-before)
	}
	s := starts[len(starts)-1]
	if s.Name != out.PredictionID || s.StateMachineArn != stateMachineARN {
		t.Fatalf("StartExecution name %q of %q, want the prediction id %q of %q", s.Name, s.StateMachineArn, out.PredictionID, stateMachineARN)
	}
	var input struct {
		PredictionID string `json:"prediction_id"`
		DelaySeconds *int   `json:"delay_seconds"`
		ReadyAt      string `json:"ready_at"`
	}
	if err := json.Unmarshal([]byte(s.Input), &input); err != nil || input.PredictionID != out.PredictionID || input.DelaySeconds == nil {
		t.Fatalf("execution input %s: want prediction_id %s and delay_seconds (%v)", s.Input, out.PredictionID, err)
	}
	// The wait ends at a fixed instant, in whole seconds: now, as MLSVC_DELAY is 0s here.
	if at, err := time.Parse(time.RFC3339, input.ReadyAt); err != nil || at.Location() != time.UTC ||
		at.Nanosecond() != 0 || time.Since(at) > time.Minute || time.Until(at) > 2*time.Second {
		t.Fatalf("execution input %s: ready_at is not a UTC RFC 3339 instant of now (%v)", s.Input, err)
	}
	return out.PredictionID, s.Input
}

var rows = []map[string]float64{
	{"feature_0": 0.5, "feature_1": 0.1, "feature_2": 0.9, "feature_3": 0.3, "feature_4": 0.7},
	{"feature_0": 0.2, "feature_1": 0.8, "feature_2": 0.4, "feature_3": 0.6, "feature_4": 0.1},
	{"feature_0": 0.9, "feature_1": 0.5, "feature_2": 0.5, "feature_3": 0.5, "feature_4": 0.5},
}

// TestAuthentication: the route functions identify callers themselves,
// with no API Gateway authorizer: no or wrong credentials get the API's
// 401 {"detail"} from the function, and a username refused a moment ago
// can register and sign in at once (no cached refusal).
func TestAuthentication(t *testing.T) {
	st := newStack(t)
	early := &signedIn{header: basic("bob", "correct horse bob")}
	decode(t, "GET /users/me before registering", st.api("me", request(t, "me", "/users/me", nil, early)), http.StatusUnauthorized, nil)
	auth := st.user("bob", 0)
	id := auth.userID

	for _, header := range []string{basic("bob", "wrong password"), basic("nobody", "correct horse bob"), "Bearer abc", "Bearer mlsk_nope", ""} {
		resp := st.api("me", request(t, "me", "/users/me", nil, &signedIn{header: header}))
		var body struct{ Detail string }
		decode(t, "GET /users/me with "+header, resp, http.StatusUnauthorized, &body)
		if body.Detail == "" || responseHeader(resp, "WWW-Authenticate") == "" {
			t.Errorf("401 %+v, want a detail and WWW-Authenticate", resp)
		}
	}
	// With the right ones, the route sees the user: a token, and Basic
	// right after the failed attempt above.
	for _, a := range []*signedIn{auth, early} {
		var me struct {
			UserID   string `json:"user_id"`
			Username string `json:"username"`
		}
		decode(t, "GET /users/me", st.api("me", request(t, "me", "/users/me", nil, a)), http.StatusOK, &me)
		if me.UserID != id || me.Username != "bob" {
			t.Errorf("GET /users/me = %+v, want user %s bob", me, id)
		}
	}
	// Usernames are unique, whatever the case.
	resp := st.api("register", request(t, "register", "/users",
		map[string]string{"firstname": "Bob", "username": "BOB", "password": "another password"}, nil))
	decode(t, "POST /users again", resp, http.StatusConflict, nil)
}

// TestAPIKeysAndPasswordChange: keys are created, listed, used and revoked
// through their functions, a revoked key is refused at once by another
// function, and so is a token issued before a password change.
func TestAPIKeysAndPasswordChange(t *testing.T) {
	st := newStack(t)
	auth := st.user("kim", 0)
	var k struct {
		ID, Name, Key, Prefix string
		CreatedAt             string `json:"created_at"`
	}
	decode(t, "POST /api-keys", st.api("createkey", request(t, "createkey", "/api-keys", map[string]string{"name": "ci"}, auth)), http.StatusCreated, &k)
	if !strings.HasPrefix(k.Key, "mlsk_") || !strings.HasPrefix(k.Key, k.Prefix) || k.ID == "" || k.Name != "ci" || k.CreatedAt == "" {
		t.Fatalf("POST /api-keys = %+v", k)
	}
	key := &signedIn{header: "Bearer " + k.Key, userID: auth.userID}
	if got := st.balance(key); got != "0" {
		t.Errorf("balance with the key: %s", got)
	}
	var list []map[string]any
	resp := st.api("apikeys", request(t, "apikeys", "/api-keys", nil, auth))
	decode(t, "GET /api-keys", resp, http.StatusOK, &list)
	if len(list) != 1 || list[0]["id"] != k.ID || list[0]["last_used_at"] == nil || strings.Contains(resp.Body, k.Key) {
		t.Errorf("GET /api-keys = %s", resp.Body)
	}
	other := st.user("lou", 0)
	decode(t, "DELETE another user's key", st.api("deletekey", request(t, "deletekey", "/api-keys/"+k.ID, nil, other)), http.StatusNotFound, nil)
	decode(t, "DELETE /api-keys/{id}", st.api("deletekey", request(t, "deletekey", "/api-keys/"+k.ID, nil, auth)), http.StatusNoContent, nil)
	// The me function used the key a moment ago (warm); it is refused now.
	decode(t, "GET /users/me with the revoked key", st.api("me", request(t, "me", "/users/me", nil, key)), http.StatusUnauthorized, nil)

	oldBasic := &signedIn{header: basic("kim", "correct horse kim")}
	decode(t, "GET /users/me with Basic (now remembered by the warm me function)", st.api("me", request(t, "me", "/users/me", nil, oldBasic)), http.StatusOK, nil)
	decode(t, "POST /users/me/password", st.api("password", request(t, "password", "/users/me/password",
		map[string]string{"current_password": "correct horse kim", "new_password": "battery staple kim"}, auth)), http.StatusNoContent, nil)
	decode(t, "GET /users/me with a token from before", st.api("me", request(t, "me", "/users/me", nil, auth)), http.StatusUnauthorized, nil)
	decode(t, "GET /users/me with the old password, remembered by another function", st.api("me", request(t, "me", "/users/me", nil, oldBasic)), http.StatusUnauthorized, nil)
	fresh := &signedIn{header: "Bearer " + st.token("kim", "battery staple kim")}
	decode(t, "GET /users/me with a new token", st.api("me", request(t, "me", "/users/me", nil, fresh)), http.StatusOK, nil)

	// Failed sign-ins back off, the same for an unknown username.
	for _, name := range []string{"kim", "nobody"} {
		var statuses []int
		for range mlsvc.SignInFreeFailures + 1 {
			r := st.api("token", request(t, "token", "/auth/token", map[string]string{"username": name, "password": "wrong password"}, nil))
			statuses = append(statuses, r.StatusCode)
			if r.StatusCode == http.StatusTooManyRequests && responseHeader(r, "Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
		}
		if want := []int{401, 401, 401, 401, 401, 429}; !slices.Equal(statuses, want) {
			t.Errorf("sign-ins of %s: %v, want %v", name, statuses, want)
		}
	}
}

func TestPredictionCompletes(t *testing.T) {
	st := newStack(t)
	auth := st.user("carol", 100)

	// The models function published the built-in models at its cold start.
	var models []struct {
		ID   string      `json:"id"`
		Cost json.Number `json:"cost"`
	}
	decode(t, "GET /models", st.api("models", request(t, "models", "/models", nil, nil)), http.StatusOK, &models)
	var ids []string
	for _, m := range models {
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	if !slices.Equal(ids, []string{"cb", "lr", "rf"}) {
		t.Fatalf("GET /models: ids %v, want cb lr rf", ids)
	}

	// No credentials: 401, nothing charged, nothing started.
	resp := st.api("predict", request(t, "predict", "/predict", map[string]any{"model_id": "lr", "input_data": rows}, nil))
	decode(t, "POST /predict without credentials", resp, http.StatusUnauthorized, nil)
	if n := len(st.sfn.started()); n != 0 {
		t.Fatalf("an unauthenticated request started %d executions", n)
	}

	id, input := st.predict(auth, "lr", rows)
	if got := st.balance(auth); got != "90" {
		t.Errorf("balance after a prediction of lr (10) = %s, want 90", got)
	}
	p := st.prediction(auth, id)
	if p.Status != "pending" || p.ModelID != "lr" || p.OutputData != nil || p.CSVURL != "" {
		t.Errorf("pending prediction = %+v", p)
	}
	var gotRows []map[string]float64
	if err := json.Unmarshal(p.InputData, &gotRows); err != nil || len(gotRows) != len(rows) {
		t.Errorf("input_data = %s, want the %d rows sent (%v)", p.InputData, len(rows), err)
	}
	decode(t, "download while pending", st.api("download", request(t, "download", "/predict/"+id+"/download", nil, auth)), http.StatusConflict, nil)
	// Someone else's prediction does not exist for them.
	other := st.user("dave", 0)
	decode(t, "someone else's prediction", st.api("prediction", request(t, "prediction", "/predict/"+id, nil, other)), http.StatusNotFound, nil)

	run := st.runWorkflow(input)
	if run.Status != "SUCCEEDED" || !slices.Equal(run.States, []string{"Schedule", "Wait", "Inference", "Done"}) {
		t.Fatalf("workflow: %+v, want SUCCEEDED through Schedule, Wait, Inference, Done", run)
	}

	p = st.prediction(auth, id)
	if p.Status != "completed" || p.OutputData == nil || len(p.OutputData.Predictions) != len(rows) {
		t.Fatalf("completed prediction = %+v, want %d predictions", p, len(rows))
	}
	csvKey := mlsvc.CSVKey(id)
	csv := st.object(csvKey)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != len(rows)+1 || !strings.Contains(lines[0], "feature_0") || !strings.Contains(lines[0], "prediction") {
		t.Errorf("CSV in the bucket:\n%s\nwant a header with the features and prediction, and %d rows", csv, len(rows))
	}
	u, err := url.Parse(p.CSVURL)
	if err != nil || u.Query().Get("X-Amz-Signature") == "" || u.Path != "/"+bucket+"/"+csvKey {
		t.Errorf("csv_url = %q, want a presigned URL of s3://%s/%s", p.CSVURL, bucket, csvKey)
	}

	// Download: a redirect to the presigned URL, which serves the CSV.
	resp = st.api("download", request(t, "download", "/predict/"+id+"/download", nil, auth))
	decode(t, "GET /predict/{id}/download", resp, http.StatusFound, nil)
	loc := responseHeader(resp, "Location")
	if lu, err := url.Parse(loc); err != nil || lu.Path != "/"+bucket+"/"+csvKey || lu.Query().Get("X-Amz-Signature") == "" {
		t.Fatalf("Location = %q, want the presigned URL of the CSV", loc)
	}
	got, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != http.StatusOK || !bytes.Equal(body, csv) {
		t.Errorf("GET the presigned URL: %d %q, want the CSV", got.StatusCode, body)
	}

	// The list, newest first.
	var list []struct{ ID, Status string }
	decode(t, "GET /predictions", st.api("predictions", request(t, "predictions", "/predictions", nil, auth)), http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != id || list[0].Status != "completed" {
		t.Errorf("GET /predictions = %+v, want just %s, completed", list, id)
	}

	// Step Functions may run the inference again: it changes nothing.
	puts := st.puts.get("/" + bucket + "/" + csvKey)
	if puts != 1 {
		t.Errorf("the CSV was written %d times, want once", puts)
	}
	raw := st.fn("inference").invoke(t, map[string]string{"prediction_id": id})
	if e := asError(raw); e != nil {
		t.Fatalf("inference again: %s: %s", e.ErrorType, e.ErrorMessage)
	}
	if n := st.puts.get("/" + bucket + "/" + csvKey); n != puts {
		t.Errorf("a second inference wrote the CSV again (%d writes)", n)
	}
	if again := st.object(csvKey); !bytes.Equal(again, csv) {
		t.Errorf("the CSV changed after a second inference")
	}
	if q := st.prediction(auth, id); q.Status != "completed" || q.UpdatedAt != p.UpdatedAt {
		t.Errorf("after a second inference: status %s updated_at %s, want completed %s", q.Status, q.UpdatedAt, p.UpdatedAt)
	}
	if got := st.balance(auth); got != "90" {
		t.Errorf("balance after a second inference = %s, want 90", got)
	}

	// Past the bucket's retention the download is a 410 {"detail"}, not a
	// redirect to S3's XML error.
	if _, err := st.s3.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(csvKey)}); err != nil {
		t.Fatal(err)
	}
	decode(t, "download past retention", st.api("download", request(t, "download", "/predict/"+id+"/download", nil, auth)), http.StatusGone, nil)
}

func TestPredictionFailsAndRefunds(t *testing.T) {
	st := newStack(t)
	auth := st.user("erin", 50)

	// A published model whose file in the bucket does not parse.
	const file = "models/broken.json"
	if _, err := st.s3.PutObject(t.Context(), s3PutInput(file, `{"format": "linear", "format_version": 1, "coef": [`)); err != nil {
		t.Fatal(err)
	}
	err := st.store.PutModel(t.Context(), &mlsvc.CatalogEntry{
		ID: "broken", Name: "Broken Model", Cost: 5_00, Description: "its file is cut short",
		File: file, Format: "linear", Features: []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"},
	})
	if err != nil {
		t.Fatal(err)
	}

	id, input := st.predict(auth, "broken", rows[0])
	if got := st.balance(auth); got != "45" {
		t.Errorf("balance after the charge = %s, want 45", got)
	}
	run := st.runWorkflow(input)
	if run.Status != "FAILED" || run.Error != "PredictionFailed" ||
		!slices.Equal(run.States, []string{"Schedule", "Wait", "Inference", "Fail", "Failed"}) {
		t.Fatalf("workflow: %+v, want FAILED with PredictionFailed through Schedule, Wait, Inference, Fail, Failed", run)
	}
	inferences := 0
	for _, inv := range run.Invocations {
		if inv.State == "Inference" {
			inferences++
		}
	}
	if inferences != 1 {
		t.Errorf("inference ran %d times, want once: PredictionFailed is not retried", inferences)
	}
	p := st.prediction(auth, id)
	if p.Status != "failed" || !strings.Contains(p.Error, "broken") {
		t.Errorf("failed prediction: status %q, error %q; want failed, naming the model", p.Status, p.Error)
	}
	if got := st.balance(auth); got != "50" {
		t.Errorf("balance after the refund = %s, want 50", got)
	}
	if n := st.puts.get("/" + bucket + "/" + mlsvc.CSVKey(id)); n != 0 {
		t.Errorf("a failed prediction wrote its CSV %d times", n)
	}

	// A retried Fail task refunds nothing more.
	var fail json.RawMessage
	for _, inv := range run.Invocations {
		if inv.State == "Fail" {
			fail = inv.Payload
		}
	}
	var payload any
	if err := json.Unmarshal(fail, &payload); err != nil {
		t.Fatalf("Fail task payload %s: %v", fail, err)
	}
	if e := asError(st.fn("failure").invoke(t, payload)); e != nil {
		t.Fatalf("failure again: %s: %s", e.ErrorType, e.ErrorMessage)
	}
	if got := st.balance(auth); got != "50" {
		t.Errorf("balance after a second Fail task = %s, want 50 (refunded once)", got)
	}
	// Nor does the EventBridge event of the execution, which ended FAILED.
	if e := asError(st.fn("failure").invoke(t, executionEnded(t, id, "FAILED"))); e != nil {
		t.Fatalf("failure function on the execution's event: %s: %s", e.ErrorType, e.ErrorMessage)
	}
	if got := st.balance(auth); got != "50" {
		t.Errorf("balance after the execution's EventBridge event = %s, want 50 (refunded once)", got)
	}
}

// TestPredictionStartFails: when Step Functions refuses the execution, the
// predict function fails the prediction and refunds it at once.
func TestPredictionStartFails(t *testing.T) {
	st := newStack(t)
	auth := st.user("frank", 20)
	st.sfn.refuse.Store(true)
	resp := st.api("predict", request(t, "predict", "/predict", map[string]any{"model_id": "lr", "input_data": rows}, auth))
	var body struct{ Detail string }
	decode(t, "POST /predict when the workflow cannot start", resp, http.StatusServiceUnavailable, &body)
	if !strings.Contains(body.Detail, "refunded") {
		t.Errorf("detail %q, want it to say the charge was refunded", body.Detail)
	}
	if got := st.balance(auth); got != "20" {
		t.Errorf("balance = %s, want 20 (refunded)", got)
	}
	ps, _, err := st.store.Predictions(t.Context(), auth.userID, mlsvc.Page{Limit: 10})
	if err != nil || len(ps) != 1 || ps[0].Status != mlsvc.StatusFailed {
		t.Errorf("predictions in the table: %+v, %v; want one, failed", ps, err)
	}
}

// TestColdStart starts every bootstrap afresh under aws-lambda-rie, checks
// it answers its sample event and prints aws-lambda-rie's Init Duration (the
// time from process start to the runtime asking for its first event) as
// "COLDSTART <name> init_ms=<x>". In `make test` each starts once (a smoke
// run: the bootstraps and their sample events work); as a measurement
// (MLSVC_BENCH=1, `make bench-coldstart`) the median of five starts.
func TestColdStart(t *testing.T) {
	st := newStack(t)
	runs := 1
	if os.Getenv("MLSVC_BENCH") == "1" {
		runs = 5
	}
	// The first cold start after a deployment publishes the models.
	first := st.start("models")
	first.invoke(t, sampleRequest(t, "models"))
	fmt.Printf("COLDSTART models(first, publishes the catalog) init_ms=%.1f\n", first.initMs(t))

	for _, name := range functionNames {
		var ms []float64
		for range runs {
			f := st.start(name)
			raw := f.invoke(t, sampleRequest(t, name))
			if name != "inference" && name != "failure" { // their sample prediction does not exist
				if e := asError(raw); e != nil {
					t.Errorf("%s: sample event: %s: %s", name, e.ErrorType, e.ErrorMessage)
				}
			}
			ms = append(ms, f.initMs(t))
		}
		sort.Float64s(ms)
		fmt.Printf("COLDSTART %s init_ms=%.1f\n", name, ms[len(ms)/2])
	}
}

// responseHeader returns the response header name, whatever its case.
func responseHeader(resp events.APIGatewayV2HTTPResponse, name string) string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, v := range resp.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func s3PutInput(key, body string) *s3.PutObjectInput {
	return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}
}

// sampleRequest is events/<name>.json as a generic JSON value.
func sampleRequest(t *testing.T, name string) any {
	t.Helper()
	var v any
	sampleEvent(t, name, &v)
	return v
}

// TestSweeperSettlesStale: the scheduled sweeper fails and refunds a
// prediction left pending long past its wait, and leaves a recent one.
func TestSweeperSettlesStale(t *testing.T) {
	st := newStack(t)
	auth := st.user("gina", 30)
	userID := st.userID("gina")
	now := time.Now().UTC()
	for id, age := range map[string]time.Duration{"stale-1": 3 * time.Hour, "recent-1": time.Minute} {
		err := st.store.CreatePrediction(t.Context(), &mlsvc.Prediction{
			ID: id, UserID: userID, ModelID: "lr", Status: mlsvc.StatusPending, Cost: 10_00, Rows: 1,
			Delay: 20 * time.Second, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var ev any
	sampleEvent(t, "sweeper", &ev)
	raw := st.fn("sweeper").invoke(t, ev)
	if e := asError(raw); e != nil {
		t.Fatalf("sweeper: %s: %s", e.ErrorType, e.ErrorMessage)
	}
	var out struct{ Settled int }
	if err := json.Unmarshal(raw, &out); err != nil || out.Settled != 1 {
		t.Fatalf("sweeper answered %s, want settled 1", raw)
	}
	stale, _ := st.store.Prediction(t.Context(), "stale-1")
	recent, _ := st.store.Prediction(t.Context(), "recent-1")
	if stale.Status != mlsvc.StatusFailed || recent.Status != mlsvc.StatusPending {
		t.Errorf("stale %s, recent %s; want failed and pending", stale.Status, recent.Status)
	}
	if got := st.balance(auth); got != "20" {
		t.Errorf("balance = %s, want 20 (two charges, one refund)", got)
	}
}
