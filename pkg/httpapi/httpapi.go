// Package httpapi is the ML Service's HTTP API as plain net/http handlers.
// The local server mounts all routes on one mux; each AWS Lambda serves one
// route through the same handler. It knows nothing of AWS.
//
// Files: routes and the middleware here; request decoding (decode.go);
// errors (errors.go); one file per resource (users.go, account.go,
// models.go, predictions.go, access.go); identifying the caller (auth.go).
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"mlsvc/pkg/mlsvc"
)

// Limits of the transport, stated in the README. The product's own limits
// (rows, page sizes) are the domain's: see mlsvc.MaxRows.
const (
	// MaxBodyBytes bounds a request body: 6 MB, under Lambda's 6 MiB event
	// limit with room for the event around it.
	MaxBodyBytes = 6_000_000
	// MaxInlineInput is the largest input returned with a prediction, so the
	// response stays under Lambda's 6 MB; larger ones are in the CSV.
	MaxInlineInput = 4 * 1024 * 1024
)

// Authenticator tells which user made a request (Auth, in auth.go, on both
// runtimes). It returns an EUnauthorized error when there is no valid
// identity, EThrottled when the caller is over its rate.
type Authenticator interface {
	Authenticate(r *http.Request) (userID string, err error)
}

// API serves the HTTP API of one Service.
type API struct {
	svc  *mlsvc.Service
	auth Authenticator
	log  *slog.Logger
	// maxWait bounds Prefer: wait (wait.go); 0 ignores it.
	maxWait time.Duration
}

// New returns the API of svc, identifying callers with auth.
func New(svc *mlsvc.Service, auth Authenticator, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{svc: svc, auth: auth, log: log}
}

// Route is one endpoint: its method and path pattern and its handler.
type Route struct {
	Name    string // also the name of its function in functions/
	Method  string
	Pattern string
	// Auth says the route acts for a signed-in user: serve refuses the
	// request before the handler runs when there is none.
	Auth    bool
	handler handlerFunc
}

// Routes lists the API's endpoints, in the order of SPEC.md.
func (a *API) Routes() []Route {
	return []Route{
		{"register", "POST", "/users", false, a.register},
		{"me", "GET", "/users/me", true, a.me},
		{"topup", "POST", "/account/topup", true, a.topUp},
		{"models", "GET", "/models", false, a.models},
		{"predict", "POST", "/predict", true, a.predict},
		{"prediction", "GET", "/predict/{id}", true, a.prediction},
		{"download", "GET", "/predict/{id}/download", true, a.download},
		{"predictions", "GET", "/predictions", true, a.predictions},
		// Access (access.go).
		{"token", "POST", "/auth/token", false, a.token},
		{"password", "POST", "/users/me/password", true, a.changePassword},
		{"createkey", "POST", "/api-keys", true, a.createAPIKey},
		{"apikeys", "GET", "/api-keys", true, a.apiKeys},
		{"deletekey", "DELETE", "/api-keys/{id}", true, a.deleteAPIKey},
		{"transactions", "GET", "/account/transactions", true, a.transactions},
		{"stripewebhook", "POST", "/webhooks/stripe", false, a.stripeWebhook},
		{"cancel", "POST", "/predict/{id}/cancel", true, a.cancel},
		{"webhooksecret", "GET", "/account/webhook-secret", true, a.webhookSecret},
		{"webhookrotate", "POST", "/account/webhook-secret/rotate", true, a.rotateWebhookSecret},
	}
}

// Mount adds every route to mux.
func (a *API) Mount(mux *http.ServeMux) {
	for _, rt := range a.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, a.serve(rt))
	}
}

// Route returns the handler of the route named name, for a function that
// serves only that route; nil if there is no such route.
func (a *API) Route(name string) http.Handler {
	for _, rt := range a.Routes() {
		if rt.Name == name {
			mux := http.NewServeMux()
			mux.Handle(rt.Method+" "+rt.Pattern, a.serve(rt))
			return mux
		}
	}
	return nil
}

// handlerFunc handles a request and returns an error to be written as
// {"detail": …}. userID is "" for routes without authentication.
type handlerFunc func(w http.ResponseWriter, r *http.Request, userID string) error

// serve wraps a route with authentication, the body limit and the one place
// that turns errors into responses.
func (a *API) serve(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		var userID string
		var err error
		if rt.Auth {
			// The user authentication reads is remembered for the request
			// (mlsvc.WithUserMemo).
			r = r.WithContext(mlsvc.WithUserMemo(r.Context()))
			userID, err = a.auth.Authenticate(r)
		}
		logAttrs(r, userID)
		body := r.Body
		if err == nil {
			r.Body = http.MaxBytesReader(w, body, MaxBodyBytes)
			err = rt.handler(w, r, userID)
		}
		if err != nil {
			a.writeError(w, r, body, err)
		}
	})
}
