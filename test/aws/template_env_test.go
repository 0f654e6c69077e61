package awstest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/stepfn"
)

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
		case "sweeper", "webhooks":
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

// TestSamconfigEnvironments: samconfig.toml deploys the environments
// staging and production (deploy.yml's), each to its own stack, with IAM
// capabilities and no prompt; staging shifts traffic at once, production
// by a canary.
func TestSamconfigEnvironments(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{} // [name] → its lines
	name := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			name = strings.Trim(line, "[]")
			continue
		}
		if name != "" && line != "" && !strings.HasPrefix(line, "#") {
			sections[name] += line + "\n"
		}
	}
	stacks := map[string]bool{}
	for env, deploy := range map[string]string{"staging": "AllAtOnce", "production": "Canary"} {
		m := regexp.MustCompile(`(?m)^stack_name = "([^"]+)"$`).FindStringSubmatch(sections[env+".global.parameters"])
		if m == nil {
			t.Errorf("samconfig.toml: [%s.global.parameters] has no stack_name", env)
			continue
		}
		if stacks[m[1]] {
			t.Errorf("samconfig.toml: two environments deploy the stack %s", m[1])
		}
		stacks[m[1]] = true
		d := sections[env+".deploy.parameters"]
		for _, want := range []string{`capabilities = "CAPABILITY_IAM"`, `resolve_s3 = true`, `confirm_changeset = false`} {
			if !strings.Contains(d, want+"\n") {
				t.Errorf("samconfig.toml: [%s.deploy.parameters] has no %s", env, want)
			}
		}
		if !regexp.MustCompile(`parameter_overrides = ".*DeploymentType=` + deploy).MatchString(d) {
			t.Errorf("samconfig.toml: [%s.deploy.parameters] does not deploy with DeploymentType=%s…", env, deploy)
		}
	}
}
