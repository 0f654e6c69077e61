package awstest

import (
	"strings"
	"testing"
)

// noResourceActions are IAM actions that take no resource ARN, so a
// statement of them alone names Resource "*": the CloudWatch Logs delivery
// actions Step Functions needs to log executions to a log group (its
// documentation's policy).
var noResourceActions = map[string]bool{
	"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true,
	"logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true,
	"logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
}

// TestTemplatePolicies: least privilege, so no statement of any IAM policy
// in the template allows every action or every resource (but for actions
// that take no resource), no Deny is of every resource, and no function
// gets a managed policy. A Deny may name every action of a service (the
// bucket's TLS-only rule).
func TestTemplatePolicies(t *testing.T) {
	tpl := loadTemplate(t)
	var statements []any
	owners := []string{}
	for _, typ := range []string{"AWS::Serverless::Function", "AWS::Serverless::StateMachine"} {
		for _, id := range tpl.resources(typ) {
			for i, p := range list(get(tpl.resource(id), "Properties", "Policies")) {
				switch p := p.(type) {
				case string:
					t.Errorf("%s: Policies[%d] is the managed policy %q; use a scoped statement or SAM policy template", id, i, p)
				case map[string]any:
					if st := get(p, "Statement"); st != nil {
						for _, s := range list(st) {
							statements = append(statements, s)
							owners = append(owners, id)
						}
						continue
					}
					// A SAM policy template, e.g. {LambdaInvokePolicy: {FunctionName: !Ref F}}:
					// every parameter names one resource.
					for tmpl, params := range p {
						pm, ok := params.(map[string]any)
						if !ok || len(pm) == 0 {
							t.Errorf("%s: policy template %s has no parameters, so no scope", id, tmpl)
						}
						for k, v := range pm {
							if s, ok := v.(string); ok && strings.Contains(s, "*") {
								t.Errorf("%s: policy template %s: %s = %q", id, tmpl, k, s)
							}
						}
					}
				}
			}
		}
	}
	for _, typ := range []string{"AWS::S3::BucketPolicy", "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy"} {
		for _, id := range tpl.resources(typ) {
			props := get(tpl.resource(id), "Properties")
			docs := []any{get(props, "PolicyDocument")}
			for _, p := range list(get(props, "Policies")) {
				docs = append(docs, get(p, "PolicyDocument"))
			}
			for _, d := range docs {
				for _, s := range list(get(d, "Statement")) {
					statements = append(statements, s)
					owners = append(owners, id)
				}
			}
		}
	}
	if len(statements) == 0 {
		t.Fatal("found no policy statements in template.yaml")
	}
	for i, s := range statements {
		actions := list(get(s, "Action"))
		if len(actions) == 0 {
			t.Errorf("%s: a statement has no Action (NotAction is not least privilege)", owners[i])
		}
		deny := str(get(s, "Effect")) == "Deny"
		unscoped := len(actions) > 0
		for _, a := range actions {
			as, ok := a.(string)
			if !ok || as == "*" || (strings.Contains(as, "*") && !deny) {
				t.Errorf("%s: Action %v is a wildcard (or not a plain string)", owners[i], a)
			}
			unscoped = unscoped && noResourceActions[as]
		}
		resources := list(get(s, "Resource"))
		if len(resources) == 0 {
			t.Errorf("%s: a statement has no Resource", owners[i])
		}
		for _, r := range resources {
			if rs, ok := r.(string); ok && rs == "*" && unscoped && len(resources) == 1 {
				continue
			}
			if rs, ok := r.(string); ok && (rs == "*" || strings.HasSuffix(rs, ":*")) {
				t.Errorf("%s: Resource %q is every resource", owners[i], rs)
			}
			// The executions of one state machine end in ":*" (their names
			// are prediction ids): that is one machine's, not every resource.
			if sub, ok := get(r, "Fn::Sub").(string); ok && (sub == "*" || strings.HasSuffix(sub, ":*") && !executionsARN.MatchString(sub)) {
				t.Errorf("%s: Resource !Sub %q is every resource", owners[i], sub)
			}
		}
	}
}
