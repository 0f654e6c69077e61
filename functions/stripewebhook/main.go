// Command stripewebhook is the Lambda function of the API route
// "stripewebhook" (POST /webhooks/stripe, no authorizer: Stripe signs its
// events), behind API Gateway.
package main

import (
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/lambdafn/payments"
)

func main() {
	lambdafn.StartRoute("stripewebhook", lambdafn.Options{Payments: payments.Stripe})
}
