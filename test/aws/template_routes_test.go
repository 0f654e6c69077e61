package awstest

import (
	"reflect"
	"strings"
	"testing"
)

func TestTemplateAuthorizer(t *testing.T) {
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
	auth := get(tpl.resource(api), "Properties", "Auth")
	name := str(get(auth, "DefaultAuthorizer"))
	a := get(auth, "Authorizers", name)
	if a == nil {
		t.Fatalf("%s: DefaultAuthorizer %q is not among its Authorizers", api, name)
	}
	fnArn := list(get(a, "FunctionArn", "Fn::GetAtt"))
	if len(fnArn) != 2 || str(fnArn[1]) != "Arn" {
		t.Fatalf("authorizer %s: FunctionArn is not !GetAtt <Function>.Arn", name)
	}
	targets := buildTargets(t, tpl)
	if got := targets[str(fnArn[0])]; got != "authorizer" {
		t.Errorf("authorizer %s runs %s, built from functions/%s, want functions/authorizer", name, fnArn[0], got)
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"AuthorizerPayloadFormatVersion"}, "2.0"},
		{[]string{"EnableSimpleResponses"}, true},
		{[]string{"EnableFunctionDefaultPermissions"}, true},
		{[]string{"Identity", "ReauthorizeEvery"}, 60},
		{[]string{"Identity", "Headers"}, []any{"Authorization"}},
	}
	for _, c := range checks {
		if got := get(a, c.path...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("authorizer %s: %s = %#v, want %#v", name, strings.Join(c.path, "."), got, c.want)
		}
	}
}
