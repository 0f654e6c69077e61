package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerServesFiles(t *testing.T) {
	h := Handler()
	tests := []struct {
		path        string
		contentType string
		contains    string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/js/main.js">`},
		{"/app.css", "text/css; charset=utf-8", ":focus-visible"},
		{"/js/main.js", "text/javascript; charset=utf-8", "import"},
		{"/js/views/predict.js", "text/javascript; charset=utf-8", "export function render"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		w := get(t, h, http.MethodGet, tt.path, nil)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", tt.path, w.Code)
			continue
		}
		if got := w.Header().Get("Content-Type"); got != tt.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, got, tt.contentType)
		}
		if got := w.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", tt.path, got)
		}
		if got := w.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("GET %s: Content-Security-Policy %q, want %q", tt.path, got, ContentSecurityPolicy)
		}
		if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", tt.path, got)
		}
		if !strings.Contains(w.Body.String(), tt.contains) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.contains)
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope.js", http.StatusNotFound},
		{http.MethodGet, "/js/", http.StatusNotFound},
		{http.MethodGet, "/../web.go", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/app.css", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		w := get(t, h, tt.method, tt.path, nil)
		if w.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, w.Code, tt.status)
		}
		if got := w.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", tt.method, tt.path, got)
		}
		if !strings.HasPrefix(w.Body.String(), `{"detail":`) {
			t.Errorf("%s %s: body %q, want the API's error shape", tt.method, tt.path, w.Body.String())
		}
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := Handler()
	first := get(t, h, http.MethodGet, "/", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("GET /: no ETag")
	}
	w := get(t, h, http.MethodGet, "/", http.Header{"If-None-Match": {etag}})
	if w.Code != http.StatusNotModified {
		t.Errorf("GET / with If-None-Match: status %d, want 304", w.Code)
	}
	head := get(t, h, http.MethodHead, "/", nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD /: status %d, %d body bytes; want 200 and none", head.Code, head.Body.Len())
	}
}

// The CSP forbids inline script and style; the pages must not need them.
func TestNoInlineScriptOrStyle(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	scriptTag := regexp.MustCompile(`<script[^>]*>`)
	handlerAttr := regexp.MustCompile(`\son[a-z]+\s*=`)
	styleAttr := regexp.MustCompile(`\sstyle\s*=|<style`)
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".html" {
			return err
		}
		b, _ := fs.ReadFile(static, name)
		s := string(b)
		if inlineScript.MatchString(s) {
			t.Errorf("%s: inline script", name)
		}
		for _, tag := range scriptTag.FindAllString(s, -1) {
			if !strings.Contains(tag, "src=") {
				t.Errorf("%s: script without src: %s", name, tag)
			}
		}
		if handlerAttr.MatchString(s) {
			t.Errorf("%s: inline event handler attribute", name)
		}
		if styleAttr.MatchString(s) {
			t.Errorf("%s: inline style", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every relative module import must name an embedded file, or the browser
// stops the whole app with one 404.
func TestModuleImportsResolve(t *testing.T) {
	h := Handler().(*handler)
	importRe := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}/[^']+)'`)
	for p := range h.files {
		if path.Ext(p) != ".js" {
			continue
		}
		for _, m := range importRe.FindAllStringSubmatch(string(h.files[p].body), -1) {
			target := path.Join(path.Dir(p), m[1])
			if _, ok := h.files[target]; !ok {
				t.Errorf("%s imports %s: no such file (%s)", p, m[1], target)
			}
		}
	}
}
