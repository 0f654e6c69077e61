package api_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"mlsvc/api"
	"mlsvc/pkg/httpapi"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.YAML())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc
}

// TestRoutesMatchDocument: every route of the router is in the document and
// every operation of the document is a route, by method and path.
func TestRoutesMatchDocument(t *testing.T) {
	doc := load(t)
	routes := map[string]string{}
	for _, rt := range httpapi.New(nil, nil, nil).Routes() {
		routes[rt.Method+" "+rt.Pattern] = rt.Name
	}
	ops := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op.OperationID
		}
	}
	var missing, extra []string
	for k, name := range routes {
		id, ok := ops[k]
		if !ok {
			missing = append(missing, k)
		} else if id != name {
			t.Errorf("%s: operationId %q, route name %q", k, id, name)
		}
	}
	for k := range ops {
		if _, ok := routes[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("operations in openapi.yaml that are not routes: %v", extra)
	}
	if len(routes) < 18 || len(ops) != len(routes) {
		t.Errorf("%d routes, %d operations", len(routes), len(ops))
	}
}

func TestJSON(t *testing.T) {
	b, err := api.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.OpenAPI, "3.") || len(v.Paths) == 0 {
		t.Fatalf("openapi %q, %d paths", v.OpenAPI, len(v.Paths))
	}
}
