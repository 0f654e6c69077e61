package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/stepfn"
)

// specRoutes are the endpoints of SPEC.md's "HTTP API" table, with path
// parameters as API Gateway writes them, and whether they need credentials.
var specRoutes = []struct {
	method, path string
	auth         bool
}{
	{"POST", "/users", false},
	{"GET", "/users/me", true},
	{"POST", "/account/topup", true},
	{"GET", "/models", false},
	{"POST", "/predict", true},
	{"GET", "/predict/{id}", true},
	{"GET", "/predict/{id}/download", true},
	{"GET", "/predictions", true},
	{"POST", "/predict/{id}/cancel", true}, // Version 2
	{"GET", "/account/webhook-secret", true},
	{"POST", "/account/webhook-secret/rotate", true},
}

// apiRoutes maps "METHOD /path" to the name of the route in httpapi, which
// is also the name of its directory in functions/.
func apiRoutes() map[string]string {
	m := map[string]string{}
	for _, rt := range httpapi.New(nil, nil, nil).Routes() {
		m[rt.Method+" "+rt.Pattern] = rt.Name
	}
	return m
}

// TestSpecRoutesAreTheAPIRoutes keeps the route table of this test in step
// with the code that serves it.
func TestSpecRoutesAreTheAPIRoutes(t *testing.T) {
	api := apiRoutes()
	if len(api) != len(specRoutes) {
		t.Errorf("httpapi has %d routes, SPEC.md %d", len(api), len(specRoutes))
	}
	for _, r := range specRoutes {
		if _, ok := api[r.method+" "+r.path]; !ok {
			t.Errorf("SPEC.md route %s %s is not served by httpapi.Routes", r.method, r.path)
		}
	}
}

// httpEvent is an HttpApi event source of a function in the template.
type httpEvent struct {
	function, method, path string
	authorizer             string // Auth.Authorizer, "" for the API's default
}

func httpEvents(tpl cfnTemplate) []httpEvent {
	var out []httpEvent
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		evs, _ := get(tpl.resource(id), "Properties", "Events").(map[string]any)
		for _, ev := range evs {
			if str(get(ev, "Type")) != "HttpApi" {
				continue
			}
			out = append(out, httpEvent{
				function:   id,
				method:     str(get(ev, "Properties", "Method")),
				path:       str(get(ev, "Properties", "Path")),
				authorizer: str(get(ev, "Properties", "Auth", "Authorizer")),
			})
		}
	}
	return out
}

// buildTargets returns, for each function of the template, the directory
// under functions/ its `make build-<LogicalId>` target builds, after
// checking the command is the arm64 Lambda build.
func buildTargets(t *testing.T, tpl cfnTemplate) map[string]string {
	t.Helper()
	root := repoRoot(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed to check the build targets: %v", err)
	}
	pkgRE := regexp.MustCompile(`(?:^|\s)\./functions/([a-z0-9_-]+)(?:\s|$)`)
	out := map[string]string{}
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		cmd := exec.Command("make", "-n", "-s", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR=/sam-artifacts")
		cmd.Dir = root
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: no Makefile target build-%s (sam build runs it): %v\n%s", id, id, err, b)
			continue
		}
		recipe := string(b)
		for _, want := range []string{
			"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", " build ", "-tags lambda.norpc", "-trimpath", "-s -w",
			"-o /sam-artifacts/bootstrap",
		} {
			if !strings.Contains(recipe, want) {
				t.Errorf("%s: make build-%s does not contain %q:\n%s", id, id, want, recipe)
			}
		}
		m := pkgRE.FindStringSubmatch(recipe)
		if m == nil {
			t.Errorf("%s: make build-%s builds no ./functions/<name>:\n%s", id, id, recipe)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "functions", m[1], "main.go")); err != nil {
			t.Errorf("%s: make build-%s builds ./functions/%s, which has no main.go", id, id, m[1])
		}
		out[id] = m[1]
	}
	return out
}

func TestTemplateFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	root := repoRoot(t)
	targets := buildTargets(t, tpl)

	functions := tpl.resources("AWS::Serverless::Function")
	built := map[string]string{} // functions/<dir> → LogicalId
	for _, id := range functions {
		if got := str(get(tpl.resource(id), "Metadata", "BuildMethod")); got != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %q, want makefile", id, got)
		}
		codeURI := str(tpl.functionProperty(id, "CodeUri"))
		if _, err := os.Stat(filepath.Join(root, codeURI, "Makefile")); err != nil {
			t.Errorf("%s: CodeUri %q has no Makefile, which BuildMethod makefile runs", id, codeURI)
		}
		for prop, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap"} {
			if got := str(tpl.functionProperty(id, prop)); got != want {
				t.Errorf("%s: %s = %q, want %q", id, prop, got, want)
			}
		}
		if got := list(tpl.functionProperty(id, "Architectures")); len(got) != 1 || str(got[0]) != "arm64" {
			t.Errorf("%s: Architectures = %v, want [arm64]", id, got)
		}
		if dir, ok := targets[id]; ok {
			if other, dup := built[dir]; dup {
				t.Errorf("%s and %s both build functions/%s", other, id, dir)
			}
			built[dir] = id
		}
	}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, ok := built[d.Name()]; d.IsDir() && !ok {
			t.Errorf("functions/%s is deployed by no function of template.yaml", d.Name())
		}
	}

	// Every route of SPEC.md goes to the function built from
	// functions/<route name>, behind the authorizer unless it is public.
	api := apiRoutes()
	routes := map[string]httpEvent{}
	var defaultRoute []httpEvent
	for _, ev := range httpEvents(tpl) {
		if ev.method == "" && ev.path == "" {
			defaultRoute = append(defaultRoute, ev)
			continue
		}
		key := strings.ToUpper(ev.method) + " " + ev.path
		if prev, dup := routes[key]; dup {
			t.Errorf("route %s is declared by %s and %s", key, prev.function, ev.function)
		}
		routes[key] = ev
	}
	for _, r := range specRoutes {
		key := r.method + " " + r.path
		ev, ok := routes[key]
		if !ok {
			t.Errorf("route %s of SPEC.md is not in template.yaml", key)
			continue
		}
		delete(routes, key)
		if got, want := targets[ev.function], api[key]; got != want {
			t.Errorf("route %s → %s builds functions/%s, want functions/%s", key, ev.function, got, want)
		}
		switch {
		case r.auth && ev.authorizer != "":
			t.Errorf("route %s: Auth.Authorizer = %q, want the API's default authorizer", key, ev.authorizer)
		case !r.auth && ev.authorizer != "NONE":
			t.Errorf("route %s: Auth.Authorizer = %q, want NONE (the route is public)", key, ev.authorizer)
		}
	}
	for key, ev := range routes {
		t.Errorf("template.yaml route %s (%s) is not in SPEC.md", key, ev.function)
	}
	if len(defaultRoute) != 1 {
		t.Errorf("template.yaml has %d $default routes (an HttpApi event without Path and Method), want 1: the web UI", len(defaultRoute))
	} else {
		ev := defaultRoute[0]
		if targets[ev.function] != "web" || ev.authorizer != "NONE" {
			t.Errorf("$default route → %s (functions/%s, Authorizer %q), want functions/web with Authorizer NONE",
				ev.function, targets[ev.function], ev.authorizer)
		}
	}
}

func TestTemplateAuthorizer(t *testing.T) {
	tpl := loadTemplate(t)
	apis := tpl.resources("AWS::Serverless::HttpApi")
	if len(apis) != 1 {
		t.Fatalf("template.yaml has HttpApis %v, want one", apis)
	}
	api := apis[0]
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		evs, _ := get(tpl.resource(id), "Properties", "Events").(map[string]any)
		for name, ev := range evs {
			if str(get(ev, "Type")) == "HttpApi" && !isRef(get(ev, "Properties", "ApiId"), api) {
				t.Errorf("%s event %s: ApiId is not !Ref %s (SAM would make a second API)", id, name, api)
			}
		}
	}
	auth := get(tpl.resource(api), "Properties", "Auth")
	name := str(get(auth, "DefaultAuthorizer"))
	a := get(auth, "Authorizers", name)
	if a == nil {
		t.Fatalf("%s: DefaultAuthorizer %q is not among its Authorizers", api, name)
	}
	fnArn := list(get(a, "FunctionArn", "Fn::GetAtt"))
	if len(fnArn) != 2 || str(fnArn[1]) != "Arn" {
		t.Fatalf("authorizer %s: FunctionArn is not !GetAtt <Function>.Arn", name)
	}
	targets := buildTargets(t, tpl)
	if got := targets[str(fnArn[0])]; got != "authorizer" {
		t.Errorf("authorizer %s runs %s, built from functions/%s, want functions/authorizer", name, fnArn[0], got)
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"AuthorizerPayloadFormatVersion"}, "2.0"},
		{[]string{"EnableSimpleResponses"}, true},
		{[]string{"EnableFunctionDefaultPermissions"}, true},
		{[]string{"Identity", "ReauthorizeEvery"}, 60},
		{[]string{"Identity", "Headers"}, []any{"Authorization"}},
	}
	for _, c := range checks {
		if got := get(a, c.path...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("authorizer %s: %s = %#v, want %#v", name, strings.Join(c.path, "."), got, c.want)
		}
	}
}

// TestTemplatePolicies: least privilege, so no statement of any IAM policy
// in the template allows or denies every action or every resource, and no
// function gets a managed policy.
func TestTemplatePolicies(t *testing.T) {
	tpl := loadTemplate(t)
	var statements []any
	owners := []string{}
	for _, typ := range []string{"AWS::Serverless::Function", "AWS::Serverless::StateMachine"} {
		for _, id := range tpl.resources(typ) {
			for i, p := range list(get(tpl.resource(id), "Properties", "Policies")) {
				switch p := p.(type) {
				case string:
					t.Errorf("%s: Policies[%d] is the managed policy %q; use a scoped statement or SAM policy template", id, i, p)
				case map[string]any:
					if st := get(p, "Statement"); st != nil {
						for _, s := range list(st) {
							statements = append(statements, s)
							owners = append(owners, id)
						}
						continue
					}
					// A SAM policy template, e.g. {LambdaInvokePolicy: {FunctionName: !Ref F}}:
					// every parameter names one resource.
					for tmpl, params := range p {
						pm, ok := params.(map[string]any)
						if !ok || len(pm) == 0 {
							t.Errorf("%s: policy template %s has no parameters, so no scope", id, tmpl)
						}
						for k, v := range pm {
							if s, ok := v.(string); ok && strings.Contains(s, "*") {
								t.Errorf("%s: policy template %s: %s = %q", id, tmpl, k, s)
							}
						}
					}
				}
			}
		}
	}
	for _, typ := range []string{"AWS::S3::BucketPolicy", "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy"} {
		for _, id := range tpl.resources(typ) {
			props := get(tpl.resource(id), "Properties")
			docs := []any{get(props, "PolicyDocument")}
			for _, p := range list(get(props, "Policies")) {
				docs = append(docs, get(p, "PolicyDocument"))
			}
			for _, d := range docs {
				for _, s := range list(get(d, "Statement")) {
					statements = append(statements, s)
					owners = append(owners, id)
				}
			}
		}
	}
	if len(statements) == 0 {
		t.Fatal("found no policy statements in template.yaml")
	}
	for i, s := range statements {
		actions := list(get(s, "Action"))
		if len(actions) == 0 {
			t.Errorf("%s: a statement has no Action (NotAction is not least privilege)", owners[i])
		}
		for _, a := range actions {
			if as, ok := a.(string); !ok || strings.Contains(as, "*") {
				t.Errorf("%s: Action %v is a wildcard (or not a plain string)", owners[i], a)
			}
		}
		resources := list(get(s, "Resource"))
		if len(resources) == 0 {
			t.Errorf("%s: a statement has no Resource", owners[i])
		}
		for _, r := range resources {
			if rs, ok := r.(string); ok && (rs == "*" || strings.HasSuffix(rs, ":*")) {
				t.Errorf("%s: Resource %q is every resource", owners[i], rs)
			}
			// The executions of one state machine end in ":*" (their names
			// are prediction ids): that is one machine's, not every resource.
			if sub, ok := get(r, "Fn::Sub").(string); ok && (sub == "*" || strings.HasSuffix(sub, ":*") && !executionsARN.MatchString(sub)) {
				t.Errorf("%s: Resource !Sub %q is every resource", owners[i], sub)
			}
		}
	}
}

// createTableRequests returns the CreateTable requests dynamo.CreateTables
// makes, keyed by table name, from a fake DynamoDB endpoint that records them.
func createTableRequests(t *testing.T, tables dynamo.Tables) map[string]tableDef {
	t.Helper()
	var mu sync.Mutex
	got := map[string]tableDef{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch r.Header.Get("X-Amz-Target") {
		case "DynamoDB_20120810.CreateTable":
			var def tableDef
			if err := json.Unmarshal(body, &def); err != nil {
				t.Errorf("CreateTable request: %v", err)
			}
			mu.Lock()
			got[def.TableName] = def
			mu.Unlock()
			io.WriteString(w, `{"TableDescription":{"TableStatus":"CREATING"}}`)
		case "DynamoDB_20120810.DescribeTable":
			io.WriteString(w, `{"Table":{"TableStatus":"ACTIVE"}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"unexpected call"}`)
		}
	}))
	defer srv.Close()
	client := dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(srv.URL),
		Credentials:                     credentials.NewStaticCredentialsProvider("test", "test", ""),
		DisableValidateResponseChecksum: true,
	})
	if err := dynamo.CreateTables(context.Background(), client, tables); err != nil {
		t.Fatalf("dynamo.CreateTables against a recorder: %v", err)
	}
	return got
}

// tableDef is the part of a table definition both CreateTable and
// AWS::DynamoDB::Table express, with the same field names.
type tableDef struct {
	TableName              string
	BillingMode            string
	KeySchema              []keyElement
	AttributeDefinitions   []struct{ AttributeName, AttributeType string }
	GlobalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []keyElement
		Projection struct{ ProjectionType string }
	}
}

type keyElement struct{ AttributeName, KeyType string }

// canonical sorts the unordered lists so two definitions compare equal.
func (d tableDef) canonical() tableDef {
	d.TableName = ""
	sort.Slice(d.AttributeDefinitions, func(i, j int) bool {
		return d.AttributeDefinitions[i].AttributeName < d.AttributeDefinitions[j].AttributeName
	})
	sort.Slice(d.GlobalSecondaryIndexes, func(i, j int) bool {
		return d.GlobalSecondaryIndexes[i].IndexName < d.GlobalSecondaryIndexes[j].IndexName
	})
	return d
}

func TestTemplateTables(t *testing.T) {
	tpl := loadTemplate(t)
	env := map[string]string{ // environment variable → table resource
		"TABLE_USERS": "", "TABLE_USERNAMES": "", "TABLE_MODELS": "", "TABLE_PREDICTIONS": "",
	}
	genv := get(map[string]any(tpl), "Globals", "Function", "Environment", "Variables")
	for name := range env {
		env[name] = str(get(genv, name, "Ref"))
		if env[name] == "" {
			t.Errorf("Globals: environment variable %s is not !Ref of a table", name)
		}
	}
	// Name the tables after their resources, so the recorded requests say
	// which resource each belongs to.
	want := createTableRequests(t, dynamo.Tables{
		Users: env["TABLE_USERS"], Usernames: env["TABLE_USERNAMES"],
		Models: env["TABLE_MODELS"], Predictions: env["TABLE_PREDICTIONS"],
	})
	tables := tpl.resources("AWS::DynamoDB::Table")
	if len(tables) != len(want) {
		t.Errorf("template.yaml has tables %v, dynamo.CreateTables makes %d", tables, len(want))
	}
	for _, id := range tables {
		props := get(tpl.resource(id), "Properties")
		if got := str(get(props, "BillingMode")); got != "PAY_PER_REQUEST" {
			t.Errorf("%s: BillingMode = %q, want PAY_PER_REQUEST", id, got)
		}
		if got := get(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"); got != true {
			t.Errorf("%s: point-in-time recovery is not enabled", id)
		}
		if got := get(props, "SSESpecification", "SSEEnabled"); got != true {
			t.Errorf("%s: SSESpecification.SSEEnabled is not true", id)
		}
		if got := str(get(tpl.resource(id), "DeletionPolicy")); got != "Retain" {
			t.Errorf("%s: DeletionPolicy = %q, want Retain (balances live here)", id, got)
		}
		w, ok := want[id]
		if !ok {
			t.Errorf("%s is not one of the tables the environment names (%v)", id, env)
			continue
		}
		raw, _ := json.Marshal(props)
		var g tableDef
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if g, w := g.canonical(), w.canonical(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs from dynamo.CreateTables:\n got %+v\nwant %+v", id, g, w)
		}
	}
}

func TestTemplateBucket(t *testing.T) {
	tpl := loadTemplate(t)
	buckets := tpl.resources("AWS::S3::Bucket")
	if len(buckets) != 1 {
		t.Fatalf("template.yaml has buckets %v, want one", buckets)
	}
	id := buckets[0]
	props := get(tpl.resource(id), "Properties")
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if get(props, "PublicAccessBlockConfiguration", k) != true {
			t.Errorf("%s: PublicAccessBlockConfiguration.%s is not true", id, k)
		}
	}
	sse := list(get(props, "BucketEncryption", "ServerSideEncryptionConfiguration"))
	if len(sse) == 0 || str(get(sse[0], "ServerSideEncryptionByDefault", "SSEAlgorithm")) == "" {
		t.Errorf("%s: no default encryption", id)
	}
	rules := list(get(props, "OwnershipControls", "Rules"))
	if len(rules) != 1 || str(get(rules[0], "ObjectOwnership")) != "BucketOwnerEnforced" {
		t.Errorf("%s: ObjectOwnership is not BucketOwnerEnforced", id)
	}
	expires := false
	for _, r := range list(get(props, "LifecycleConfiguration", "Rules")) {
		if str(get(r, "Status")) == "Enabled" && str(get(r, "Prefix")) == "predictions/" && get(r, "ExpirationInDays") != nil {
			expires = true
		}
	}
	if !expires {
		t.Errorf("%s: no enabled lifecycle rule expires predictions/", id)
	}
	if !isRef(get(map[string]any(tpl), "Globals", "Function", "Environment", "Variables", "BUCKET"), id) {
		t.Errorf("Globals: BUCKET is not !Ref %s", id)
	}
}

func TestTemplateStateMachine(t *testing.T) {
	tpl := loadTemplate(t)
	root := repoRoot(t)
	machines := tpl.resources("AWS::Serverless::StateMachine")
	if len(machines) != 1 {
		t.Fatalf("template.yaml has state machines %v, want one", machines)
	}
	id := machines[0]
	props := get(tpl.resource(id), "Properties")
	if got := str(get(props, "Type")); got != "STANDARD" {
		t.Errorf("%s: Type = %q, want STANDARD (exactly-once)", id, got)
	}
	def, err := os.ReadFile(filepath.Join(root, str(get(props, "DefinitionUri"))))
	if err != nil {
		t.Fatalf("%s: DefinitionUri: %v", id, err)
	}
	var placeholders []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(def), -1) {
		if !slices.Contains(placeholders, m[1]) {
			placeholders = append(placeholders, m[1])
		}
	}
	subs, _ := get(props, "DefinitionSubstitutions").(map[string]any)
	var names []string
	for k := range subs {
		names = append(names, k)
	}
	sort.Strings(names)
	sort.Strings(placeholders)
	if !slices.Equal(names, placeholders) {
		t.Errorf("%s: DefinitionSubstitutions %v, the definition's placeholders %v", id, names, placeholders)
	}
	targets := buildTargets(t, tpl)
	invokable := map[string]bool{}
	for _, p := range list(get(props, "Policies")) {
		if fn := str(get(p, "LambdaInvokePolicy", "FunctionName", "Ref")); fn != "" {
			invokable[fn] = true
		}
	}
	for name, want := range map[string]string{"InferenceFunctionArn": "inference", "FailureFunctionArn": "failure"} {
		ga := list(get(subs[name], "Fn::GetAtt"))
		if len(ga) != 2 || str(ga[1]) != "Arn" {
			t.Errorf("%s: %s is not !GetAtt <Function>.Arn", id, name)
			continue
		}
		fn := str(ga[0])
		if got := targets[fn]; got != want {
			t.Errorf("%s: %s → %s, built from functions/%s, want functions/%s", id, name, fn, got, want)
		}
		if !invokable[fn] {
			t.Errorf("%s: no LambdaInvokePolicy for %s", id, fn)
		}
	}
	// The predict function starts it and the cancel function stops its
	// executions; only they know its ARN.
	for _, fn := range tpl.resources("AWS::Serverless::Function") {
		ref := isRef(tpl.functionEnv(fn)["STATE_MACHINE_ARN"], id)
		if uses := targets[fn] == "predict" || targets[fn] == "cancel"; ref != uses {
			t.Errorf("%s (functions/%s): STATE_MACHINE_ARN set = %v, want %v", fn, targets[fn], ref, uses)
		}
	}
}

// TestTemplateEnvironment: every function's environment satisfies
// lambdafn.ReadEnv, the functions that use S3 or Step Functions get the
// variables they check, and the API URL is an output.
func TestTemplateEnvironment(t *testing.T) {
	tpl := loadTemplate(t)
	targets := buildTargets(t, tpl)
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		env := tpl.functionEnv(id)
		getenv := func(k string) string {
			switch v := env[k].(type) {
			case string:
				return v
			case nil:
				return ""
			default:
				// A parameter takes its default; a resource, its name or ARN.
				if def := get(map[string]any(tpl), "Parameters", str(get(v, "Ref")), "Default"); def != nil {
					return fmt.Sprint(def)
				}
				return "resolved-by-cloudformation"
			}
		}
		if targets[id] == "web" {
			continue // serves static files, reads no environment
		}
		e, err := lambdafn.ReadEnv(getenv)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if e.Bucket == "" {
			t.Errorf("%s: BUCKET is not set", id)
		}
	}
	if get(map[string]any(tpl), "Outputs", "ApiUrl", "Value") == nil {
		t.Error("template.yaml has no output ApiUrl")
	}
}

// TestSampleEvents: events/<name>.json exists for every function, decodes
// as the event its handler takes, and an API event names the function's route.
func TestSampleEvents(t *testing.T) {
	tpl := loadTemplate(t)
	targets := buildTargets(t, tpl)
	api := apiRoutes()
	routeOf := map[string]string{}
	for key, name := range api {
		routeOf[name] = key
	}
	for id, name := range targets {
		path := filepath.Join(repoRoot(t), "events", name+".json")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: no sample event for sam local invoke: %v", id, err)
			continue
		}
		strict := func(v any) error {
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			return dec.Decode(v)
		}
		switch name {
		case "authorizer":
			var ev events.APIGatewayV2CustomAuthorizerV2Request
			if err := strict(&ev); err != nil || ev.Type != "REQUEST" || ev.Version != "2.0" || len(ev.IdentitySource) == 0 {
				t.Errorf("%s: %s is not a 2.0 REQUEST authorizer event with an identity source (%v)", id, path, err)
			}
		case "inference":
			var ev stepfn.InferenceInput
			if err := strict(&ev); err != nil || ev.PredictionID == "" {
				t.Errorf("%s: %s is not an inference event: %v", id, path, err)
			}
		case "sweeper":
			var ev events.EventBridgeEvent
			if err := strict(&ev); err != nil || ev.DetailType != "Scheduled Event" {
				t.Errorf("%s: %s is not a scheduled event: %v", id, path, err)
			}
		case "failure":
			var ev stepfn.FailureInput
			if err := strict(&ev); err != nil || ev.PredictionID == "" || ev.Error == nil {
				t.Errorf("%s: %s is not a failure event: %v", id, path, err)
			}
		default:
			var ev events.APIGatewayV2HTTPRequest
			if err := strict(&ev); err != nil {
				t.Errorf("%s: %s: %v", id, path, err)
				continue
			}
			want := routeOf[name]
			if name == "web" {
				want = "$default"
			}
			if ev.Version != "2.0" || ev.RouteKey != want || ev.RequestContext.RouteKey != want {
				t.Errorf("%s: %s has version %q, routeKey %q, want 2.0 and %q", id, path, ev.Version, ev.RouteKey, want)
			}
		}
	}
}

// TestLocalConfig: env.json sets only variables the template declares (sam
// local ignores the others), for functions that exist; samconfig.toml
// deploys the stack ml-service with IAM capabilities and a confirmed change set.
func TestLocalConfig(t *testing.T) {
	tpl := loadTemplate(t)
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var envFile map[string]map[string]string
	if err := json.Unmarshal(data, &envFile); err != nil {
		t.Fatalf("env.json: %v", err)
	}
	functions := tpl.resources("AWS::Serverless::Function")
	for section, vars := range envFile {
		ids := []string{section}
		if section == "Parameters" {
			ids = functions
		} else if !slices.Contains(functions, section) {
			t.Errorf("env.json: section %s is no function of template.yaml", section)
			continue
		}
		for name := range vars {
			declared := false
			for _, id := range ids {
				if _, ok := tpl.functionEnv(id)[name]; ok {
					declared = true
				}
			}
			if !declared {
				t.Errorf("env.json: %s.%s is declared by no function's Environment, so sam local ignores it", section, name)
			}
		}
	}

	data, err = os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`stack_name = "ml-service"`, `capabilities = "CAPABILITY_IAM"`, `resolve_s3 = true`, `confirm_changeset = true`,
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `\s*$`).Match(data) {
			t.Errorf("samconfig.toml has no line %s", want)
		}
	}
}
