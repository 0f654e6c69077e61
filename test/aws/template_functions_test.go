package awstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/httpapi"
)

// routeTable is the API's route table: what template.yaml must route.
func routeTable() []httpapi.Route { return httpapi.New(nil, nil, nil).Routes() }

// apiRoutes maps "METHOD /path" to the name of the route in httpapi, which
// is also the name of its directory in functions/.
func apiRoutes() map[string]string {
	m := map[string]string{}
	for _, rt := range httpapi.New(nil, nil, nil).Routes() {
		m[rt.Method+" "+rt.Pattern] = rt.Name
	}
	return m
}

// specTableRoute matches a row of SPEC.md's HTTP API table:
// | `POST /users` | no | … — the method, the path and whether it needs credentials.
var specTableRoute = regexp.MustCompile("(?m)^\\| `([A-Z]+) (/[^`]*)` \\| (yes|no) \\|")

// TestSpecRoutesAreTheAPIRoutes reads SPEC.md's HTTP API table and checks
// that the route table serves each of its endpoints, with credentials
// where it says so.
func TestSpecRoutesAreTheAPIRoutes(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join(repoRoot(t), "..", "shared", "SPEC.md"))
	testenv.Need(t, err == nil, "../shared/SPEC.md: %v", err)
	rows := specTableRoute.FindAllStringSubmatch(string(spec), -1)
	if len(rows) < 8 {
		t.Fatalf("found %d routes in SPEC.md's HTTP API table, want at least 8: has its format changed?", len(rows))
	}
	served := map[string]httpapi.Route{}
	for _, rt := range routeTable() {
		served[rt.Method+" "+rt.Pattern] = rt
	}
	for _, row := range rows {
		key := row[1] + " " + row[2]
		rt, ok := served[key]
		switch {
		case !ok:
			t.Errorf("SPEC.md route %s is not in httpapi's route table", key)
		case rt.Auth != (row[3] == "yes"):
			t.Errorf("SPEC.md route %s: auth %s, route table Auth %v", key, row[3], rt.Auth)
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
	for _, ev := range tpl.events("HttpApi") {
		out = append(out, httpEvent{
			function:   ev.function,
			method:     str(get(ev.props, "Method")),
			path:       str(get(ev.props, "Path")),
			authorizer: str(get(ev.props, "Auth", "Authorizer")),
		})
	}
	return out
}

// functionOf returns the function of the template that builds
// functions/dir, failing the test if none does.
func functionOf(t *testing.T, targets map[string]string, dir string) string {
	t.Helper()
	for id, d := range targets {
		if d == dir {
			return id
		}
	}
	t.Fatalf("no function of template.yaml builds functions/%s", dir)
	return ""
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
	for _, r := range routeTable() {
		key := r.Method + " " + r.Pattern
		ev, ok := routes[key]
		if !ok {
			t.Errorf("route %s of the route table is not in template.yaml", key)
			continue
		}
		delete(routes, key)
		if got, want := targets[ev.function], api[key]; got != want {
			t.Errorf("route %s → %s builds functions/%s, want functions/%s", key, ev.function, got, want)
		}
		// No authorizer: the function authenticates (httpapi.Auth;
		// pkg/local's TestRoutesFailClosed).
		if ev.authorizer != "" {
			t.Errorf("route %s: Auth.Authorizer = %q, want none (the function authenticates)", key, ev.authorizer)
		}
	}
	for key, ev := range routes {
		t.Errorf("template.yaml route %s (%s) is not in the route table", key, ev.function)
	}
	if len(defaultRoute) != 1 {
		t.Errorf("template.yaml has %d $default routes (an HttpApi event without Path and Method), want 1: the web UI", len(defaultRoute))
	} else {
		ev := defaultRoute[0]
		if targets[ev.function] != "web" || ev.authorizer != "" {
			t.Errorf("$default route → %s (functions/%s, Authorizer %q), want functions/web with no authorizer",
				ev.function, targets[ev.function], ev.authorizer)
		}
	}
}
