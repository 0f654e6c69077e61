// Package stepfn runs the prediction workflow on AWS Step Functions: Workflow
// starts one execution of the state machine in infra/statemachine.asl.json per
// prediction, and Inference and Failure are the Lambda handlers its two Task
// states invoke.
//
// The contract with the state machine:
//
//   - execution name: the prediction id, so a prediction runs at most once;
//   - execution input: ExecutionInput, {"prediction_id", "delay_seconds",
//     "ready_at"}: the Wait state waits until ready_at (delay_seconds is
//     for definitions older than ready_at);
//   - Inference: InferenceInput → InferenceOutput, or an error whose
//     errorType is PredictionFailed (never retried), ServiceUnavailable or
//     InternalError (retried, then caught) — see TaskFailure;
//   - Failure: FailureInput, the prediction id and the caught error at
//     $.error → FailureOutput.
package stepfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"mlsvc/pkg/mlsvc"
)

// ExecutionInput is the input of an execution: the Wait state waits until
// ready_at (an input without it, delay_seconds), the Inference state passes
// prediction_id on.
type ExecutionInput struct {
	PredictionID string `json:"prediction_id"`
	DelaySeconds int    `json:"delay_seconds"`
	// ReadyAt is when the wait ends, fixed when the prediction was charged
	// (UTC, RFC 3339, whole seconds), so an execution started again does
	// not wait again.
	ReadyAt string `json:"ready_at"`
}

// Workflow is an mlsvc.Workflow that starts Step Functions executions.
type Workflow struct {
	client *sfn.Client
	arn    string
}

// A compile-time check that Workflow is an mlsvc.Workflow; every adapter
// starts with this struct, check and constructor (dynamo.Store too).
var _ mlsvc.Workflow = (*Workflow)(nil)

// New returns a Workflow that starts executions of the state machine
// stateMachineARN.
func New(client *sfn.Client, stateMachineARN string) *Workflow {
	return &Workflow{client: client, arn: stateMachineARN}
}

// Start starts the execution named p.ID. An execution of that name that
// already exists means an earlier call started it: Start returns nil.
func (w *Workflow) Start(ctx context.Context, p *mlsvc.Prediction) error {
	input, err := json.Marshal(ExecutionInput{
		PredictionID: p.ID,
		DelaySeconds: delaySeconds(p.Delay),
		ReadyAt:      ReadyAt(p),
	})
	if err != nil {
		return fmt.Errorf("stepfn: encode input of %s: %w", p.ID, err)
	}
	_, err = w.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(w.arn),
		Name:            aws.String(p.ID),
		Input:           aws.String(string(input)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stepfn: start execution %s: %w", p.ID, err)
	}
	return nil
}

// delaySeconds rounds d up to whole seconds, the Wait state's unit, so the
// wait is never shorter than asked.
func delaySeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// ReadyAt is the instant p's wait ends, p.CreatedAt + p.Delay, in UTC and
// RFC 3339, rounded up to whole seconds so the wait is never shorter than
// asked.
func ReadyAt(p *mlsvc.Prediction) string {
	t := p.CreatedAt.Add(max(p.Delay, 0)).UTC()
	if r := t.Truncate(time.Second); r.Before(t) {
		t = r.Add(time.Second)
	}
	return t.Format(time.RFC3339)
}

var _ mlsvc.Stopper = (*Workflow)(nil)

// Stop stops the execution named id (a canceled prediction's). An
// execution that does not exist or has already ended is not an error.
func (w *Workflow) Stop(ctx context.Context, id string) error {
	_, err := w.client.StopExecution(ctx, &sfn.StopExecutionInput{
		ExecutionArn: aws.String(ExecutionARN(w.arn, id)),
		Error:        aws.String("Canceled"),
		Cause:        aws.String("the prediction was canceled by its owner"),
	})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stepfn: stop execution %s: %w", id, err)
	}
	return nil
}

// ExecutionARN is the ARN of the execution named name of the state machine
// stateMachineARN: arn:aws:states:R:A:stateMachine:M becomes
// arn:aws:states:R:A:execution:M:name.
func ExecutionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}
