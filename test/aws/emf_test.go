package awstest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"mlsvc/internal/testenv"
)

// emfLines returns the Embedded Metric Format lines in a function's output
// (stdout and stderr, with the emulator's own lines).
func emfLines(t *testing.T, f *function) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(f.out.String(), "\n") {
		if !strings.HasPrefix(l, `{"_aws":`) && !strings.Contains(l, `"_aws":{`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: EMF line is not JSON: %s", f.name, l)
		}
		out = append(out, m)
	}
	return out
}

// awaitMetric waits until f's output has a total of want for metric name
// of model: the emulator copies the function's output to ours on its own
// schedule, so a line may arrive just after the invocation's answer.
func awaitMetric(t *testing.T, f *function, name, model string, want float64) {
	t.Helper()
	testenv.WaitFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if got := metricTotal(emfLines(t, f), name, model); got < want {
			return fmt.Errorf("%s: %s of %s is %v, want %v:\n%s", f.name, name, model, got, want, f.out.String())
		}
		return nil
	})
}

// metricTotal sums metric name over lines whose ModelId is model.
func metricTotal(lines []map[string]any, name, model string) float64 {
	var sum float64
	for _, l := range lines {
		if v, ok := l[name].(float64); ok && l["ModelId"] == model {
			sum += v
		}
	}
	return sum
}

// TestBusinessMetrics: the real bootstraps write the business metrics as
// EMF lines (namespace MLService): predict the charge, inference the
// completion (once, however often it runs), failure the refund.
func TestBusinessMetrics(t *testing.T) {
	st := newStack(t)
	auth := st.user("emma", 100)
	id, input := st.predict(auth, "lr", rows)
	if run := st.runWorkflow(input); run.Status != "SUCCEEDED" {
		t.Fatalf("workflow: %+v", run)
	}
	if e := asError(st.fn("inference").invoke(t, map[string]string{"prediction_id": id})); e != nil {
		t.Fatalf("inference again: %s", e.ErrorMessage)
	}
	awaitMetric(t, st.fn("predict"), "RevenueCents", "lr", 10_00)
	awaitMetric(t, st.fn("inference"), "PredictionsCompleted", "lr", 1)
	predict, inference := emfLines(t, st.fn("predict")), emfLines(t, st.fn("inference"))
	if got := metricTotal(predict, "PredictionsCreated", "lr"); got != 1 {
		t.Errorf("predict: PredictionsCreated %v, want 1:\n%s", got, st.fn("predict").out.String())
	}
	if got := metricTotal(predict, "RevenueCents", "lr"); got != 10_00 {
		t.Errorf("predict: RevenueCents %v, want 1000", got)
	}
	if got := metricTotal(inference, "PredictionsCompleted", "lr"); got != 1 {
		t.Errorf("inference: PredictionsCompleted %v, want 1:\n%s", got, st.fn("inference").out.String())
	}
	for _, l := range append(predict, inference...) {
		aws, _ := l["_aws"].(map[string]any)
		directives, _ := aws["CloudWatchMetrics"].([]any)
		if _, ok := aws["Timestamp"].(float64); !ok || len(directives) != 1 {
			t.Fatalf("EMF line without Timestamp or one directive: %v", l)
		}
		d := directives[0].(map[string]any)
		dims, _ := json.Marshal(d["Dimensions"])
		if d["Namespace"] != "MLService" || string(dims) != `[["ModelId"],[]]` {
			t.Errorf("directive %v, want namespace MLService with dimensions [[ModelId] []]", d)
		}
		if l["aws_request_id"] == nil {
			t.Errorf("EMF line without the invocation's aws_request_id: %v", l)
		}
	}

	// A prediction that fails: failed and refunded by the failure function.
	auth = st.user("finn", 100)
	id, _ = st.predict(auth, "lr", rows)
	if e := asError(st.fn("failure").invoke(t, map[string]any{"prediction_id": id, "error": map[string]string{"Error": "States.Timeout", "Cause": ""}})); e != nil {
		t.Fatalf("failure: %s", e.ErrorMessage)
	}
	awaitMetric(t, st.fn("failure"), "PredictionsRefunded", "lr", 1)
	failure := emfLines(t, st.fn("failure"))
	if f, r := metricTotal(failure, "PredictionsFailed", "lr"), metricTotal(failure, "PredictionsRefunded", "lr"); f != 1 || r != 1 {
		t.Errorf("failure: PredictionsFailed %v, PredictionsRefunded %v, want 1 and 1:\n%s", f, r, st.fn("failure").out.String())
	}
}
