// Command topup is the Lambda function of the API route "topup" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("topup", lambdafn.Options{})
}
