package awstest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository's root directory, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// cfnTemplate is template.yaml as plain Go values: maps, slices, strings,
// numbers and bools. CloudFormation's short tags become their long forms:
// !Ref X is {"Ref": "X"}, !GetAtt A.B is {"Fn::GetAtt": ["A", "B"]}, !Sub s
// is {"Fn::Sub": s}, and so on.
type cfnTemplate map[string]any

func loadTemplate(t testing.TB) cfnTemplate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	v, err := cfnValue(&doc)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("template.yaml: top level is %T, want a mapping", v)
	}
	return m
}

// cfnValue converts a YAML node, resolving CloudFormation's short tags.
func cfnValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("line %d: want one document", n.Line)
		}
		return cfnValue(n.Content[0])
	case yaml.AliasNode:
		return cfnValue(n.Alias)
	}
	tag := n.Tag
	if strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		name := strings.TrimPrefix(tag, "!")
		inner := *n
		inner.Tag = ""
		v, err := cfnValue(&inner)
		if err != nil {
			return nil, err
		}
		if name == "GetAtt" {
			if s, ok := v.(string); ok {
				res, attr, _ := strings.Cut(s, ".")
				v = []any{res, attr}
			}
		}
		if name == "Ref" || name == "Condition" {
			return map[string]any{name: v}, nil
		}
		return map[string]any{"Fn::" + name: v}, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			var k string
			if err := n.Content[i].Decode(&k); err != nil {
				return nil, fmt.Errorf("line %d: key: %w", n.Content[i].Line, err)
			}
			v, err := cfnValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := cfnValue(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

// get walks a path of map keys; nil when any is absent.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// list returns v as a slice, wrapping a single value (CloudFormation accepts
// both for Action, Resource and the like).
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// resources returns the logical ids of the template's resources of type typ, sorted.
func (tpl cfnTemplate) resources(typ string) []string {
	var ids []string
	for id, r := range get(map[string]any(tpl), "Resources").(map[string]any) {
		if str(get(r, "Type")) == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// only returns the logical id of the template's one resource of type typ,
// failing t if it has none or several.
func (tpl cfnTemplate) only(t testing.TB, typ string) string {
	t.Helper()
	ids := tpl.resources(typ)
	if len(ids) != 1 {
		t.Fatalf("template.yaml has %s resources %v, want one", typ, ids)
	}
	return ids[0]
}

// functionEvent is an event source of a function in the template.
type functionEvent struct {
	function, name string // the function's logical id, the event's name
	props          any    // the event's Properties
}

// events returns the event sources of type typ (HttpApi, EventBridgeRule,
// …) of every function, by function, then name.
func (tpl cfnTemplate) events(typ string) []functionEvent {
	var out []functionEvent
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		evs, _ := get(tpl.resource(id), "Properties", "Events").(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(evs)) {
			if str(get(evs[name], "Type")) == typ {
				out = append(out, functionEvent{function: id, name: name, props: get(evs[name], "Properties")})
			}
		}
	}
	return out
}

func (tpl cfnTemplate) resource(id string) any {
	return get(map[string]any(tpl), "Resources", id)
}

// functionProperty is a function's property, or the Globals' one when the
// function does not set it.
func (tpl cfnTemplate) functionProperty(id, name string) any {
	if v := get(tpl.resource(id), "Properties", name); v != nil {
		return v
	}
	return get(map[string]any(tpl), "Globals", "Function", name)
}

// functionEnv merges the Globals' environment with the function's, as SAM does.
func (tpl cfnTemplate) functionEnv(id string) map[string]any {
	env := map[string]any{}
	for _, src := range []any{
		get(map[string]any(tpl), "Globals", "Function", "Environment", "Variables"),
		get(tpl.resource(id), "Properties", "Environment", "Variables"),
	} {
		if m, ok := src.(map[string]any); ok {
			for k, v := range m {
				env[k] = v
			}
		}
	}
	return env
}

// isRef reports whether v is {"Ref": id}.
func isRef(v any, id string) bool { return str(get(v, "Ref")) == id }

// isGetAtt reports whether v is {"Fn::GetAtt": [id, attr]}.
func isGetAtt(v any, id, attr string) bool {
	s := list(get(v, "Fn::GetAtt"))
	return len(s) == 2 && str(s[0]) == id && str(s[1]) == attr
}
