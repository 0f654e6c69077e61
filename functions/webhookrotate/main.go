// Command webhookrotate is the Lambda function of the API route
// "webhookrotate" (POST /account/webhook-secret/rotate, see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("webhookrotate", lambdafn.Options{})
}
