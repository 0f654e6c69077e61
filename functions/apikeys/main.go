// Command apikeys is the Lambda function of the API route "apikeys" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("apikeys", lambdafn.Options{})
}
