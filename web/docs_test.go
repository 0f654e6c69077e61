package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func getDoc(t *testing.T, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Result()
}

// TestDocs: /docs is HTML whose scripts and styles are all same-origin
// files that are served, under the UI's CSP.
func TestDocs(t *testing.T) {
	resp := getDoc(t, "/docs")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Content-Security-Policy") != DocsContentSecurityPolicy ||
		DocsContentSecurityPolicy != strings.Replace(ContentSecurityPolicy, "img-src 'self'", "img-src 'self' data:", 1) {
		t.Fatalf("CSP %q", resp.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "<style") {
		t.Fatal("inline script or style")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(body), -1)
	if len(refs) < 3 {
		t.Fatalf("refs %v", refs)
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("%s is not same-origin", ref)
			continue
		}
		if r := getDoc(t, ref); r.StatusCode != 200 {
			t.Errorf("GET %s: %d", ref, r.StatusCode)
		}
	}
}

func TestOpenAPIJSON(t *testing.T) {
	resp := getDoc(t, "/openapi.json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var v struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.OpenAPI, "3.") {
		t.Fatalf("openapi %q", v.OpenAPI)
	}
}
