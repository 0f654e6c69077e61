// Command cancel is the Lambda function of the API route "cancel" (see
// httpapi.API.Routes), behind API Gateway: it cancels and refunds a pending
// prediction and stops its Step Functions execution.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("cancel", lambdafn.Options{Workflow: lambdafn.StepFunctions})
}
