// Command predict is the Lambda function of the API route "predict" (see
// httpapi.API.Routes), behind API Gateway. Its cold start publishes the
// built-in models that are not in the table yet, so they exist from the
// first deployment on.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"mlsvc/models"
	"mlsvc/pkg/lambdafn"
)

func main() {
	log := lambdafn.NewLogger()
	svc, err := lambdafn.NewService(context.Background(), lambdafn.Options{
		Blobs: lambdafn.S3, Workflow: lambdafn.StepFunctions,
		Catalog: models.Catalog, Logger: log,
	})
	if err != nil {
		log.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(lambdafn.Route(svc, "predict", log))
}
