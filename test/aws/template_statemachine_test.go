package awstest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"
)

func TestTemplateStateMachine(t *testing.T) {
	tpl := loadTemplate(t)
	root := repoRoot(t)
	id := tpl.only(t, "AWS::Serverless::StateMachine")
	props := get(tpl.resource(id), "Properties")
	if got := str(get(props, "Type")); got != "STANDARD" {
		t.Errorf("%s: Type = %q, want STANDARD (exactly-once)", id, got)
	}
	def, err := os.ReadFile(filepath.Join(root, str(get(props, "DefinitionUri"))))
	if err != nil {
		t.Fatalf("%s: DefinitionUri: %v", id, err)
	}
	var placeholders []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(def), -1) {
		if !slices.Contains(placeholders, m[1]) {
			placeholders = append(placeholders, m[1])
		}
	}
	subs, _ := get(props, "DefinitionSubstitutions").(map[string]any)
	var names []string
	for k := range subs {
		names = append(names, k)
	}
	sort.Strings(names)
	sort.Strings(placeholders)
	if !slices.Equal(names, placeholders) {
		t.Errorf("%s: DefinitionSubstitutions %v, the definition's placeholders %v", id, names, placeholders)
	}
	targets := buildTargets(t, tpl)
	// The functions it may invoke: exact ARNs in plain statements. (SAM's
	// LambdaInvokePolicy allows "<name>*", every function with the prefix.)
	invokable := map[string]bool{}
	for i, p := range list(get(props, "Policies")) {
		if get(p, "Statement") == nil {
			t.Errorf("%s: Policies[%d] is not a plain statement list: %v", id, i, p)
		}
		for _, s := range list(get(p, "Statement")) {
			if !slices.Contains(list(get(s, "Action")), any("lambda:InvokeFunction")) {
				continue
			}
			for _, r := range list(get(s, "Resource")) {
				ga := list(get(r, "Fn::GetAtt"))
				if len(ga) != 2 || str(ga[1]) != "Arn" {
					t.Errorf("%s: lambda:InvokeFunction on %v, want !GetAtt <Function>.Arn", id, r)
					continue
				}
				invokable[str(ga[0])] = true
			}
		}
	}
	for name, want := range map[string]string{"InferenceFunctionArn": "inference", "FailureFunctionArn": "failure"} {
		ga := list(get(subs[name], "Fn::GetAtt"))
		if len(ga) != 2 || str(ga[1]) != "Arn" {
			t.Errorf("%s: %s is not !GetAtt <Function>.Arn", id, name)
			continue
		}
		fn := str(ga[0])
		if got := targets[fn]; got != want {
			t.Errorf("%s: %s → %s, built from functions/%s, want functions/%s", id, name, fn, got, want)
		}
		if !invokable[fn] {
			t.Errorf("%s: no lambda:InvokeFunction statement on %s", id, fn)
		}
		delete(invokable, fn)
	}
	for fn := range invokable {
		t.Errorf("%s: may invoke %s, which its definition does not", id, fn)
	}
	// The predict function starts it and the cancel function stops its
	// executions; only they know its ARN.
	for _, fn := range tpl.resources("AWS::Serverless::Function") {
		ref := isRef(tpl.functionEnv(fn)["STATE_MACHINE_ARN"], id)
		if uses := targets[fn] == "predict" || targets[fn] == "cancel"; ref != uses {
			t.Errorf("%s (functions/%s): STATE_MACHINE_ARN set = %v, want %v", fn, targets[fn], ref, uses)
		}
	}
}
