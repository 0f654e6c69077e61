// Command failure is the state machine's Fail task: it marks a prediction
// failed and refunds its charge, exactly once (Service.FailPrediction).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/stepfn"
)

func main() {
	log := lambdafn.NewLogger()
	svc, err := lambdafn.NewService(context.Background(), lambdafn.Options{Logger: log})
	if err != nil {
		log.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(stepfn.Failure(svc))
}
