// Command prediction is the Lambda function of the API route "prediction" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("prediction", lambdafn.Options{Blobs: lambdafn.S3})
}
