// Command createkey is the Lambda function of the API route "createkey" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("createkey", lambdafn.Options{})
}
