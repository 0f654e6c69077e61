// Command inference is the state machine's Inference task: it runs a
// prediction's model and writes its result and CSV (Service.RunPrediction).
// It carries the built-in model files.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"mlsvc/models"
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/stepfn"
)

func main() {
	log := lambdafn.NewLogger()
	svc, err := lambdafn.NewService(context.Background(), lambdafn.Options{Blobs: lambdafn.S3, Builtin: models.Files, Logger: log})
	if err != nil {
		log.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(stepfn.Inference(svc))
}
