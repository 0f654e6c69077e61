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
	users := map[string]*mlsvc.User{
		"u-1": {ID: "u-1", Firstname: "Ann", Username: "ann", Balance: 12_50, PasswordHash: "$2a$04$ann"},
		"u-2": {ID: "u-2", Firstname: "Bob", Username: "bob", PasswordHash: "$2a$04$bob"},
	}
	reads := map[string]int{}
	store := &fakeStore{userByID: func(id string) (*mlsvc.User, error) {
		reads[id]++
		if id == "u-2" && reads[id] > 1 { // the token's check reads the user, then the handler fails
			return nil, errors.New("DynamoDB is down")
		}
		return users[id], nil
	}}
	svc := newService(t, store)
	token := func(id string) string {
		tok, _, err := svc.IssueToken(users[id])
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	var buf bytes.Buffer
	handle := Route(svc, "me", nil, LoggerTo(&buf))
	call := func(gatewayID, lambdaID string, authorization string) (events.APIGatewayV2HTTPResponse, map[string]any) {
		t.Helper()
		buf.Reset()
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /users/me", RawPath: "/users/me"}
		ev.RequestContext.HTTP.Method = http.MethodGet
		ev.RequestContext.HTTP.Path = "/users/me"
		ev.RequestContext.RequestID = gatewayID
		if authorization != "" {
			ev.Headers = map[string]string{"authorization": authorization}
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
	// check is the check of pkg/local's TestRequestLog too: both runtimes'
	// request lines are held to the same fields.
	check := func(name string, line map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", name, k, line[k], v, line)
			}
		}
	}

	_, line := call("gw-1", "lambda-1", token("u-1"))
	check("200", line, map[string]any{
		"level": "INFO", "route": "GET /users/me", "status": 200.0, "method": "GET",
		"request_id": "gw-1", "aws_request_id": "lambda-1", "user_id": "u-1",
	})
	_, line = call("gw-2", "lambda-2", "")
	check("401", line, map[string]any{"level": "INFO", "status": 401.0, "request_id": "gw-2", "aws_request_id": "lambda-2"})
	resp, line := call("gw-3", "lambda-3", token("u-2"))
	if resp.StatusCode != 500 {
		t.Fatalf("store down: %d", resp.StatusCode)
	}
	check("500", line, map[string]any{"level": "ERROR", "status": 500.0, "request_id": "gw-3", "aws_request_id": "lambda-3", "user_id": "u-2"})
	if !strings.Contains(line["err"].(string), "DynamoDB is down") {
		t.Errorf("500 without its error: %v", line)
	}
}
