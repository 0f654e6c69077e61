// Command download is the Lambda function of the API route "download" (see
// httpapi.API.Routes), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("download", lambdafn.Options{Blobs: lambdafn.S3})
}
