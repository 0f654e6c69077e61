package web

import (
	"crypto/sha256"
	"encoding/base64"

	"mlsvc/api"
)

// DocsContentSecurityPolicy is the policy of the /docs page: the UI's, but
// Swagger UI's stylesheet draws its icons as data: SVG images, so img-src
// also allows data: (images cannot run script).
const DocsContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func policy(path string) string {
	if path == "/docs" {
		return DocsContentSecurityPolicy
	}
	return ContentSecurityPolicy
}

// addDocs serves the API's documentation: the OpenAPI document as JSON at
// /openapi.json and Swagger UI (static/docs, vendored) at /docs.
func (h *handler) addDocs() {
	doc, err := api.JSON()
	if err != nil {
		panic(err) // the embedded document is fixed at compile time; a test loads it
	}
	sum := sha256.Sum256(doc)
	h.files["/openapi.json"] = &file{
		body:        doc,
		contentType: "application/json",
		etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
	}
	h.files["/docs"] = h.files["/docs/index.html"]
	delete(h.files, "/docs/README.md")
	delete(h.files, "/docs/index.html")
}
