// Command password is the Lambda function of the API route "password" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("password", lambdafn.Options{})
}
