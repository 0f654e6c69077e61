package stepfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"mlsvc/pkg/mlsvc"
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

// PredictionFailed is the error of a prediction that cannot succeed. The
// Lambda runtime reports a Go error's type name as its errorType, so this
// one reaches the state machine as "PredictionFailed", which it never
// retries. Reason is safe to show to the user.
type PredictionFailed struct {
	Reason string
}

func (e *PredictionFailed) Error() string { return e.Reason }

// Inference returns the handler of the Inference Lambda: it runs
// svc.RunPrediction. A *mlsvc.PermanentError becomes a *PredictionFailed;
// any other error is returned as it is, for the state machine to retry.
func Inference(svc *mlsvc.Service) func(context.Context, InferenceInput) (InferenceOutput, error) {
	return func(ctx context.Context, in InferenceInput) (InferenceOutput, error) {
		if in.PredictionID == "" {
			return InferenceOutput{}, &PredictionFailed{Reason: "the event has no prediction_id"}
		}
		err := svc.RunPrediction(ctx, in.PredictionID)
		var perm *mlsvc.PermanentError
		if errors.As(err, &perm) {
			return InferenceOutput{}, &PredictionFailed{Reason: perm.Reason}
		}
		if err != nil {
			return InferenceOutput{}, err
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

// GenericReason is the reason recorded for a failure that is not a
// PredictionFailed: its details are internal.
const GenericReason = "the prediction could not be run, the charge was refunded"

// maxReason bounds the recorded reason, which is shown to the user.
const maxReason = 1000

// Failure returns the handler of the Failure Lambda: it fails the
// prediction with a reason fit for the user and refunds its charge, once
// (svc.FailPrediction does nothing to a prediction that is already final).
func Failure(svc *mlsvc.Service) func(context.Context, FailureInput) (FailureOutput, error) {
	return func(ctx context.Context, in FailureInput) (FailureOutput, error) {
		if in.PredictionID == "" {
			return FailureOutput{}, errors.New("stepfn: the failure event has no prediction_id")
		}
		reason := Reason(in.Error)
		if err := svc.FailPrediction(ctx, in.PredictionID, reason); err != nil {
			return FailureOutput{}, err
		}
		return FailureOutput{PredictionID: in.PredictionID, Reason: reason}, nil
	}
}

// Reason returns the user-facing reason for a caught error: the message of
// a PredictionFailed, GenericReason for anything else.
func Reason(e *TaskError) string {
	if e == nil || e.Error != "PredictionFailed" {
		return GenericReason
	}
	var cause struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(e.Cause), &cause) != nil {
		return GenericReason
	}
	msg := strings.TrimSpace(cause.ErrorMessage)
	if msg == "" {
		return GenericReason
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
