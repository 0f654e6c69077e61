package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"mlsvc/pkg/mlsvc"
)

// TestRouteRequestLog: a route's function logs one JSON line per request
// with API Gateway's request id (also answered as X-Request-Id), Lambda's,
// the route's pattern, the status and the user; a 5xx at ERROR as the one
// line with status >= 500 that the template's metric filter counts.
func TestRouteRequestLog(t *testing.T) {
	store := &fakeStore{userByID: func(id string) (*mlsvc.User, error) {
		if id == "u-1" {
			return &mlsvc.User{ID: "u-1", Firstname: "Ann", Username: "ann", Balance: 12_50}, nil
		}
		return nil, errors.New("DynamoDB is down")
	}}
	var buf bytes.Buffer
	handle := Route(newService(t, store), "me", LoggerTo(&buf))
	call := func(gatewayID, lambdaID string, auth map[string]any) (events.APIGatewayV2HTTPResponse, map[string]any) {
		t.Helper()
		buf.Reset()
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /users/me", RawPath: "/users/me"}
		ev.RequestContext.HTTP.Method = http.MethodGet
		ev.RequestContext.HTTP.Path = "/users/me"
		ev.RequestContext.RequestID = gatewayID
		if auth != nil {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: auth}
		}
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: lambdaID})
		resp, err := handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		var line map[string]any
		fives := 0
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("log line %q: %v", l, err)
			}
			if s, ok := m["status"].(float64); ok && s >= 500 {
				fives++
			}
			if m["msg"] == "request" {
				line = m
			}
		}
		if line == nil {
			t.Fatalf("no request line: %s", buf.String())
		}
		if want := map[bool]int{true: 1, false: 0}[resp.StatusCode >= 500]; fives != want {
			t.Errorf("%d lines with status >= 500 for a %d, want %d", fives, resp.StatusCode, want)
		}
		if got := resp.Headers["X-Request-Id"]; got != gatewayID {
			t.Errorf("X-Request-Id %q, want API Gateway's %q", got, gatewayID)
		}
		return resp, line
	}
	check := func(name string, line map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", name, k, line[k], v, line)
			}
		}
	}

	_, line := call("gw-1", "lambda-1", map[string]any{UserIDKey: "u-1"})
	check("200", line, map[string]any{
		"level": "INFO", "route": "GET /users/me", "status": 200.0, "method": "GET",
		"request_id": "gw-1", "aws_request_id": "lambda-1", "user_id": "u-1",
	})
	_, line = call("gw-2", "lambda-2", nil)
	check("401", line, map[string]any{"level": "INFO", "status": 401.0, "request_id": "gw-2", "aws_request_id": "lambda-2"})
	resp, line := call("gw-3", "lambda-3", map[string]any{UserIDKey: "u-2"})
	if resp.StatusCode != 500 {
		t.Fatalf("store down: %d", resp.StatusCode)
	}
	check("500", line, map[string]any{"level": "ERROR", "status": 500.0, "request_id": "gw-3", "aws_request_id": "lambda-3", "user_id": "u-2"})
	if !strings.Contains(line["err"].(string), "DynamoDB is down") {
		t.Errorf("500 without its error: %v", line)
	}
}
