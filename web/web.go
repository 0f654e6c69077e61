// Package web serves the browser UI of the ML Service: static files embedded
// in the binary and served from the same origin as the API, so the UI needs
// no build step, no second server and no cross-origin requests.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"mlsvc/pkg/httperr"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every response of Handler. Scripts,
// styles and API calls come only from this origin; no inline script or
// style, no plugins, no framing. The CSV download is a navigation to a
// presigned URL, which connect-src does not govern.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes fixes the types the UI depends on instead of trusting the
// host's MIME database: a module script served as text/plain is refused.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
	".md":   "text/plain; charset=utf-8",
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	files map[string]*file // by URL path: "/", "/app.css", "/js/main.js"
}

// Handler serves the UI: index.html at "/" and the other static files by
// their path. Every file is sent with Cache-Control: no-cache and a strong
// ETag, so a browser revalidates cheaply and never runs a stale module
// next to a new one. Unknown paths answer 404 and methods other than GET
// and HEAD 405, both as the API's JSON error body.
func Handler() http.Handler {
	root, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at compile time
	}
	h := &handler{files: map[string]*file{}}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &file{
			body:        body,
			contentType: contentType(name),
			etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		}
		h.files["/"+name] = f
		if name == "index.html" {
			h.files["/"] = f
		}
		return nil
	})
	if err != nil {
		panic(err) // reading the embedded tree cannot fail
	}
	h.addDocs()
	return h
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", policy(r.URL.Path))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		httperr.Detail(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	p := r.URL.Path
	if p == "/index.html" {
		http.Redirect(w, r, "/", http.StatusMovedPermanently)
		return
	}
	f, ok := h.files[p]
	if !ok {
		httperr.Detail(w, http.StatusNotFound, "not found")
		return
	}
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", f.etag)
	// A zero modification time leaves Last-Modified out; the ETag drives
	// If-None-Match, Range and HEAD handling.
	http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(f.body))
}
