package awstest

import (
	"encoding/json"
	"testing"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

// executionEnded is events/execution-failed.json, the EventBridge event of
// an execution that ended badly, for the execution named id.
func executionEnded(t *testing.T, id, status string) map[string]any {
	t.Helper()
	var ev map[string]any
	sampleEvent(t, "execution-failed", &ev)
	detail := ev["detail"].(map[string]any)
	detail["name"], detail["status"] = id, status
	return ev
}

// TestExecutionEndedRefunds: the EventBridge rule on executions that
// failed, timed out or were aborted hands its event to the failure
// function, which fails the prediction and refunds it, exactly once, even
// when the workflow never ran its Fail task. It opens as TestCancel does,
// with a user who paid for a pending prediction.
func TestExecutionEndedRefunds(t *testing.T) {
	st := newStack(t)
	auth := st.user("hana", 30)

	// The execution timed out before anything ran: the prediction is
	// still pending, charged.
	id, _ := st.predict(auth, "lr", rows)
	if got := st.balance(auth); got != "20" {
		t.Fatalf("balance after the charge = %s, want 20", got)
	}
	for i, status := range []string{"TIMED_OUT", "TIMED_OUT", "ABORTED"} {
		// EventBridge delivers at least once: a repeated event, or another
		// status of the same execution, refunds nothing more.
		raw := st.fn("failure").invoke(t, executionEnded(t, id, status))
		if e := asError(raw); e != nil {
			t.Fatalf("failure function on the event (%d): %s: %s", i, e.ErrorType, e.ErrorMessage)
		}
		var out stepfn.FailureOutput
		if err := json.Unmarshal(raw, &out); err != nil || out.PredictionID != id {
			t.Fatalf("failure function answered %s, want prediction %s (%v)", raw, id, err)
		}
		if got := st.balance(auth); got != "30" {
			t.Errorf("balance after event %d = %s, want 30 (refunded once)", i, got)
		}
	}
	p := st.prediction(auth, id)
	if p.Status != string(mlsvc.StatusFailed) || p.Error != mlsvc.ReasonNotRun {
		t.Errorf("prediction %s %q, want failed %q", p.Status, p.Error, mlsvc.ReasonNotRun)
	}

	// A prediction the workflow completed is left alone.
	done, input := st.predict(auth, "lr", rows)
	if run := st.runWorkflow(input); run.Status != "SUCCEEDED" {
		t.Fatalf("workflow: %+v", run)
	}
	if e := asError(st.fn("failure").invoke(t, executionEnded(t, done, "FAILED"))); e != nil {
		t.Fatalf("failure function: %s: %s", e.ErrorType, e.ErrorMessage)
	}
	if p := st.prediction(auth, done); p.Status != string(mlsvc.StatusCompleted) {
		t.Errorf("completed prediction became %s after an execution event", p.Status)
	}
	if got := st.balance(auth); got != "20" {
		t.Errorf("balance = %s, want 20 (one completed prediction)", got)
	}

	// An execution of no prediction: nothing to do, and no error for
	// EventBridge to retry.
	if e := asError(st.fn("failure").invoke(t, executionEnded(t, "no-such-prediction", "FAILED"))); e != nil {
		t.Errorf("failure function on an unknown execution: %s: %s", e.ErrorType, e.ErrorMessage)
	}
}
