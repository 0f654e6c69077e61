// Command failure is the state machine's Fail task: it marks a prediction
// failed and refunds its charge, exactly once (Service.FailPrediction).
package main

import (
	"log/slog"

	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

func main() {
	lambdafn.Start(lambdafn.Options{}, func(svc *mlsvc.Service, log *slog.Logger) any {
		return stepfn.Failure(svc)
	})
}
