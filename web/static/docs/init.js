// Starts Swagger UI on the API's own OpenAPI document (same origin, so the
// page's Content-Security-Policy allows it; no inline script).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
