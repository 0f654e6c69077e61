// Command transactions is the Lambda function of the API route
// "transactions" (see httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("transactions", lambdafn.Options{})
}
