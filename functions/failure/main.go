// Command failure is the state machine's Fail task: it marks a prediction
// failed and refunds its charge, exactly once (Service.FailPrediction).
package main

import (
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/stepfn"
)

func main() {
	lambdafn.Start(lambdafn.Options{}, func(d lambdafn.Deps) any {
		return stepfn.Failure(d.Worker)
	})
}
