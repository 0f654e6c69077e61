package awstest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"mlsvc/catalog"
	"mlsvc/pkg/mlsvc"
)

// The business metrics the functions emit (Embedded Metric Format), as
// docs/OPERATIONS.md lists them.
const metricsNamespace = "MLService"

var businessMetrics = []string{
	"PredictionsCreated", "PredictionsCompleted", "PredictionsFailed", "PredictionsCanceled",
	"PredictionsRefunded", "RevenueCents", "InferenceDuration", "PredictionsSettled",
}

// parameterDefault is the Default of template parameter name, as a string.
func (tpl cfnTemplate) parameterDefault(t *testing.T, name string) string {
	t.Helper()
	p := get(map[string]any(tpl), "Parameters", name)
	if p == nil {
		t.Fatalf("template.yaml has no parameter %s", name)
	}
	return fmt.Sprint(get(p, "Default"))
}

// refTo returns the logical id v refers to with !Ref or !GetAtt, "" if none.
func refTo(v any) string {
	if r := str(get(v, "Ref")); r != "" {
		return r
	}
	if ga := list(get(v, "Fn::GetAtt")); len(ga) == 2 {
		return str(ga[0])
	}
	return ""
}

// routeFunctions are the functions of API routes (HttpApi events).
func routeFunctions(tpl cfnTemplate) []string {
	var ids []string
	for _, ev := range httpEvents(tpl) {
		if !slices.Contains(ids, ev.function) {
			ids = append(ids, ev.function)
		}
	}
	sort.Strings(ids)
	return ids
}

// checkLogGroup checks that v refers to a log group kept LogRetentionDays.
func checkLogGroup(t *testing.T, tpl cfnTemplate, owner string, v any) string {
	t.Helper()
	id := refTo(v)
	if str(get(tpl.resource(id), "Type")) != "AWS::Logs::LogGroup" {
		t.Errorf("%s: logs to %v, want a log group of the template", owner, v)
		return ""
	}
	if !isRef(get(tpl.resource(id), "Properties", "RetentionInDays"), "LogRetentionDays") {
		t.Errorf("%s: its log group %s does not keep LogRetentionDays", owner, id)
	}
	return id
}

// TestTemplateLogs: every function writes JSON lines to a log group of its
// own; it, the workflow's and the API's access log keep LogRetentionDays
// (default 30); the access log is one JSON object per request.
func TestTemplateLogs(t *testing.T) {
	tpl := loadTemplate(t)
	if got := tpl.parameterDefault(t, "LogRetentionDays"); got != "30" {
		t.Errorf("LogRetentionDays defaults to %s, want 30", got)
	}
	for _, id := range tpl.resources("AWS::Logs::LogGroup") {
		if !isRef(get(tpl.resource(id), "Properties", "RetentionInDays"), "LogRetentionDays") {
			t.Errorf("%s: RetentionInDays is not !Ref LogRetentionDays", id)
		}
	}
	owner := map[string]string{} // log group → who logs there
	claim := func(who, group string) {
		if group == "" {
			return
		}
		if prev, ok := owner[group]; ok {
			t.Errorf("%s and %s share the log group %s", prev, who, group)
		}
		owner[group] = who
	}
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		lc := tpl.functionProperty(id, "LoggingConfig")
		if got := str(get(lc, "LogFormat")); got != "JSON" {
			t.Errorf("%s: LoggingConfig.LogFormat = %q, want JSON", id, got)
		}
		claim(id, checkLogGroup(t, tpl, id, get(lc, "LogGroup")))
	}

	machine := tpl.resources("AWS::Serverless::StateMachine")[0]
	logging := get(tpl.resource(machine), "Properties", "Logging")
	if lvl := str(get(logging, "Level")); lvl != "ERROR" && lvl != "ALL" {
		t.Errorf("%s: Logging.Level = %q, want ERROR or ALL", machine, lvl)
	}
	dest := list(get(logging, "Destinations"))
	if len(dest) != 1 {
		t.Fatalf("%s: Logging.Destinations = %v, want one log group", machine, dest)
	}
	claim(machine, checkLogGroup(t, tpl, machine, get(dest[0], "CloudWatchLogsLogGroup", "LogGroupArn")))

	api := tpl.resources("AWS::Serverless::HttpApi")[0]
	access := get(tpl.resource(api), "Properties", "AccessLogSettings")
	claim(api, checkLogGroup(t, tpl, api, get(access, "DestinationArn")))
	// The format with each $context variable replaced by a sample value is
	// one JSON object with these fields.
	format := str(get(access, "Format"))
	sample := regexp.MustCompile(`\$context\.[A-Za-z0-9_.]+`).ReplaceAllStringFunc(format, func(v string) string {
		switch v {
		case "$context.status", "$context.responseLatency":
			return "200"
		}
		return "x"
	})
	var line map[string]any
	if err := json.Unmarshal([]byte(sample), &line); err != nil {
		t.Errorf("%s: AccessLogSettings.Format is not one JSON object: %v\n%s", api, err, format)
	}
	for field, want := range map[string]string{
		"requestId": "$context.requestId", "routeKey": "$context.routeKey", "status": "$context.status",
		"latency": "$context.responseLatency", "userId": "$context.authorizer.user_id",
	} {
		if !regexp.MustCompile(`"` + field + `":"?` + regexp.QuoteMeta(want) + `\b`).MatchString(format) {
			t.Errorf("%s: the access log has no %q: %s", api, field, want)
		}
	}
}

// TestTemplateTracing: X-Ray on every function and on the state machine
// (SAM adds the write permission to their roles).
func TestTemplateTracing(t *testing.T) {
	tpl := loadTemplate(t)
	for _, id := range tpl.resources("AWS::Serverless::Function") {
		if got := str(tpl.functionProperty(id, "Tracing")); got != "Active" {
			t.Errorf("%s: Tracing = %q, want Active", id, got)
		}
	}
	for _, id := range tpl.resources("AWS::Serverless::StateMachine") {
		if get(tpl.resource(id), "Properties", "Tracing", "Enabled") != true {
			t.Errorf("%s: Tracing.Enabled is not true", id)
		}
	}
}

// metric is one metric an alarm reads.
type metric struct {
	namespace, name string
	dims            map[string]string // dimension → the logical id its value refers to
}

// alarmMetrics returns the metrics of an alarm, plain or in Metrics (metric
// math), and its expressions.
func alarmMetrics(tpl cfnTemplate, id string) ([]metric, []string) {
	props := get(tpl.resource(id), "Properties")
	dims := func(v any) map[string]string {
		m := map[string]string{}
		for _, d := range list(v) {
			m[str(get(d, "Name"))] = refTo(get(d, "Value"))
		}
		return m
	}
	var out []metric
	var exprs []string
	if name := str(get(props, "MetricName")); name != "" {
		out = append(out, metric{str(get(props, "Namespace")), name, dims(get(props, "Dimensions"))})
	}
	for _, m := range list(get(props, "Metrics")) {
		if e := str(get(m, "Expression")); e != "" {
			exprs = append(exprs, e)
			continue
		}
		mm := get(m, "MetricStat", "Metric")
		out = append(out, metric{str(get(mm, "Namespace")), str(get(mm, "MetricName")), dims(get(mm, "Dimensions"))})
	}
	return out, exprs
}

// alarmsOn returns the alarms that read metric name of namespace with
// dimension dim referring to resource ("" for a metric without dimensions).
func alarmsOn(tpl cfnTemplate, namespace, name, dim, resource string) []string {
	var ids []string
	for _, id := range tpl.resources("AWS::CloudWatch::Alarm") {
		ms, _ := alarmMetrics(tpl, id)
		for _, m := range ms {
			if m.namespace != namespace || m.name != name {
				continue
			}
			if (dim == "" && len(m.dims) == 0) || (dim != "" && m.dims[dim] == resource) {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

// TestTemplateAlarms: the alarms of docs/OPERATIONS.md exist, read the
// right metrics, and notify the alarm topic, which an optional e-mail
// address subscribes to.
func TestTemplateAlarms(t *testing.T) {
	tpl := loadTemplate(t)
	topic := tpl.only(t, "AWS::SNS::Topic") // the alarms'
	if got := tpl.parameterDefault(t, "AlarmEmail"); got != "" {
		t.Errorf("AlarmEmail defaults to %q, want empty (no subscription)", got)
	}
	subID := tpl.only(t, "AWS::SNS::Subscription") // the optional e-mail one
	sub := tpl.resource(subID)
	cond := str(get(sub, "Condition"))
	want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AlarmEmail"}, ""}}}}
	if got := get(map[string]any(tpl), "Conditions", cond); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: Condition %q is %v, want AlarmEmail not empty", subID, cond, got)
	}
	if !isRef(get(sub, "Properties", "TopicArn"), topic) || str(get(sub, "Properties", "Protocol")) != "email" ||
		!isRef(get(sub, "Properties", "Endpoint"), "AlarmEmail") {
		t.Errorf("%s: want an email subscription of AlarmEmail to %s", subID, topic)
	}
	for _, id := range tpl.resources("AWS::CloudWatch::Alarm") {
		props := get(tpl.resource(id), "Properties")
		if !slices.ContainsFunc(list(get(props, "AlarmActions")), func(v any) bool { return isRef(v, topic) }) {
			t.Errorf("%s: AlarmActions do not notify %s", id, topic)
		}
		if get(props, "TreatMissingData") != "notBreaching" {
			t.Errorf("%s: TreatMissingData is not notBreaching (no traffic is no alarm)", id)
		}
	}

	need := func(what string, ids []string) {
		t.Helper()
		if len(ids) == 0 {
			t.Errorf("no alarm on %s", what)
		}
	}
	for _, fn := range tpl.resources("AWS::Serverless::Function") {
		need(fn+" Errors", alarmsOn(tpl, "AWS/Lambda", "Errors", "FunctionName", fn))
		need(fn+" Throttles", alarmsOn(tpl, "AWS/Lambda", "Throttles", "FunctionName", fn))
	}
	machine := tpl.resources("AWS::Serverless::StateMachine")[0]
	need("ExecutionsFailed", alarmsOn(tpl, "AWS/States", "ExecutionsFailed", "StateMachineArn", machine))
	need("ExecutionsTimedOut", alarmsOn(tpl, "AWS/States", "ExecutionsTimedOut", "StateMachineArn", machine))
	for _, table := range tpl.resources("AWS::DynamoDB::Table") {
		need(table+" read throttles", alarmsOn(tpl, "AWS/DynamoDB", "ReadThrottleEvents", "TableName", table))
		need(table+" write throttles", alarmsOn(tpl, "AWS/DynamoDB", "WriteThrottleEvents", "TableName", table))
	}
	need("the sweeper settling predictions", alarmsOn(tpl, metricsNamespace, "PredictionsSettled", "", ""))

	// Rates are metric math over both counts.
	rate := func(what, namespace, num, den, dim, resource string) {
		t.Helper()
		for _, id := range alarmsOn(tpl, namespace, num, dim, resource) {
			if !slices.Contains(alarmsOn(tpl, namespace, den, dim, resource), id) {
				continue
			}
			props := get(tpl.resource(id), "Properties")
			ids := map[string]string{} // metric name → its id in the expression
			for _, m := range list(get(props, "Metrics")) {
				ids[str(get(m, "MetricStat", "Metric", "MetricName"))] = str(get(m, "Id"))
			}
			_, exprs := alarmMetrics(tpl, id)
			for _, e := range exprs {
				if strings.Contains(e, ids[num]+" / "+ids[den]) || strings.Contains(e, ids[num]+"/"+ids[den]) {
					return
				}
			}
		}
		t.Errorf("no alarm on %s: metric math %s / %s", what, num, den)
	}
	api := tpl.resources("AWS::Serverless::HttpApi")[0]
	rate("the API's 5xx rate", "AWS/ApiGateway", "5xx", "Count", "ApiId", api)
	rate("the failed-prediction ratio", metricsNamespace, "PredictionsFailed", "PredictionsCreated", "", "")

	// Asynchronous invocations that fail for good land in a queue with an alarm.
	for _, fn := range []string{"SweeperFunction", "FailureFunction", "WebhooksFunction"} {
		q := refTo(get(tpl.resource(fn), "Properties", "EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination"))
		if str(get(tpl.resource(q), "Type")) != "AWS::SQS::Queue" {
			t.Errorf("%s: EventInvokeConfig has no on-failure SQS queue", fn)
			continue
		}
		need("the queue "+q, alarmsOn(tpl, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q))
	}
}

// TestTemplateDashboard: one dashboard, valid JSON once CloudFormation has
// substituted it, showing every business metric.
func TestTemplateDashboard(t *testing.T) {
	tpl := loadTemplate(t)
	id := tpl.only(t, "AWS::CloudWatch::Dashboard")
	body := str(get(tpl.resource(id), "Properties", "DashboardBody", "Fn::Sub"))
	for _, v := range regexp.MustCompile(`\$\{([A-Za-z0-9:]+)\}`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(v[1], "AWS::") && tpl.resource(v[1]) == nil {
			t.Errorf("%s: ${%s} is no resource of the template", id, v[1])
		}
	}
	resolved := regexp.MustCompile(`\$\{[A-Za-z0-9:]+\}`).ReplaceAllString(body, "x")
	var dash struct {
		Widgets []struct {
			Type       string
			Properties struct{ Metrics [][]any }
		}
	}
	if err := json.Unmarshal([]byte(resolved), &dash); err != nil {
		t.Fatalf("%s: DashboardBody is not JSON: %v", id, err)
	}
	shown := map[string]bool{}
	for _, w := range dash.Widgets {
		namespace := ""
		for _, m := range w.Properties.Metrics {
			for i, v := range m {
				s, _ := v.(string)
				if i == 0 && s != "." && s != "..." {
					namespace = s
				}
				if i == 1 && namespace == metricsNamespace {
					shown[s] = true
				}
			}
		}
	}
	for _, name := range businessMetrics {
		if !shown[name] {
			t.Errorf("%s: no widget shows %s/%s", id, metricsNamespace, name)
		}
	}
}

// TestTemplateRecovery: executions that fail, time out or are aborted are
// routed by an EventBridge rule to the failure function, with the event as
// its input (events/execution-failed.json is one); the sweeper runs on a
// schedule.
func TestTemplateRecovery(t *testing.T) {
	tpl := loadTemplate(t)
	targets := buildTargets(t, tpl)
	machine := tpl.resources("AWS::Serverless::StateMachine")[0]
	var rules []string
	for _, ev := range tpl.events("EventBridgeRule") {
		fn, name, p := ev.function, ev.name, ev.props
		pattern := get(p, "Pattern")
		if !slices.Equal(list(get(pattern, "source")), []any{"aws.states"}) ||
			!slices.Equal(list(get(pattern, "detail-type")), []any{"Step Functions Execution Status Change"}) {
			continue
		}
		rules = append(rules, targets[fn])
		// The failure function fails and refunds what ended badly; the
		// webhooks function makes a pass when any execution ends.
		want, ok := map[string][]any{
			"failure":  {"ABORTED", "FAILED", "TIMED_OUT"},
			"webhooks": {"ABORTED", "FAILED", "SUCCEEDED", "TIMED_OUT"},
		}[targets[fn]]
		if !ok {
			t.Errorf("%s.%s: the execution rule targets functions/%s, want functions/failure or functions/webhooks", fn, name, targets[fn])
		}
		status := list(get(pattern, "detail", "status"))
		sort.Slice(status, func(i, j int) bool { return str(status[i]) < str(status[j]) })
		if !slices.Equal(status, want) {
			t.Errorf("%s.%s: statuses %v, want %v", fn, name, status, want)
		}
		if arns := list(get(pattern, "detail", "stateMachineArn")); len(arns) != 1 || !isRef(arns[0], machine) {
			t.Errorf("%s.%s: stateMachineArn %v, want [!Ref %s]", fn, name, arns, machine)
		}
		for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
			if get(p, k) != nil {
				t.Errorf("%s.%s: %s is set; the function's input must be the event itself", fn, name, k)
			}
		}
		if get(p, "RetryPolicy") == nil {
			t.Errorf("%s.%s: no RetryPolicy for undelivered events", fn, name)
		}
		// A lost refund event waits for the sweeper; a lost webhooks
		// event only for the next scheduled pass, a minute away.
		if targets[fn] == "failure" && get(p, "DeadLetterConfig") == nil {
			t.Errorf("%s.%s: no DeadLetterConfig for undelivered events", fn, name)
		}
	}
	sort.Strings(rules)
	if !slices.Equal(rules, []string{"failure", "webhooks"}) {
		t.Errorf("execution status rules target %v, want functions/failure and functions/webhooks, once each", rules)
	}

	// The sample event is such an event, for an execution named by a prediction id.
	var ev events.EventBridgeEvent
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "events", "execution-failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("events/execution-failed.json: %v", err)
	}
	var detail struct{ Name, Status, StateMachineArn string }
	json.Unmarshal(ev.Detail, &detail)
	if ev.Source != "aws.states" || ev.DetailType != "Step Functions Execution Status Change" || detail.Name == "" ||
		!slices.Contains([]string{"FAILED", "TIMED_OUT", "ABORTED"}, detail.Status) || detail.StateMachineArn == "" {
		t.Errorf("events/execution-failed.json is not a matching execution status change: %+v %+v", ev, detail)
	}

	// The sweeper runs every few minutes.
	scheduled := false
	evs, _ := get(tpl.resource("SweeperFunction"), "Properties", "Events").(map[string]any)
	for _, ev := range evs {
		if str(get(ev, "Type")) == "Schedule" && regexp.MustCompile(`^rate\([0-9]+ minutes?\)$`).MatchString(str(get(ev, "Properties", "Schedule"))) {
			scheduled = true
		}
	}
	if !scheduled {
		t.Error("SweeperFunction has no Schedule rate(N minutes)")
	}
}

// definition reads the state machine definition of the template.
func definition(t *testing.T, tpl cfnTemplate) map[string]any {
	t.Helper()
	machine := tpl.resources("AWS::Serverless::StateMachine")[0]
	data, err := os.ReadFile(filepath.Join(repoRoot(t), str(get(tpl.resource(machine), "Properties", "DefinitionUri"))))
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(data, &def); err != nil {
		t.Fatal(err)
	}
	return def
}

func number(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// TestTemplateTimeouts: API functions answer within API Gateway's 30 s;
// each task's Lambda timeout is below its state's TimeoutSeconds; the
// execution has a TimeoutSeconds; the wait ends at the input's ready_at.
func TestTemplateTimeouts(t *testing.T) {
	tpl := loadTemplate(t)
	for _, fn := range routeFunctions(tpl) {
		if got := number(tpl.functionProperty(fn, "Timeout")); got <= 0 || got >= 30 {
			t.Errorf("%s: Timeout %v s, want below API Gateway's 30 s integration limit", fn, got)
		}
	}
	def := definition(t, tpl)
	if number(def["TimeoutSeconds"]) <= 0 {
		t.Error("the state machine definition has no TimeoutSeconds")
	}
	// The sweeper settles what is pending StaleAfter past its wait: only
	// after every execution has ended (the wait is before the timeout).
	if timeout := time.Duration(number(def["TimeoutSeconds"])) * time.Second; timeout >= mlsvc.StaleAfter {
		t.Errorf("execution TimeoutSeconds %v is not below mlsvc.StaleAfter %v: the sweeper could refund a running execution", timeout, mlsvc.StaleAfter)
	}
	states := def["States"].(map[string]any)
	for state, fn := range map[string]string{"Inference": "InferenceFunction", "Fail": "FailureFunction"} {
		task, lambda := number(get(states[state], "TimeoutSeconds")), number(tpl.functionProperty(fn, "Timeout"))
		if task <= lambda || task > number(def["TimeoutSeconds"]) {
			t.Errorf("%s: TimeoutSeconds %v, want above %s's Timeout %v and below the execution's", state, task, fn, lambda)
		}
	}
	if got := str(get(states["Wait"], "TimestampPath")); got != "$.ready_at" {
		t.Errorf("Wait: TimestampPath %q, want $.ready_at", got)
	}
}

// TestTemplateReservedConcurrency: the inference and failure functions
// reserve concurrency, a parameter each with a default above 0 (0 reserves
// none).
func TestTemplateReservedConcurrency(t *testing.T) {
	tpl := loadTemplate(t)
	for fn, param := range map[string]string{
		"InferenceFunction": "InferenceReservedConcurrency", "FailureFunction": "FailureReservedConcurrency",
		"WebhooksFunction": "WebhooksReservedConcurrency",
	} {
		v := list(get(tpl.resource(fn), "Properties", "ReservedConcurrentExecutions", "Fn::If"))
		if len(v) != 3 || !isRef(v[1], param) || !isRef(v[2], "AWS::NoValue") {
			t.Errorf("%s: ReservedConcurrentExecutions is not !If [cond, !Ref %s, !Ref AWS::NoValue]", fn, param)
			continue
		}
		want := fmt.Sprint(map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": param}, "0"}}}})
		if got := fmt.Sprint(get(map[string]any(tpl), "Conditions", str(v[0]))); got != want {
			t.Errorf("%s: condition %s is %s, want %s not 0", fn, v[0], got, param)
		}
		if d := tpl.parameterDefault(t, param); d == "0" || d == "" {
			t.Errorf("%s defaults to %q, want a number above 0", param, d)
		}
	}
}

// TestTemplateDeployments: every API function is published under the
// alias live and shifted to by a canary, rolled back by its errors alarm
// and by the alarm on the API functions' 5xx answers, which a metric
// filter counts from each one's request log.
func TestTemplateDeployments(t *testing.T) {
	tpl := loadTemplate(t)
	if got := tpl.parameterDefault(t, "DeploymentType"); !strings.HasPrefix(got, "Canary") {
		t.Errorf("DeploymentType defaults to %q, want a canary", got)
	}
	gate := alarmsOn(tpl, metricsNamespace, "Http5xxResponses", "", "")
	if len(gate) != 1 {
		t.Fatalf("alarms on %s/Http5xxResponses: %v, want one", metricsNamespace, gate)
	}
	filtered := map[string]bool{} // log groups counting 5xx answers
	for _, id := range tpl.resources("AWS::Logs::MetricFilter") {
		p := get(tpl.resource(id), "Properties")
		for _, m := range list(get(p, "MetricTransformations")) {
			if str(get(m, "MetricNamespace")) == metricsNamespace && str(get(m, "MetricName")) == "Http5xxResponses" &&
				strings.Contains(str(get(p, "FilterPattern")), "$.status >= 500") {
				filtered[refTo(get(p, "LogGroupName"))] = true
			}
		}
	}
	for _, fn := range routeFunctions(tpl) {
		props := get(tpl.resource(fn), "Properties")
		if got := str(get(props, "AutoPublishAlias")); got != "live" {
			t.Errorf("%s: AutoPublishAlias = %q, want live", fn, got)
		}
		dp := get(props, "DeploymentPreference")
		if !isRef(get(dp, "Type"), "DeploymentType") {
			t.Errorf("%s: DeploymentPreference.Type is not !Ref DeploymentType", fn)
		}
		var alarms []string
		for _, a := range list(get(dp, "Alarms")) {
			alarms = append(alarms, refTo(a))
		}
		if !slices.Contains(alarms, gate[0]) {
			t.Errorf("%s: DeploymentPreference.Alarms %v lack %s", fn, alarms, gate[0])
		}
		if !slices.ContainsFunc(alarmsOn(tpl, "AWS/Lambda", "Errors", "FunctionName", fn), func(a string) bool { return slices.Contains(alarms, a) }) {
			t.Errorf("%s: DeploymentPreference.Alarms %v lack the alarm on its Errors", fn, alarms)
		}
		if group := refTo(get(props, "LoggingConfig", "LogGroup")); !filtered[group] {
			t.Errorf("%s: no metric filter counts the 5xx answers in its log group %s", fn, group)
		}
	}
}

// TestTemplateIAMConditions: listing the bucket is allowed only under named
// prefixes, and a function of a public route writes to the models table
// only the built-in catalog's ids.
func TestTemplateIAMConditions(t *testing.T) {
	tpl := loadTemplate(t)
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var ids []any
	for _, m := range entries {
		ids = append(ids, m.ID)
	}
	sort.Slice(ids, func(i, j int) bool { return str(ids[i]) < str(ids[j]) })
	writes := []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
	routes := routeFunctions(tpl)
	for _, fn := range tpl.resources("AWS::Serverless::Function") {
		for _, p := range list(get(tpl.resource(fn), "Properties", "Policies")) {
			for _, s := range list(get(p, "Statement")) {
				actions := list(get(s, "Action"))
				cond := get(s, "Condition")
				if slices.Contains(actions, any("s3:ListBucket")) {
					var prefixes []any
					for _, op := range []string{"StringLike", "StringLikeIfExists"} {
						prefixes = append(prefixes, list(get(cond, op, "s3:prefix"))...)
					}
					if len(prefixes) == 0 {
						t.Errorf("%s: s3:ListBucket without an s3:prefix condition", fn)
					}
					for _, pre := range prefixes {
						if s := str(pre); s == "" || s == "*" {
							t.Errorf("%s: s3:ListBucket under prefix %q", fn, s)
						}
					}
				}
				if !slices.Contains(routes, fn) || !slices.ContainsFunc(list(get(s, "Resource")), func(r any) bool { return isGetAtt(r, "ModelsTable", "Arn") }) {
					continue
				}
				for _, a := range actions {
					if !slices.Contains(writes, str(a)) {
						continue
					}
					keys := list(get(cond, "ForAllValues:StringEquals", "dynamodb:LeadingKeys"))
					sort.Slice(keys, func(i, j int) bool { return str(keys[i]) < str(keys[j]) })
					if str(a) != "dynamodb:PutItem" || !slices.Equal(keys, ids) {
						t.Errorf("%s: %s on ModelsTable for any key %v, want PutItem of the catalog's ids %v only", fn, a, keys, ids)
					}
				}
			}
		}
	}
}
