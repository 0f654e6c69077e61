package stepfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

// executionEvent is events/execution-failed.json with another execution
// name and status.
func executionEvent(t *testing.T, name, status string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../events/execution-failed.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	detail := ev["detail"].(map[string]any)
	detail["name"], detail["status"] = name, status
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestFailuresDispatch: the failure function's one handler serves the Fail
// task's payload and the EventBridge event, through lambda.NewHandler as
// the runtime calls it.
func TestFailuresDispatch(t *testing.T) {
	tests := []struct {
		name       string
		event      func(t *testing.T) []byte
		wantFailed []string
		wantOut    stepfn.FailureOutput
	}{
		{
			name: "Fail task payload",
			event: func(*testing.T) []byte {
				return []byte(`{"prediction_id":"pending","error":{"Error":"PredictionFailed","Cause":"{\"errorMessage\":\"bad rows\",\"errorType\":\"PredictionFailed\"}"}}`)
			},
			wantFailed: []string{"pending: bad rows"},
			wantOut:    stepfn.FailureOutput{PredictionID: "pending", Reason: "bad rows"},
		},
		// One case for each status the rule matches (template.yaml's pattern
		// lists the same three), spelled out alike so each names itself.
		{
			name:       "execution timed out",
			event:      func(t *testing.T) []byte { return executionEvent(t, "pending", "TIMED_OUT") },
			wantFailed: []string{"pending: " + mlsvc.ReasonNotRun},
			wantOut:    stepfn.FailureOutput{PredictionID: "pending", Reason: mlsvc.ReasonNotRun},
		},
		{
			name:       "execution failed",
			event:      func(t *testing.T) []byte { return executionEvent(t, "orphan", "FAILED") },
			wantFailed: []string{"orphan: " + mlsvc.ReasonNotRun},
			wantOut:    stepfn.FailureOutput{PredictionID: "orphan", Reason: mlsvc.ReasonNotRun},
		},
		// The third status of the rule, as the two cases above.
		{
			name:       "execution aborted",
			event:      func(t *testing.T) []byte { return executionEvent(t, "pending", "ABORTED") },
			wantFailed: []string{"pending: " + mlsvc.ReasonNotRun},
			wantOut:    stepfn.FailureOutput{PredictionID: "pending", Reason: mlsvc.ReasonNotRun},
		},
		{
			name:    "execution succeeded (not the rule's): nothing",
			event:   func(t *testing.T) []byte { return executionEvent(t, "pending", "SUCCEEDED") },
			wantOut: stepfn.FailureOutput{PredictionID: "pending"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStore{}
			h := lambda.NewHandler(stepfn.Failures(newWorker(st), quiet))
			raw, err := h.Invoke(context.Background(), tt.event(t))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			var got stepfn.FailureOutput
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.wantOut {
				t.Errorf("output %+v, want %+v", got, tt.wantOut)
			}
			if !slices.Equal(st.failed, tt.wantFailed) {
				t.Errorf("FailPrediction calls %q, want %q", st.failed, tt.wantFailed)
			}
		})
	}
}

func TestExecutionEndedErrors(t *testing.T) {
	t.Run("store error is returned, for EventBridge to retry", func(t *testing.T) {
		down := errors.New("dynamodb: down")
		h := lambda.NewHandler(stepfn.Failures(newWorker(&fakeStore{failErr: down}), quiet))
		if _, err := h.Invoke(context.Background(), executionEvent(t, "pending", "FAILED")); err == nil || !strings.Contains(err.Error(), "down") {
			t.Errorf("error %v, want the store's", err)
		}
	})
	t.Run("no such prediction: nothing to refund", func(t *testing.T) {
		st := &fakeStore{failErr: mlsvc.Errorf(mlsvc.ENotFound, "prediction x not found")}
		h := lambda.NewHandler(stepfn.Failures(newWorker(st), quiet))
		if _, err := h.Invoke(context.Background(), executionEvent(t, "x", "FAILED")); err != nil {
			t.Errorf("error %v, want none", err)
		}
	})
	t.Run("an execution without a name", func(t *testing.T) {
		h := lambda.NewHandler(stepfn.Failures(newWorker(&fakeStore{}), quiet))
		if _, err := h.Invoke(context.Background(), executionEvent(t, "", "FAILED")); err == nil {
			t.Error("no error, want one")
		}
	})
	t.Run("another event source", func(t *testing.T) {
		h := lambda.NewHandler(stepfn.Failures(newWorker(&fakeStore{}), quiet))
		ev := []byte(`{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`)
		if _, err := h.Invoke(context.Background(), ev); err == nil {
			t.Error("no error, want one")
		}
	})
}
