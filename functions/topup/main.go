// Command topup is the Lambda function of the API route "topup" (see
// httpapi.API.Routes), behind API Gateway. In stripe mode it starts Stripe
// Checkout Sessions.
package main

import (
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/lambdafn/payments"
)

func main() {
	lambdafn.StartRoute("topup", lambdafn.Options{Payments: payments.Stripe})
}
