package awstest

import (
	"testing"
)

// TestTemplateNoAuthorizer: one HTTP API, without an authorizer (whose
// cache could neither revoke a key at once nor forget a refusal), with
// tighter throttles on sign-up and sign-in than on the rest.
func TestTemplateNoAuthorizer(t *testing.T) {
	tpl := loadTemplate(t)
	apis := tpl.resources("AWS::Serverless::HttpApi")
	if len(apis) != 1 {
		t.Fatalf("template.yaml has HttpApis %v, want one", apis)
	}
	api := apis[0]
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		evs, _ := get(tpl.resource(id), "Properties", "Events").(map[string]any)
		for name, ev := range evs {
			if str(get(ev, "Type")) == "HttpApi" && !isRef(get(ev, "Properties", "ApiId"), api) {
				t.Errorf("%s event %s: ApiId is not !Ref %s (SAM would make a second API)", id, name, api)
			}
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
