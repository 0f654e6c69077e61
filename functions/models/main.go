// Command models is the Lambda function of the API route "models" (see
// httpapi.API.Routes), behind API Gateway. Its cold start publishes the
// built-in models that are not in the table yet, so they exist from the
// first deployment on.
package main

import (
	"mlsvc/catalog"
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.StartRoute("models", lambdafn.Options{Catalog: catalog.Entries})
}
