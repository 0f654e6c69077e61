// Command register is the Lambda function of the API route "register" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("register", lambdafn.Options{})
}
