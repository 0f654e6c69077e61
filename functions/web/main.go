// Command web serves the browser UI for the HTTP API's $default route: every
// request that matches no API route. It needs no AWS service, so it does
// not import lambdafn and its SDK clients.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"mlsvc/web"
)

func main() {
	lambda.Start(httpadapter.NewV2(web.Handler()).ProxyWithContext)
}
