package lambdafn

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"
)

// HTTPHandler is a Lambda handler of API Gateway HTTP API events (payload
// format 2.0).
type HTTPHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// HTTP adapts h to API Gateway HTTP API events.
func HTTP(h http.Handler) HTTPHandler {
	return httpadapter.NewV2(h).ProxyWithContext
}

// Route returns the Lambda handler of the API route named name (see
// httpapi.API.Routes). The function identifies callers itself, with the
// same httpapi.Auth as the local server: there is no API Gateway
// authorizer, whose cache could neither revoke an API key at once nor
// forget a refusal when its user registers a moment later. A session token
// costs no store read for its signature and one for its user; an API key
// one read; Basic credentials one slow hash per warm instance per
// mlsvc.AuthCacheTTL. limiter (nil: none) limits each caller's requests.
// An unknown name is a programming error and panics.
func Route(svc *mlsvc.Service, name string, limiter mlsvc.RateLimiter, log *slog.Logger) HTTPHandler {
	auth := httpapi.NewAuth(svc, mlsvc.AuthCacheTTL, limiter)
	h := httpapi.New(svc, auth, log).WithMaxWait(httpapi.MaxWaitLambda).Route(name)
	if h == nil {
		panic(fmt.Sprintf("lambdafn: no API route named %q", name))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return HTTP(obs.Requests(log, h, obs.RequestsOptions{RequestID: gatewayRequestID}))
}

// gatewayRequestID is API Gateway's id of the request (its access log's
// requestId); outside API Gateway, as locally.
func gatewayRequestID(r *http.Request) string {
	if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.RequestID != "" {
		return rc.RequestID
	}
	return obs.IncomingOrNewID(r)
}
