package lambdafn

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/crypto/bcrypt"

	"mlsvc/pkg/mlsvc"
)

// fakeStore is an mlsvc.Store whose methods the tests set; any other
// method panics (the embedded nil interface).
type fakeStore struct {
	mlsvc.Store
	userByUsername func(string) (*mlsvc.User, error)
	userByID       func(string) (*mlsvc.User, error)
	models         func() ([]*mlsvc.CatalogEntry, error)
	model          func(string) (*mlsvc.CatalogEntry, error)
	createModel    func(*mlsvc.CatalogEntry) error
}

func (f *fakeStore) UserByUsername(_ context.Context, name string) (*mlsvc.User, error) {
	return f.userByUsername(name)
}
func (f *fakeStore) UserByID(_ context.Context, id string) (*mlsvc.User, error) {
	return f.userByID(id)
}
func (f *fakeStore) Models(context.Context) ([]*mlsvc.CatalogEntry, error) { return f.models() }
func (f *fakeStore) Model(_ context.Context, id string) (*mlsvc.CatalogEntry, error) {
	return f.model(id)
}
func (f *fakeStore) CreateModel(_ context.Context, m *mlsvc.CatalogEntry) error {
	return f.createModel(m)
}

func TestReadEnv(t *testing.T) {
	full := map[string]string{
		"TABLE_USERS": "u", "TABLE_USERNAMES": "n", "TABLE_MODELS": "m", "TABLE_PREDICTIONS": "p", "TABLE_ACCESS": "a", "TABLE_LEDGER": "l",
		"BUCKET": "b", "STATE_MACHINE_ARN": "arn", "MLSVC_DELAY": "1s-3s", "MLSVC_BCRYPT_COST": "6",
		"S3_FORCE_PATH_STYLE": "true",
	}
	with := func(k, v string) func(string) string {
		return func(name string) string {
			if name == k {
				return v
			}
			return full[name]
		}
	}
	e, err := ReadEnv(with("", ""))
	if err != nil {
		t.Fatal(err)
	}
	if e.Tables.Users != "u" || e.Tables.Usernames != "n" || e.Tables.Models != "m" || e.Tables.Predictions != "p" ||
		e.Bucket != "b" || e.StateMachineARN != "arn" || e.Delay != (mlsvc.Delay{Min: time.Second, Max: 3 * time.Second}) ||
		e.BcryptCost != 6 || !e.S3PathStyle {
		t.Errorf("ReadEnv = %+v", e)
	}
	if e.Tables.Access != "a" || e.AddressLimit != mlsvc.DefaultAddressLimit || e.RateLimit != mlsvc.DefaultRateLimit {
		t.Errorf("ReadEnv access settings = %+v", e)
	}
	if e, err := ReadEnv(with("MLSVC_RATE_LIMIT", "off")); err != nil || !e.RateLimit.Off() {
		t.Errorf("MLSVC_RATE_LIMIT=off: %+v, %v", e.RateLimit, err)
	}
	if e, err := ReadEnv(with("MLSVC_DELAY", "")); err != nil || e.Delay != (mlsvc.Delay{Min: 10 * time.Second, Max: 25 * time.Second}) {
		t.Errorf("default delay = %+v, %v; want 10s-25s", e.Delay, err)
	}
	for _, c := range []struct{ name, value, wantErr string }{
		{"TABLE_MODELS", "", "TABLE_MODELS"},
		{"TABLE_USERS", "", "TABLE_USERS"},
		{"MLSVC_DELAY", "soon", "MLSVC_DELAY"},
		{"MLSVC_DELAY", "5s-1s", "ascending"},
		{"MLSVC_BCRYPT_COST", "99", "MLSVC_BCRYPT_COST"},
		{"S3_FORCE_PATH_STYLE", "yes please", "S3_FORCE_PATH_STYLE"},
		{"TABLE_ACCESS", "", "TABLE_ACCESS"},
		{"MLSVC_RATE_LIMIT", "fast", "MLSVC_RATE_LIMIT"},
		{"MLSVC_ADDRESS_LIMIT", "0/min", "MLSVC_ADDRESS_LIMIT"},
	} {
		if _, err := ReadEnv(with(c.name, c.value)); err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("ReadEnv with %s=%q: error %v, want one naming %s", c.name, c.value, err, c.wantErr)
		}
	}
	// The bucket and the state machine are checked by what uses them.
	if _, err := S3(awsConfigForTest(), Env{}); err == nil || !strings.Contains(err.Error(), "BUCKET") {
		t.Errorf("S3 without a bucket: %v, want an error naming BUCKET", err)
	}
	if _, err := StepFunctions(awsConfigForTest(), Env{}); err == nil || !strings.Contains(err.Error(), "STATE_MACHINE_ARN") {
		t.Errorf("StepFunctions without an ARN: %v, want an error naming STATE_MACHINE_ARN", err)
	}
}

func TestAWSConfig(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_SESSION_TOKEN", "TOKEN")
	t.Setenv("AWS_ENDPOINT_URL", "")
	cfg, err := AWSConfig()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "SECRET" || creds.SessionToken != "TOKEN" {
		t.Errorf("AWSConfig: region %q, credentials %+v, %v", cfg.Region, creds, err)
	}
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := AWSConfig(); err == nil {
		t.Error("AWSConfig without a region: no error")
	}
}

// TestEndpoints: template.yaml declares the endpoint variables empty (for
// sam local's env.json to fill); empty means AWS's own endpoints.
func TestEndpoints(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_ENDPOINT_URL", "")
	for _, c := range []struct {
		endpoint string
		local    bool
	}{{"", false}, {"http://127.0.0.1:8001", true}} {
		t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", c.endpoint)
		cfg, err := AWSConfig()
		if err != nil {
			t.Fatal(err)
		}
		o := newDynamoDB(cfg).Options()
		got := aws.ToString(o.BaseEndpoint)
		if got != c.endpoint || o.DisableValidateResponseChecksum != c.local {
			t.Errorf("AWS_ENDPOINT_URL_DYNAMODB=%q: BaseEndpoint %q, checksums off %v; want %q, %v",
				c.endpoint, got, o.DisableValidateResponseChecksum, c.endpoint, c.local)
		}
	}
}

func awsConfigForTest() aws.Config { return aws.Config{Region: "us-east-1"} }

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func newService(t *testing.T, store mlsvc.Store) *mlsvc.Service {
	t.Helper()
	return mlsvc.New(mlsvc.Config{Store: store, Blobs: noBlobs{}, Workflow: noWorkflow{}, BcryptCost: bcrypt.MinCost})
}

func TestRoute(t *testing.T) {
	ann := &mlsvc.User{ID: "u-1", Firstname: "Ann", Username: "ann", Balance: 12_50, PasswordHash: "$2a$04$x"}
	store := &fakeStore{userByID: func(id string) (*mlsvc.User, error) {
		if id == "u-1" {
			return ann, nil
		}
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", id)
	}}
	svc := newService(t, store)
	token, _, err := svc.IssueToken(ann)
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := newService(t, store).IssueToken(ann) // signed by another keyset
	handle := Route(svc, "me", nil, nil)
	event := func(authorization string) events.APIGatewayV2HTTPRequest {
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /users/me", RawPath: "/users/me"}
		ev.RequestContext.HTTP.Method = http.MethodGet
		ev.RequestContext.HTTP.Path = "/users/me"
		if authorization != "" {
			ev.Headers = map[string]string{"authorization": authorization}
		}
		return ev
	}
	for _, c := range []struct {
		name   string
		header string
		status int
		body   string
	}{
		{"session token", "Bearer " + token, 200, `"balance":12.5`},
		{"no credentials", "", 401, `"detail":`},
		{"token of another keyset", "Bearer " + other, 401, `"detail":`},
		{"garbage token", "Bearer abc", 401, `"detail":`},
		{"unknown scheme", "Digest x", 401, `"detail":`},
	} {
		resp, err := handle(context.Background(), event(c.header))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if resp.StatusCode != c.status || !strings.Contains(resp.Body, c.body) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, resp.StatusCode, resp.Body, c.status, c.body)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Route of an unknown name did not panic")
		}
	}()
	Route(svc, "no-such-route", nil, nil)
}

func TestPublish(t *testing.T) {
	catalog := []*mlsvc.CatalogEntry{
		{ID: "lr", Name: "Linear", Cost: 10_00, File: "models/lr.json"},
		{ID: "rf", Name: "Forest", Cost: 15_00, File: "models/rf.json"},
	}
	for _, c := range []struct {
		name      string
		published []*mlsvc.CatalogEntry
		puts      []string
	}{
		{"first deployment", nil, []string{"lr", "rf"}},
		{"one missing", catalog[:1], []string{"rf"}},
		{"all published", catalog, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var puts []string
			have := map[string]*mlsvc.CatalogEntry{}
			for _, m := range c.published {
				have[m.ID] = m
			}
			store := &fakeStore{
				models: func() ([]*mlsvc.CatalogEntry, error) { return c.published, nil },
				model: func(id string) (*mlsvc.CatalogEntry, error) {
					if m := have[id]; m != nil {
						return m, nil
					}
					return nil, mlsvc.Errorf(mlsvc.ENotFound, "model %s not found", id)
				},
				createModel: func(m *mlsvc.CatalogEntry) error { puts = append(puts, m.ID); return nil },
			}
			opts := Options{Catalog: func() ([]*mlsvc.CatalogEntry, error) { return catalog, nil }}
			if err := publish(context.Background(), newService(t, store), opts); err != nil {
				t.Fatal(err)
			}
			if strings.Join(puts, ",") != strings.Join(c.puts, ",") {
				t.Errorf("published %v, want %v", puts, c.puts)
			}
		})
	}
}

func TestNotWired(t *testing.T) {
	// A function built without S3 or Step Functions fails loudly if it ever
	// reaches them; it never panics.
	if err := (noBlobs{}).Put(context.Background(), "k", "text/plain", strings.NewReader("x")); err == nil {
		t.Error("noBlobs.Put: no error")
	}
	if _, err := (noBlobs{}).Get(context.Background(), "k"); err == nil {
		t.Error("noBlobs.Get: no error")
	}
	if _, err := (noBlobs{}).URL(context.Background(), "k", "f", time.Minute); err == nil {
		t.Error("noBlobs.URL: no error")
	}
	if err := (noWorkflow{}).Start(context.Background(), &mlsvc.Prediction{}); err == nil {
		t.Error("noWorkflow.Start: no error")
	}
}
