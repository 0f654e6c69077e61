// Command failure marks a prediction failed and refunds its charge, exactly
// once (Service.FailPrediction): the state machine's Fail task, and the
// EventBridge rule on executions that failed, timed out or were aborted
// (stepfn.Failures tells the two events apart).
package main

import (
	"log/slog"

	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

func main() {
	lambdafn.Start(lambdafn.Options{}, func(svc *mlsvc.Service, log *slog.Logger) any {
		return stepfn.Failures(svc, log)
	})
}
