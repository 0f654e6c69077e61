// Command predictions is the Lambda function of the API route "predictions" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("predictions", lambdafn.Options{})
}
