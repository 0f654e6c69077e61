// Command webhooks delivers the ends of predictions to their webhook URLs:
// each invocation (every minute, and when an execution of the workflow
// ends) makes one pass over the deliveries due (lambdafn.Webhooks). It
// reads the results in the bucket for the payloads.
package main

import "mlsvc/pkg/lambdafn"

func main() {
	lambdafn.Start(lambdafn.Options{Blobs: lambdafn.S3}, func(d lambdafn.Deps) any { return lambdafn.Webhooks(d) })
}
