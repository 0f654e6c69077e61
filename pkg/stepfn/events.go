package stepfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"mlsvc/pkg/mlsvc"
)

// ExecutionStatusChange is the detail of EventBridge's "Step Functions
// Execution Status Change" event. The execution's name is the prediction id.
type ExecutionStatusChange struct {
	ExecutionARN    string `json:"executionArn"`
	StateMachineARN string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	Error           string `json:"error"`
	Cause           string `json:"cause"`
}

// The event's source and detail type, as the rule in template.yaml matches them.
const (
	executionEventSource = "aws.states"
	executionEventType   = "Step Functions Execution Status Change"
)

// ExecutionEnded returns the handler of the EventBridge rule on executions
// that failed, timed out or were aborted: it fails the prediction named by
// the execution and refunds its charge, as the Fail task does. An
// execution that ran the Fail task left its prediction final, so this
// changes nothing (w.FailPrediction does nothing to a final prediction);
// one that ended without it (the execution's TimeoutSeconds, an abort, the
// Fail task's retries spent) is settled within seconds instead of waiting
// for the sweeper. The reason is mlsvc.ReasonNotRun: the execution's error is
// internal.
func ExecutionEnded(w *mlsvc.Worker, log *slog.Logger) func(context.Context, events.EventBridgeEvent) (FailureOutput, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (FailureOutput, error) {
		if ev.Source != executionEventSource || ev.DetailType != executionEventType {
			return FailureOutput{}, fmt.Errorf("stepfn: event %q from %q is not an execution status change", ev.DetailType, ev.Source)
		}
		var d ExecutionStatusChange
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return FailureOutput{}, fmt.Errorf("stepfn: execution status change: %w", err)
		}
		if d.Name == "" {
			return FailureOutput{}, errors.New("stepfn: the execution status change has no execution name")
		}
		switch d.Status {
		case "FAILED", "TIMED_OUT", "ABORTED":
		default:
			// Not a matching event of the rule: nothing ended badly.
			return FailureOutput{PredictionID: d.Name}, nil
		}
		err := w.FailPrediction(ctx, d.Name, mlsvc.ReasonNotRun)
		if mlsvc.ErrorCode(err) == mlsvc.ENotFound {
			// An execution of no prediction (started by hand, or its
			// prediction's record is gone): nothing to refund.
			log.WarnContext(ctx, "execution ended for no prediction",
				"execution_arn", d.ExecutionARN, "status", d.Status, "err", err)
			return FailureOutput{PredictionID: d.Name}, nil
		}
		if err != nil {
			return FailureOutput{}, err
		}
		log.InfoContext(ctx, "execution ended; its prediction is final", "prediction_id", d.Name,
			"execution_arn", d.ExecutionARN, "status", d.Status, "error", d.Error)
		return FailureOutput{PredictionID: d.Name, Reason: mlsvc.ReasonNotRun}, nil
	}
}

// Failures returns the handler of the failure function, which has two
// callers: the state machine's Fail task (FailureInput) and the EventBridge
// rule on ended executions (an EventBridge event). It tells them apart by
// the event's shape.
func Failures(w *mlsvc.Worker, log *slog.Logger) func(context.Context, json.RawMessage) (FailureOutput, error) {
	task := Failure(w)
	ended := ExecutionEnded(w, log)
	return func(ctx context.Context, raw json.RawMessage) (FailureOutput, error) {
		var shape struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
		}
		if err := json.Unmarshal(raw, &shape); err != nil {
			return FailureOutput{}, fmt.Errorf("stepfn: failure event: %w", err)
		}
		if shape.Source != "" || shape.DetailType != "" {
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return FailureOutput{}, fmt.Errorf("stepfn: EventBridge event: %w", err)
			}
			return ended(ctx, ev)
		}
		var in FailureInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return FailureOutput{}, fmt.Errorf("stepfn: failure event: %w", err)
		}
		return task(ctx, in)
	}
}
