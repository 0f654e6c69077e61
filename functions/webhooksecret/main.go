// Command webhooksecret is the Lambda function of the API route
// "webhooksecret" (GET /account/webhook-secret, see httpapi.API.Routes),
// behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("webhooksecret", lambdafn.Options{})
}
