// Command failure marks a prediction failed and refunds its charge, exactly
// once (Service.FailPrediction): the state machine's Fail task, and the
// EventBridge rule on executions that failed, timed out or were aborted
// (stepfn.Failures tells the two events apart).
package main

import (
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/stepfn"
)

func main() {
	lambdafn.Start(lambdafn.Options{}, func(d lambdafn.Deps) any {
		return stepfn.Failures(d.Worker, d.Logger)
	})
}
