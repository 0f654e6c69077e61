package awstest

import (
	"testing"
)

// TestTemplateNoAuthorizer: one HTTP API, without an authorizer (whose
// cache could neither revoke a key at once nor forget a refusal), with
// tighter throttles on sign-up and sign-in than on the rest.
func TestTemplateNoAuthorizer(t *testing.T) {
	tpl := loadTemplate(t)
	api := tpl.only(t, "AWS::Serverless::HttpApi")
	for _, ev := range tpl.events("HttpApi") {
		if !isRef(get(ev.props, "ApiId"), api) {
			t.Errorf("%s event %s: ApiId is not !Ref %s (SAM would make a second API)", ev.function, ev.name, api)
		}
	}
	props := get(tpl.resource(api), "Properties")
	if auth := get(props, "Auth"); auth != nil {
		t.Errorf("%s: Auth = %v, want no authorizer", api, auth)
	}
	for _, key := range []string{"POST /users", "POST /auth/token"} {
		rs := get(props, "RouteSettings", key)
		rate, _ := get(rs, "ThrottlingRateLimit").(int)
		burst, _ := get(rs, "ThrottlingBurstLimit").(int)
		def, _ := get(map[string]any(tpl), "Parameters", "ThrottlingRateLimit", "Default").(int)
		if rs == nil || rate <= 0 || burst <= 0 || rate >= def {
			t.Errorf("%s: RouteSettings[%q] = %v, want its own throttle, tighter than the default", api, key, rs)
		}
	}
}
