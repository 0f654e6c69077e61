package stepfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// InferenceInput is the event of the Inference Lambda.
type InferenceInput struct {
	PredictionID string `json:"prediction_id"`
}

// InferenceOutput is the Inference Lambda's result. The state machine
// discards it (ResultPath null); it shows in the execution history.
type InferenceOutput struct {
	PredictionID string `json:"prediction_id"`
}

// Error types the state machine sees (a Lambda error's errorType), by
// domain error code: the one table. PredictionFailed is never retried;
// the others are retried and then caught.
const (
	ErrorPredictionFailed   = "PredictionFailed"
	ErrorServiceUnavailable = "ServiceUnavailable"
	ErrorInternal           = "InternalError"
)

var errorTypeOf = map[string]string{
	mlsvc.EPermanent:   ErrorPredictionFailed,
	mlsvc.EUnavailable: ErrorServiceUnavailable,
}

// TaskFailure returns the error a Task's Lambda returns for err: the Lambda
// runtime reports its Type as the errorType, by the table above (not the
// Go type name of err), and its Message, which for PredictionFailed is the
// user-safe reason to record.
func TaskFailure(err error) error {
	code := mlsvc.ErrorCode(err)
	typ, ok := errorTypeOf[code]
	if !ok {
		typ = ErrorInternal
	}
	msg := err.Error()
	if code == mlsvc.EPermanent {
		msg = mlsvc.ErrorMessage(err)
	}
	return messages.InvokeResponse_Error{Type: typ, Message: msg}
}

// Inference returns the handler of the Inference Lambda: it runs
// w.RunPrediction, and reports a failure as TaskFailure.
func Inference(w *mlsvc.Worker) func(context.Context, InferenceInput) (InferenceOutput, error) {
	return func(ctx context.Context, in InferenceInput) (InferenceOutput, error) {
		if in.PredictionID == "" {
			return InferenceOutput{}, TaskFailure(mlsvc.Errorf(mlsvc.EPermanent, "the event has no prediction_id"))
		}
		ctx = obs.With(ctx, obs.KeyPredictionID, in.PredictionID)
		if err := w.RunPrediction(ctx, in.PredictionID); err != nil {
			return InferenceOutput{}, TaskFailure(err)
		}
		return InferenceOutput{PredictionID: in.PredictionID}, nil
	}
}

// TaskError is the error a Catch puts at its ResultPath: for a Lambda
// function error, Error is its errorType and Cause its error payload as
// JSON, {"errorMessage": …, "errorType": …}.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// FailureInput is the event of the Failure Lambda.
type FailureInput struct {
	PredictionID string     `json:"prediction_id"`
	Error        *TaskError `json:"error"`
}

// FailureOutput is the Failure Lambda's result: the reason recorded.
type FailureOutput struct {
	PredictionID string `json:"prediction_id"`
	Reason       string `json:"reason"`
}

// maxReason bounds the recorded reason, which is shown to the user.
const maxReason = 1000

// Failure returns the handler of the Failure Lambda: it fails the
// prediction with a reason fit for the user and refunds its charge, once
// (Worker.FailPrediction does nothing to a prediction that is already final).
func Failure(w *mlsvc.Worker) func(context.Context, FailureInput) (FailureOutput, error) {
	return func(ctx context.Context, in FailureInput) (FailureOutput, error) {
		if in.PredictionID == "" {
			return FailureOutput{}, TaskFailure(errors.New("stepfn: the failure event has no prediction_id"))
		}
		ctx = obs.With(ctx, obs.KeyPredictionID, in.PredictionID)
		reason := Reason(in.Error)
		if err := w.FailPrediction(ctx, in.PredictionID, reason); err != nil {
			return FailureOutput{}, TaskFailure(err)
		}
		return FailureOutput{PredictionID: in.PredictionID, Reason: reason}, nil
	}
}

// Reason returns the user-facing reason for a caught error: the message of
// a PredictionFailed, mlsvc.ReasonNotRun for anything else.
func Reason(e *TaskError) string {
	if e == nil || e.Error != ErrorPredictionFailed {
		return mlsvc.ReasonNotRun
	}
	var cause struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(e.Cause), &cause) != nil {
		return mlsvc.ReasonNotRun
	}
	msg := strings.TrimSpace(cause.ErrorMessage)
	if msg == "" {
		return mlsvc.ReasonNotRun
	}
	if len(msg) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}
