// Command token is the Lambda function of the API route "token" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("token", lambdafn.Options{})
}
