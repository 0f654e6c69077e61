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
)

// HTTPHandler is a Lambda handler of API Gateway HTTP API events (payload
// format 2.0).
type HTTPHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// HTTP adapts h to API Gateway HTTP API events.
func HTTP(h http.Handler) HTTPHandler {
	return httpadapter.NewV2(h).ProxyWithContext
}

// Route returns the Lambda handler of the API route named name (see
// httpapi.API.Routes), identifying callers by the authorizer's context. An
// unknown name is a programming error and panics.
func Route(svc *mlsvc.Service, name string, log *slog.Logger) HTTPHandler {
	h := httpapi.New(svc, GatewayAuth{}, log).WithMaxWait(httpapi.MaxWaitLambda).Route(name)
	if h == nil {
		panic(fmt.Sprintf("lambdafn: no API route named %q", name))
	}
	return HTTP(h)
}

// UserIDKey is the key of the user id in the authorizer's context, which
// API Gateway passes to the route's function as
// requestContext.authorizer.lambda.user_id.
const UserIDKey = "user_id"

// GatewayAuth is the httpapi.Authenticator of the functions behind API
// Gateway: the Lambda authorizer has checked the credentials already, and
// the user id it found is in the request context.
type GatewayAuth struct{}

var _ httpapi.Authenticator = GatewayAuth{}

// Authenticate implements httpapi.Authenticator. A request without a user
// id (no or wrong credentials) is EUnauthorized.
func (GatewayAuth) Authenticate(r *http.Request) (string, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if ok && rc.Authorizer != nil {
		if id, _ := rc.Authorizer.Lambda[UserIDKey].(string); id != "" {
			return id, nil
		}
	}
	return "", mlsvc.Errorf(mlsvc.EUnauthorized, "authentication required: valid HTTP Basic credentials")
}

// AuthorizerHandler is a Lambda REQUEST authorizer of an HTTP API, payload
// format 2.0 with simple responses.
type AuthorizerHandler = func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// Authorizer checks the request's Basic credentials with svc.
//
// Valid credentials put the user id in the context. Wrong ones are let
// through with an empty context on purpose: the route's function then
// answers 401 with the API's {"detail": …} body and WWW-Authenticate, as
// SPEC.md and the web UI expect, where a denial would be API Gateway's bare
// 403 {"message":"Forbidden"}. (A request with no Authorization header at
// all never reaches the authorizer: API Gateway answers 401
// {"message":"Unauthorized"} itself.) No function acts without a user id
// (GatewayAuth), and routes without authentication have no authorizer.
// Only a failure to check (DynamoDB down) is an error: API Gateway answers
// 500 and does not cache it.
func Authorizer(svc *mlsvc.Service, log *slog.Logger) AuthorizerHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		allow := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}
		u, err := httpapi.UserFromAuthorization(ctx, svc, authorization(req))
		switch mlsvc.ErrorCode(err) {
		case "":
			allow.Context = map[string]any{UserIDKey: u.ID}
			return allow, nil
		case mlsvc.EUnauthorized, mlsvc.EInvalid:
			log.InfoContext(ctx, "credentials rejected", "route", req.RouteKey, "source_ip", req.RequestContext.HTTP.SourceIP)
			return allow, nil
		default:
			log.ErrorContext(ctx, "authorizer failed", "route", req.RouteKey, "err", err)
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, fmt.Errorf("authorizer: %w", err)
		}
	}
}

// authorization is the request's Authorization header. Payload 2.0
// lower-cases header names; the identity source holds the same value.
func authorization(req events.APIGatewayV2CustomAuthorizerV2Request) string {
	for k, v := range req.Headers {
		if http.CanonicalHeaderKey(k) == "Authorization" {
			return v
		}
	}
	if len(req.IdentitySource) > 0 {
		return req.IdentitySource[0]
	}
	return ""
}
