// Command authorizer is the Lambda REQUEST authorizer of the HTTP API
// (payload 2.0, simple responses): it checks the Basic credentials and
// passes the user id to the routes' functions in its context.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"mlsvc/pkg/lambdafn"
)

func main() {
	log := lambdafn.NewLogger()
	svc, err := lambdafn.NewService(context.Background(), lambdafn.Options{Logger: log})
	if err != nil {
		log.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(lambdafn.Authorizer(svc, log))
}
