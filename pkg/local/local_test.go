package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/testenv"
	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/model"
	"mlsvc/pkg/rowio"
)

// testApp is the local service on a temporary data directory behind a real
// HTTP server.
type testApp struct {
	t   *testing.T
	dir string
	app *local.App
	srv *httptest.Server
}

func open(t *testing.T, dir string, delay mlsvc.Delay) *testApp {
	t.Helper()
	return openAt(t, dir, delay, nil)
}

// openAt opens the app with the clock now (nil: time.Now).
func openAt(t *testing.T, dir string, delay mlsvc.Delay, now func() time.Time) *testApp {
	t.Helper()
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	app, err := local.Open(context.Background(), local.Config{
		DataDir: dir, Delay: delay, Catalog: entries, Builtin: catalog.Files, BcryptCost: bcrypt.MinCost, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, dir: dir, app: app, srv: httptest.NewServer(app.Handler())}
	t.Cleanup(ta.close)
	return ta
}

func (a *testApp) close() {
	if a.srv != nil {
		a.srv.Close()
		a.app.Close()
		a.srv = nil
	}
}

type client struct {
	a          *testApp
	user, pass string
}

// do sends a request and decodes a JSON response into out (if not nil).
func (c *client) do(method, path, body string, out any) int {
	c.a.t.Helper()
	code, _, data := c.send(method, path, jsonType(body), body)
	if code >= 400 {
		var e struct{ Detail string }
		if err := json.Unmarshal([]byte(data), &e); err != nil || e.Detail == "" {
			c.a.t.Errorf("%s %s: status %d without a JSON detail: %s", method, path, code, data)
		}
	}
	if out != nil {
		if err := json.Unmarshal([]byte(data), out); err != nil {
			c.a.t.Fatalf("%s %s: %d %s: %v", method, path, code, data, err)
		}
	}
	return code
}

// jsonType is the Content-Type of a JSON request body: none without one.
func jsonType(body string) string {
	if body == "" {
		return ""
	}
	return "application/json"
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (a *testApp) register(name string, topUp string) *client {
	a.t.Helper()
	c := &client{a: a, user: name, pass: "password-" + name}
	if code := c.do("POST", "/users", fmt.Sprintf(`{"firstname":"Ann","username":%q,"password":%q}`, c.user, c.pass), nil); code != 201 {
		a.t.Fatalf("register %s: status %d", name, code)
	}
	if topUp != "" {
		if code := c.do("POST", "/account/topup", `{"amount":`+topUp+`}`, nil); code != 200 {
			a.t.Fatalf("top up: status %d", code)
		}
	}
	return c
}

// predictionJSON is a prediction as a client decodes it. The tests declare
// the wire format themselves (test/aws has predictionView) instead of using
// httpapi's response types, so they check the API, not the server against
// its own types.
type predictionJSON struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Error      string          `json:"error"`
	InputData  json.RawMessage `json:"input_data"`
	OutputData *mlsvc.Output   `json:"output_data"`
	CSVURL     string          `json:"csv_url"`
}

func (c *client) get(id string) predictionJSON {
	c.a.t.Helper()
	var p predictionJSON
	if code := c.do("GET", "/predict/"+id, "", &p); code != 200 {
		c.a.t.Fatalf("GET /predict/%s: %d", id, code)
	}
	return p
}

func (c *client) wait(id string) predictionJSON {
	c.a.t.Helper()
	var p predictionJSON
	testenv.WaitFor(c.a.t, 30*time.Second, 20*time.Millisecond, func() error {
		if p = c.get(id); p.Status == "pending" {
			return fmt.Errorf("prediction %s still pending", id)
		}
		return nil
	})
	return p
}

func (c *client) balance() string {
	c.a.t.Helper()
	var me struct{ Balance json.Number }
	c.do("GET", "/users/me", "", &me)
	return me.Balance.String()
}

func (c *client) predict(modelID, input string) (int, string) {
	c.a.t.Helper()
	var r struct {
		PredictionID string `json:"prediction_id"`
		Status       string `json:"status"`
	}
	code := c.do("POST", "/predict", fmt.Sprintf(`{"model_id":%q,"input_data":%s}`, modelID, input), &r)
	if code == 202 && r.Status != "pending" {
		c.a.t.Errorf("202 with status %q", r.Status)
	}
	return code, r.PredictionID
}

const rows = `[{"feature_0":0.1,"feature_1":0.2,"feature_2":0.3,"feature_3":0.4,"feature_4":0.5},
	{"feature_0":1.5,"feature_1":-2,"feature_2":3.25,"feature_3":0,"feature_4":7}]`

// TestWalkthrough follows the README: register, top up, predict with each
// model, poll, read the result and download the CSV; the numbers are the
// model runtime's.
func TestWalkthrough(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{})
	c := a.register("alice", "100.5")
	if got := c.balance(); got != "100.5" {
		t.Fatalf("balance = %s, want 100.5", got)
	}
	var ms []struct {
		ID      string
		Cost    json.Number
		Quality *mlsvc.Quality
	}
	if code := c.do("GET", "/models", "", &ms); code != 200 || len(ms) != 3 {
		t.Fatalf("GET /models: %d, %d models", code, len(ms))
	}
	spent := 0
	for _, m := range ms {
		if m.Quality == nil {
			t.Errorf("model %s has no quality metric", m.ID)
		}
		code, id := c.predict(m.ID, rows)
		if code != 202 {
			t.Fatalf("predict %s: %d", m.ID, code)
		}
		n, _ := m.Cost.Int64()
		spent += int(n)
		p := c.wait(id)
		if p.Status != "completed" {
			t.Fatalf("prediction %s: %s (%s)", m.ID, p.Status, p.Error)
		}
		want, wantCSV := reference(t, m.ID, rows)
		if fmt.Sprint(p.OutputData.Predictions) != fmt.Sprint(want) {
			t.Errorf("%s output_data = %v, want %v", m.ID, p.OutputData.Predictions, want)
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, []byte(rows))
		if !bytes.Equal(p.InputData, compact.Bytes()) {
			t.Errorf("input_data = %s, want the rows as submitted", p.InputData)
		}
		// The download redirects to the same signed URL's content.
		req, _ := http.NewRequest("GET", a.srv.URL+"/predict/"+id+"/download", nil)
		req.SetBasicAuth(c.user, c.pass)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 302 {
			t.Fatalf("download: %d", resp.StatusCode)
		}
		csv := get(t, a.srv.URL+resp.Header.Get("Location"), 200)
		if csv != wantCSV {
			t.Errorf("%s CSV =\n%s\nwant\n%s", m.ID, csv, wantCSV)
		}
		if got := get(t, a.srv.URL+p.CSVURL, 200); got != wantCSV {
			t.Errorf("csv_url serves %q", got)
		}
	}
	if got, want := c.balance(), mlsvc.Cents(10050-spent*100).String(); got != want {
		t.Errorf("balance = %s, want %s", got, want)
	}
	var list []struct{ ID, Status string }
	c.do("GET", "/predictions", "", &list)
	if len(list) != 3 {
		t.Errorf("GET /predictions: %d items, want 3", len(list))
	}
}

// reference computes what the model runtime gives for rows, and its CSV.
func reference(t *testing.T, modelID, rows string) ([]float64, string) {
	t.Helper()
	data, err := catalog.Files.ReadFile(modelID + ".json")
	if err != nil {
		t.Fatal(err)
	}
	pm, err := model.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rowio.ParseJSON([]byte(rows), pm.Features(), mlsvc.MaxRows)
	if err != nil {
		t.Fatal(err)
	}
	preds := rowio.Predict(pm, r)
	var csv bytes.Buffer
	if err := rowio.WriteCSV(&csv, r, preds); err != nil {
		t.Fatal(err)
	}
	return preds, csv.String()
}

// get fetches url (a signed blob URL) without the API client. localblob's
// tests have fetch of the same shape, in their own package.
func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("GET %s: %d, want %d: %s", url, resp.StatusCode, want, data)
	}
	return string(data)
}

// atOnce runs f n times concurrently and counts the statuses it returns.
func atOnce(n int, f func() int) map[int]int {
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = f() })
	}
	wg.Wait()
	count := map[int]int{}
	for _, code := range codes {
		count[code]++
	}
	return count
}

// TestConcurrentCharges: 30 parallel requests from a user whose balance
// covers exactly 5.
func TestConcurrentCharges(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	c := a.register("bob", "50")
	count := atOnce(30, func() int { code, _ := c.predict("lr", rows); return code })
	if count[202] != 5 || count[402] != 25 {
		t.Errorf("statuses = %v, want 5×202 and 25×402", count)
	}
	if got := c.balance(); got != "0" {
		t.Errorf("balance = %s, want 0", got)
	}
	var list []struct{ Status string }
	c.do("GET", "/predictions", "", &list)
	if len(list) != 5 {
		t.Errorf("%d predictions stored, want 5 (one per charge)", len(list))
	}
	a.audit()
}

// audit fails the test on any mismatch mlsvc.Audit finds in the store.
func (a *testApp) audit() {
	a.t.Helper()
	ms, err := mlsvc.Audit(context.Background(), a.app.Store)
	if err != nil {
		a.t.Fatalf("Audit: %v", err)
	}
	for _, m := range ms {
		a.t.Errorf("Audit: %s", m)
	}
}

// TestRestartCompletesPending: a prediction pending when the service stops
// completes after the next start, charged once.
func TestRestartCompletesPending(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	c := a.register("carol", "30")
	code, id := c.predict("rf", rows)
	if code != 202 {
		t.Fatalf("predict: %d", code)
	}
	if p := c.get(id); p.Status != "pending" {
		t.Fatalf("before the restart: %s, want pending (its wait is an hour)", p.Status)
	}
	a.close()
	// The next start happens after the wait is over: the runner's clock
	// says so, and it runs the prediction at once.
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	b := openAt(t, dir, mlsvc.Delay{}, later)
	c.a = b
	if p := c.wait(id); p.Status != "completed" {
		t.Fatalf("after restart: %s (%s)", p.Status, p.Error)
	}
	if got := c.balance(); got != "15" {
		t.Errorf("balance = %s, want 15 (charged once)", got)
	}
}

// TestFailedPredictionRefunds: a model whose file cannot be loaded fails
// the prediction with a reason and refunds the charge.
func TestFailedPredictionRefunds(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{})
	ctx := context.Background()
	if err := a.app.Blobs.Put(ctx, "models/broken.json", "application/json", strings.NewReader(`{"format":"linear"`)); err != nil {
		t.Fatal(err)
	}
	err := a.app.Store.PutModel(ctx, &mlsvc.CatalogEntry{
		ID: "broken", Name: "Broken", Cost: 7_25, File: "models/broken.json",
		Features: []string{"feature_0", "feature_1", "feature_2", "feature_3", "feature_4"}, CreatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := a.register("dave", "10")
	code, id := c.predict("broken", rows)
	if code != 202 {
		t.Fatalf("predict: %d", code)
	}
	p := c.wait(id)
	if p.Status != "failed" || p.Error == "" {
		t.Fatalf("status %s, error %q; want failed with a reason", p.Status, p.Error)
	}
	if got := c.balance(); got != "10" {
		t.Errorf("balance = %s, want 10 (refunded)", got)
	}
	a.audit()
	if code := c.do("GET", "/predict/"+id+"/download", "", nil); code != 409 {
		t.Errorf("download of a failed prediction: %d, want 409", code)
	}
}

// TestBadInput: every kind of bad request gets its 4xx and a detail, and
// nothing is charged.
func TestBadInput(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	c := a.register("erin", "1000")
	other := a.register("frank", "100")
	_, othersID := other.predict("lr", rows)
	row := func(f4 string) string {
		return `{"feature_0":1,"feature_1":2,"feature_2":3,"feature_3":4,"feature_4":` + f4 + `}`
	}
	many := "[" + strings.Repeat(row("5")+",", mlsvc.MaxRows) + row("5") + "]"
	anon := &client{a: a}
	wrong := &client{a: a, user: "erin", pass: "wrong-password"}
	nobody := &client{a: a, user: "nobody", pass: "whatever1"}
	tests := []struct {
		name         string
		c            *client
		method, path string
		body         string
		want         int
		detail       string // a part of the detail
	}{
		{"malformed JSON", c, "POST", "/predict", `{"model_id":"lr",`, 400, "JSON"},
		{"body not an object", c, "POST", "/predict", `[1,2]`, 400, "object"},
		{"model_id wrong type", c, "POST", "/predict", `{"model_id":{},"input_data":` + row("5") + `}`, 400, "model_id"},
		{"missing input_data", c, "POST", "/predict", `{"model_id":"lr"}`, 400, "input_data"},
		{"input_data a string", c, "POST", "/predict", `{"model_id":"lr","input_data":"x"}`, 400, "input_data"},
		{"missing feature", c, "POST", "/predict", `{"model_id":"lr","input_data":[` + row("5") + `,{"feature_0":1}]}`, 400, "input_data[1].feature_1: missing"},
		{"feature a string", c, "POST", "/predict", `{"model_id":"lr","input_data":` + row(`"5"`) + `}`, 400, "input_data.feature_4: not a number"},
		{"feature NaN string", c, "POST", "/predict", `{"model_id":"lr","input_data":` + row(`"NaN"`) + `}`, 400, "feature_4"},
		{"NaN literal", c, "POST", "/predict", `{"model_id":"lr","input_data":` + row(`NaN`) + `}`, 400, "JSON"},
		{"Infinity literal", c, "POST", "/predict", `{"model_id":"lr","input_data":` + row(`Infinity`) + `}`, 400, "JSON"},
		{"overflowing number", c, "POST", "/predict", `{"model_id":"lr","input_data":` + row(`1e999`) + `}`, 400, "feature_4"},
		{"feature null", c, "POST", "/predict", `{"model_id":"lr","input_data":` + row(`null`) + `}`, 400, "feature_4"},
		{"empty array", c, "POST", "/predict", `{"model_id":"lr","input_data":[]}`, 400, "input_data"},
		{"too many rows", c, "POST", "/predict", `{"model_id":"lr","input_data":` + many + `}`, 413, "10000"},
		{"body too large", c, "POST", "/predict", `{"model_id":"lr","input_data":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`, 413, "larger"},
		{"unknown model", c, "POST", "/predict", `{"model_id":"nope","input_data":` + row("5") + `}`, 404, "nope"},
		{"someone else's prediction", c, "GET", "/predict/" + othersID, "", 404, "not found"},
		{"someone else's download", c, "GET", "/predict/" + othersID + "/download", "", 404, "not found"},
		{"unknown prediction", c, "GET", "/predict/does-not-exist", "", 404, "not found"},
		{"no credentials", anon, "GET", "/users/me", "", 401, "authentication"},
		{"wrong password", wrong, "GET", "/predictions", "", 401, "invalid"},
		{"unknown user", nobody, "POST", "/predict", `{"model_id":"lr","input_data":` + row("5") + `}`, 401, "invalid"},
		{"zero top-up", c, "POST", "/account/topup", `{"amount":0}`, 400, "positive"},
		{"negative top-up", c, "POST", "/account/topup", `{"amount":-5}`, 400, "positive"},
		{"over-precise top-up", c, "POST", "/account/topup", `{"amount":1.005}`, 400, "2 decimal"},
		{"huge top-up", c, "POST", "/account/topup", `{"amount":1000000.01}`, 400, "too large"},
		{"string top-up", c, "POST", "/account/topup", `{"amount":"10"}`, 400, "amount"},
		{"missing amount", c, "POST", "/account/topup", `{}`, 400, "amount"},
		{"short password", anon, "POST", "/users", `{"firstname":"A","username":"shorty","password":"1234567"}`, 400, "password"},
		{"missing firstname", anon, "POST", "/users", `{"username":"nofirst","password":"12345678"}`, 400, "firstname"},
		{"taken username", anon, "POST", "/users", `{"firstname":"E","username":"ERIN","password":"12345678"}`, 409, "taken"},
		{"bad limit", c, "GET", "/predictions?limit=abc", "", 400, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e struct{ Detail string }
			got := tt.c.do(tt.method, tt.path, tt.body, &e)
			if got != tt.want || !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("%s %s: %d %q, want %d with %q", tt.method, tt.path, got, e.Detail, tt.want, tt.detail)
			}
		})
	}
	if got := c.balance(); got != "1000" {
		t.Errorf("balance = %s after bad requests, want 1000", got)
	}
}

// TestCSVSubmission: rows posted as CSV give the same numbers as the model
// runtime on that CSV; a bad cell names its row and column.
func TestCSVSubmission(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{})
	c := a.register("gina", "100")
	sample, err := os.ReadFile("../../catalog/sample_data.csv")
	if err != nil {
		t.Fatal(err)
	}
	post := func(query, body string) (int, string, string) {
		req, _ := http.NewRequest("POST", a.srv.URL+"/predict"+query, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/csv")
		req.SetBasicAuth(c.user, c.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			PredictionID string `json:"prediction_id"`
			Detail       string
		}
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r.PredictionID, r.Detail
	}
	code, id, detail := post("?model_id=cb", string(sample))
	if code != 202 {
		t.Fatalf("POST CSV: %d %s", code, detail)
	}
	p := c.wait(id)
	if p.Status != "completed" {
		t.Fatalf("status %s (%s)", p.Status, p.Error)
	}
	data, _ := catalog.Files.ReadFile("cb.json")
	pm, _ := model.Parse(data)
	rows, err := rowio.ParseCSV(bytes.NewReader(sample), pm.Features(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(p.OutputData.Predictions), fmt.Sprint(rowio.Predict(pm, rows)); got != want {
		t.Errorf("output_data = %s, want %s", got, want)
	}

	bad := "feature_0,feature_1,feature_2,feature_3,feature_4\n1,2,3,4,5\n1,2,x,4,5\n"
	if code, _, detail := post("?model_id=cb", bad); code != 400 || detail != `CSV row 2, column "feature_2": not a number` {
		t.Errorf("bad CSV: %d %q", code, detail)
	}
	if code, _, detail := post("", string(sample)); code != 400 || !strings.Contains(detail, "model_id") {
		t.Errorf("CSV without model_id: %d %q", code, detail)
	}
	if got := c.balance(); got != "80" {
		t.Errorf("balance = %s, want 80 (one charge of 20)", got)
	}
}

// TestIdempotencyKey: retries of one request with its Idempotency-Key, even
// concurrent ones, charge once and answer with the same prediction; the
// same key with other rows or another model is a 422 that charges nothing.
func TestIdempotencyKey(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	c := a.register("hana", "100")
	post := func(key, input string) (int, string, string) {
		body := `{"model_id":"lr","input_data":` + input + `}`
		req, _ := http.NewRequest("POST", a.srv.URL+"/predict", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		req.SetBasicAuth(c.user, c.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, "", ""
		}
		defer resp.Body.Close()
		var r struct {
			PredictionID string `json:"prediction_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r.PredictionID, resp.Header.Get("Idempotent-Replayed")
	}
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, id, _ := post("order-42", rows)
			if code != 202 {
				t.Errorf("attempt %d: %d", i, code)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("ids differ: %v", ids)
		}
	}
	if code, id, replayed := post("order-42", rows); code != 202 || id != ids[0] || replayed != "true" {
		t.Errorf("retry: %d %s replayed=%q, want 202 %s true", code, id, replayed, ids[0])
	}
	if got := c.balance(); got != "90" {
		t.Errorf("balance = %s after 11 attempts, want 90 (one charge)", got)
	}
	other := `{"feature_0":9,"feature_1":9,"feature_2":9,"feature_3":9,"feature_4":9}`
	if code, id, _ := post("order-42", other); code != 422 || id != "" {
		t.Errorf("same key, other rows: %d %s, want 422", code, id)
	}
	if code, id, _ := post("order-43", other); code != 202 || id == ids[0] {
		t.Errorf("another key, other rows: %d %s, want a new prediction", code, id)
	}
	if code, _, _ := post(strings.Repeat("k", 256), rows); code != 400 {
		t.Errorf("overlong key: %d, want 400", code)
	}
	if got := c.balance(); got != "80" {
		t.Errorf("balance = %s, want 80", got)
	}
}

// TestLargeInputOmitted: a prediction whose rows are too large to return
// inline (the response must fit Lambda's 6 MB) says so; its CSV has them.
func TestLargeInputOmitted(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{})
	c := a.register("ivan", "100")
	note := strings.Repeat("n", 500)
	row := `{"feature_0":1,"feature_1":2,"feature_2":3,"feature_3":4,"feature_4":5,"note":"` + note + `"}`
	input := "[" + strings.Repeat(row+",", 9_999) + row + "]"
	code, id := c.predict("lr", input)
	if code != 202 {
		t.Fatalf("predict: %d", code)
	}
	var p struct {
		predictionJSON
		InputOmitted bool `json:"input_data_omitted"`
	}
	c.wait(id)
	c.do("GET", "/predict/"+id, "", &p)
	if p.Status != "completed" || !p.InputOmitted || string(p.InputData) != "null" || len(p.OutputData.Predictions) != 10_000 {
		t.Errorf("status %s, omitted %v, input %.20s, %d predictions", p.Status, p.InputOmitted, p.InputData, len(p.OutputData.Predictions))
	}
	csv := get(t, a.srv.URL+p.CSVURL, 200)
	if n := strings.Count(csv, note); n != 10_000 {
		t.Errorf("CSV has %d rows with the note, want 10000", n)
	}
}

// TestCSVTooLarge: a CSV body over the limit is a 413, not a parse error.
func TestCSVTooLarge(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{})
	c := a.register("jane", "100")
	body := "feature_0,feature_1,feature_2,feature_3,feature_4,note\n" +
		strings.Repeat("1,2,3,4,5,"+strings.Repeat("x", 1000)+"\n", 7000)
	req, _ := http.NewRequest("POST", a.srv.URL+"/predict?model_id=lr", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/csv")
	req.SetBasicAuth(c.user, c.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	if got := c.balance(); got != "100" {
		t.Errorf("balance = %s, want 100", got)
	}
}

// TestExpiredFiles: a prediction whose files are gone (expired) still
// shows its record, saying so, instead of failing. It opens as
// TestStartSweepsUnreferencedFiles does, with a completed prediction whose
// files it then removes.
func TestExpiredFiles(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, mlsvc.Delay{})
	c := a.register("kate", "100")
	_, id := c.predict("lr", rows)
	c.wait(id)
	if err := os.RemoveAll(filepath.Join(dir, "blobs", "predictions", id)); err != nil {
		t.Fatal(err)
	}
	var p struct {
		predictionJSON
		FilesExpired bool `json:"files_expired"`
	}
	if code := c.do("GET", "/predict/"+id, "", &p); code != 200 {
		t.Fatalf("GET: %d", code)
	}
	if p.Status != "completed" || !p.FilesExpired || p.OutputData != nil || p.CSVURL != "" {
		t.Errorf("got status %s, files_expired %v, output %v, csv_url %q", p.Status, p.FilesExpired, p.OutputData, p.CSVURL)
	}
	// The download says so, as a {"detail"} 410, not a redirect to a
	// storage error.
	if code := c.do("GET", "/predict/"+id+"/download", "", nil); code != 410 {
		t.Errorf("download past retention: %d, want 410", code)
	}
}

// TestStartSweepsUnreferencedFiles: at start, temporary files of writes a
// killed process never finished and the files of predictions that do not
// exist are removed; a prediction's own files stay. It opens as
// TestExpiredFiles does, with a completed prediction and its files.
func TestStartSweepsUnreferencedFiles(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, mlsvc.Delay{})
	c := a.register("sam", "20")
	code, id := c.predict("lr", rows)
	if code != 202 || c.wait(id).Status != "completed" {
		t.Fatalf("predict: %d", code)
	}
	a.close()
	blobs := filepath.Join(dir, "blobs")
	old := time.Now().Add(-time.Hour)
	for _, f := range []string{"predictions/" + id + "/.tmp-123", "predictions/gone/input.json", "models/.tmp-9"} {
		p := filepath.Join(blobs, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(blobs, "models", ".tmp-fresh") // a write in flight elsewhere
	if err := os.WriteFile(fresh, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := open(t, dir, mlsvc.Delay{})
	for _, f := range []string{"predictions/" + id + "/.tmp-123", "predictions/gone/input.json", "models/.tmp-9"} {
		if _, err := os.Stat(filepath.Join(blobs, filepath.FromSlash(f))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the start: %v, want removed", f, err)
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
	c.a = b
	if p := c.get(id); p.Status != "completed" || p.InputData == nil {
		t.Errorf("the prediction's own files: %s, input %s", p.Status, p.InputData)
	}
}
