package awstest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"mlsvc/pkg/stepfn"
)

// call is one AWS request of a function, as IAM authorizes it.
type call struct {
	fn       string // the function's name in functions/
	action   string // IAM action, e.g. dynamodb:GetItem
	table    string // DynamoDB table (its real name)
	index    string // DynamoDB index, "" for the table
	key      string // S3 object key, "" for the bucket itself
	resource string // any other resource, e.g. the state machine's ARN

	// Condition keys of the request: dynamodb:LeadingKeys (the partition
	// key of an item request) and s3:prefix (of a listing; absent from the
	// check S3 makes to answer 404 for a missing key).
	leadingKey string
	prefix     string
	hasPrefix  bool
}

// recorder serves h on loopback for function fn, recording the calls that
// h reports, and returns its URL.
func (st *stack) recorder(fn string, h func(record func(call), w http.ResponseWriter, r *http.Request)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(func(c call) {
			c.fn = fn
			st.mu.Lock()
			st.calls = append(st.calls, c)
			st.mu.Unlock()
		}, w, r)
	}))
	st.t.Cleanup(srv.Close)
	return srv.URL
}

// attributeValues is a DynamoDB Key or Item in the JSON protocol.
type attributeValues map[string]map[string]any

// leadingKey is the partition key's value in a Key or Item of table, by
// the tables' partition key names, as IAM's dynamodb:LeadingKeys sees it.
func leadingKey(hashKeys map[string]string, table string, key, item attributeValues) string {
	name := hashKeys[table]
	for _, av := range []attributeValues{key, item} {
		if v, ok := av[name]["S"].(string); ok {
			return v
		}
	}
	return ""
}

// dynamoRecorder forwards DynamoDB requests to endpoint and records the
// actions IAM checks for them: a TransactWriteItems is a PutItem,
// UpdateItem, DeleteItem or ConditionCheckItem per item and table.
// hashKeys names each table's partition key, for dynamodb:LeadingKeys.
func dynamoRecorder(endpoint string, hashKeys map[string]string) func(func(call), http.ResponseWriter, *http.Request) {
	target, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	return func(record func(call), w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
		var in struct {
			TableName     string
			IndexName     string
			Key, Item     attributeValues
			TransactItems []map[string]struct {
				TableName string
				Key, Item attributeValues
			}
			RequestItems map[string]json.RawMessage
		}
		json.Unmarshal(body, &in)
		switch op {
		case "TransactWriteItems", "TransactGetItems":
			for _, item := range in.TransactItems {
				for kind, it := range item {
					action := map[string]string{
						"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
						"ConditionCheck": "ConditionCheckItem", "Get": "GetItem",
					}[kind]
					record(call{action: "dynamodb:" + action, table: it.TableName,
						leadingKey: leadingKey(hashKeys, it.TableName, it.Key, it.Item)})
				}
			}
		case "BatchGetItem", "BatchWriteItem":
			for table := range in.RequestItems {
				record(call{action: "dynamodb:" + op, table: table})
			}
		default:
			record(call{action: "dynamodb:" + op, table: in.TableName, index: in.IndexName,
				leadingKey: leadingKey(hashKeys, in.TableName, in.Key, in.Item)})
		}
		proxy.ServeHTTP(w, r)
	}
}

// s3Recorder serves S3 requests (path-style) with h and records them. A GET
// or HEAD that finds no object also needs s3:ListBucket: without it S3
// answers 403, not 404, and a missing key is not told from a forbidden one.
func s3Recorder(h http.Handler) func(func(call), http.ResponseWriter, *http.Request) {
	return func(record func(call), w http.ResponseWriter, r *http.Request) {
		_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		switch {
		case key == "" && r.Method == http.MethodGet:
			prefix, has := r.URL.Query()["prefix"]
			c := call{action: "s3:ListBucket", hasPrefix: has}
			if has {
				c.prefix = prefix[0]
			}
			record(c)
		case r.Method == http.MethodPut:
			record(call{action: "s3:PutObject", key: key})
		case r.Method == http.MethodDelete:
			record(call{action: "s3:DeleteObject", key: key})
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			record(call{action: "s3:GetObject", key: key})
			if sw.status == http.StatusNotFound {
				record(call{action: "s3:ListBucket"})
			}
		default:
			record(call{action: "s3:" + r.Method + "?", key: key})
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// sfnRecorder serves Step Functions requests with h and records them.
func sfnRecorder(h http.Handler) func(func(call), http.ResponseWriter, *http.Request) {
	return func(record func(call), w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in struct{ StateMachineArn, ExecutionArn string }
		json.Unmarshal(body, &in)
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
		record(call{action: "states:" + op, resource: in.StateMachineArn + in.ExecutionArn})
		h.ServeHTTP(w, r)
	}
}

// grant is one Allow of an inline policy statement of a function in
// template.yaml, with its resource in the terms of the calls.
type grant struct {
	action string
	kind   string         // "table", "index", "bucket", "object", "statemachine"
	name   string         // logical id of the table, bucket or state machine
	index  string         // for kind index ("*": any)
	object *regexp.Regexp // for kind object: the key pattern
	cond   any            // the statement's Condition, nil for none
}

// allows reports whether the grant's condition holds for call c, as IAM
// evaluates it. It knows the operators and keys template.yaml uses; any
// other is an error of the test.
func (g grant) allows(t *testing.T, c call) bool {
	t.Helper()
	conds, _ := g.cond.(map[string]any)
	ok := true
	for op, keys := range conds {
		km, _ := keys.(map[string]any)
		for key, values := range km {
			var vals []string
			for _, v := range list(values) {
				vals = append(vals, str(v))
			}
			switch {
			case key == "s3:prefix" && (op == "StringLike" || op == "StringLikeIfExists"):
				if !c.hasPrefix {
					ok = ok && op == "StringLikeIfExists"
					continue
				}
				ok = ok && slices.ContainsFunc(vals, func(p string) bool { return globMatch(p, c.prefix) })
			case key == "dynamodb:LeadingKeys" && op == "ForAllValues:StringEquals":
				// ForAllValues holds for a request with no leading key (Scan, Query of an index).
				ok = ok && (c.leadingKey == "" || slices.Contains(vals, c.leadingKey))
			default:
				t.Errorf("condition %s %s: this check does not know it (iam_test.go)", op, key)
				return false
			}
		}
	}
	return ok
}

// globMatch matches s against an IAM pattern, where * is any run of characters.
func globMatch(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// grants returns the Allow grants of each function of the template, by its
// directory name in functions/.
func grants(t *testing.T, tpl cfnTemplate, targets map[string]string) map[string][]grant {
	t.Helper()
	out := map[string][]grant{}
	for id, dir := range targets {
		for _, p := range list(get(tpl.resource(id), "Properties", "Policies")) {
			for _, s := range list(get(p, "Statement")) {
				if str(get(s, "Effect")) != "Allow" {
					continue
				}
				for _, a := range list(get(s, "Action")) {
					for _, r := range list(get(s, "Resource")) {
						g, ok := parseResource(r)
						if !ok {
							t.Errorf("%s: resource %v is of a form this check does not know", id, r)
							continue
						}
						g.action = str(a)
						g.cond = get(s, "Condition")
						out[dir] = append(out[dir], g)
					}
				}
			}
		}
	}
	return out
}

var subARN = regexp.MustCompile(`^\$\{([A-Za-z0-9]+)\.Arn\}(/.*)?$`)

// ssmParameterARN is an SSM parameter named by a template parameter (the
// Stripe secrets): the tests make no SSM calls, and no policy grants more.
var ssmParameterARN = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:ssm:\$\{AWS::Region\}:\$\{AWS::AccountId\}:parameter\$\{([A-Za-z0-9]+)\}$`)

// executionsARN is the form of a grant on every execution of one state
// machine: !Sub "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${X.Name}:*".
var executionsARN = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:states:\$\{AWS::Region\}:\$\{AWS::AccountId\}:execution:\$\{([A-Za-z0-9]+)\.Name\}:\*$`)

// parseResource reads the resource forms template.yaml uses: !GetAtt X.Arn,
// !Ref X, !Sub "${X.Arn}/index/<name>", !Sub "${X.Arn}/<key pattern>" and
// the ARN of the SSM parameter named by template parameter X.
func parseResource(r any) (grant, bool) {
	if ga := list(get(r, "Fn::GetAtt")); len(ga) == 2 && str(ga[1]) == "Arn" {
		return grant{kind: "arn", name: str(ga[0])}, true
	}
	if ref := str(get(r, "Ref")); ref != "" {
		return grant{kind: "ref", name: ref}, true
	}
	if m := ssmParameterARN.FindStringSubmatch(str(get(r, "Fn::Sub"))); m != nil {
		return grant{kind: "parameter", name: m[1]}, true
	}
	if m := executionsARN.FindStringSubmatch(str(get(r, "Fn::Sub"))); m != nil {
		return grant{kind: "executions", name: m[1]}, true
	}
	m := subARN.FindStringSubmatch(str(get(r, "Fn::Sub")))
	if m == nil {
		return grant{}, false
	}
	if idx, ok := strings.CutPrefix(m[2], "/index/"); ok {
		return grant{kind: "index", name: m[1], index: idx}, true
	}
	pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(strings.TrimPrefix(m[2], "/")), `\*`, ".*") + "$"
	return grant{kind: "object", name: m[1], object: regexp.MustCompile(pattern)}, true
}

// checkPolicies fails the test for every AWS call a function made that its
// policy in template.yaml does not allow, and logs grants no call used.
func (st *stack) checkPolicies() {
	t := st.t
	st.mu.Lock()
	calls := append([]call(nil), st.calls...)
	st.mu.Unlock()
	if len(calls) == 0 {
		return
	}
	tpl := loadTemplate(t)
	targets := buildTargets(t, tpl)
	byFn := grants(t, tpl, targets)
	genv := get(map[string]any(tpl), "Globals", "Function", "Environment", "Variables")
	tableID := map[string]string{ // real table name → logical id
		st.tables.Users:       str(get(genv, "TABLE_USERS", "Ref")),
		st.tables.Usernames:   str(get(genv, "TABLE_USERNAMES", "Ref")),
		st.tables.Models:      str(get(genv, "TABLE_MODELS", "Ref")),
		st.tables.Predictions: str(get(genv, "TABLE_PREDICTIONS", "Ref")),
		st.tables.Access:      str(get(genv, "TABLE_ACCESS", "Ref")),
		st.tables.Ledger:      str(get(genv, "TABLE_LEDGER", "Ref")),
	}
	bucketID := str(get(genv, "BUCKET", "Ref"))
	machineID := str(get(tpl.functionEnv(functionOf(t, targets, "predict"))["STATE_MACHINE_ARN"], "Ref"))

	type grantKey struct {
		fn string
		i  int
	}
	used := map[grantKey]bool{}
	seen := map[call]bool{}
	for _, c := range calls {
		if seen[c] {
			continue
		}
		seen[c] = true
		allowed := false
		for i, g := range byFn[c.fn] {
			if g.action != c.action {
				continue
			}
			var ok bool
			switch {
			case c.table != "" && c.index == "":
				ok = g.kind == "arn" && g.name == tableID[c.table]
			case c.table != "":
				ok = g.kind == "index" && g.name == tableID[c.table] && (g.index == c.index || g.index == "*")
			case strings.HasPrefix(c.action, "s3:") && c.key == "":
				ok = g.kind == "arn" && g.name == bucketID
			case strings.HasPrefix(c.action, "s3:"):
				ok = g.kind == "object" && g.name == bucketID && g.object.MatchString(c.key)
			case c.resource == stateMachineARN:
				ok = g.kind == "ref" && g.name == machineID
			case strings.HasPrefix(c.resource, stepfn.ExecutionARN(stateMachineARN, "")):
				ok = g.kind == "executions" && g.name == machineID
			}
			if ok && g.allows(t, c) {
				allowed = true
				used[grantKey{c.fn, i}] = true
			}
		}
		if !allowed {
			t.Errorf("functions/%s called %s on %s, which its policy in template.yaml does not allow",
				c.fn, c.action, describeConditions(c))
		}
	}
	var unused []string
	for fn, gs := range byFn {
		if !st.ran[fn] {
			continue // not run by this test
		}
		for i, g := range gs {
			if !used[grantKey{fn, i}] {
				unused = append(unused, fn+": "+g.action+" on "+g.name+g.index)
			}
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Logf("grants no call of this test used (fine for paths it does not take):\n  %s", strings.Join(unused, "\n  "))
	}
}

// describeConditions is describe with the request's condition keys.
func describeConditions(c call) string {
	s := describe(c)
	if c.leadingKey != "" {
		s += " (dynamodb:LeadingKeys " + c.leadingKey + ")"
	}
	if c.hasPrefix {
		s += " (s3:prefix " + c.prefix + ")"
	}
	return s
}

func describe(c call) string {
	switch {
	case c.index != "":
		return "table " + c.table + " index " + c.index
	case c.table != "":
		return "table " + c.table
	case c.key != "":
		return "s3://" + bucket + "/" + c.key
	case c.resource != "":
		return c.resource
	}
	return "s3://" + bucket
}
