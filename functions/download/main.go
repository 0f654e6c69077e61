// Command download is the Lambda function of the API route "download" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"mlsvc/pkg/lambdafn"
)

func main() {
	log := lambdafn.NewLogger()
	svc, err := lambdafn.NewService(context.Background(), lambdafn.Options{Blobs: lambdafn.S3, Logger: log})
	if err != nil {
		log.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(lambdafn.Route(svc, "download", log))
}
