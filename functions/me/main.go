// Command me is the Lambda function of the API route "me" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("me", lambdafn.Options{})
}
