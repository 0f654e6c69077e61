// Command deletekey is the Lambda function of the API route "deletekey" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("deletekey", lambdafn.Options{})
}
