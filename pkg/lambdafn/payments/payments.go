// Package payments builds the Stripe payments of the Lambda functions that
// take paid top-ups (topup, stripewebhook), with Stripe's secrets read from
// SSM Parameter Store once per cold start. It is its own package so that
// the other functions' binaries do not carry Stripe's client.
//
// Environment (template.yaml sets it from its parameters):
//
//	STRIPE_SECRET_KEY_PARAM      name of the SecureString parameter of the secret key
//	STRIPE_WEBHOOK_SECRET_PARAM  name of the SecureString parameter of the webhook signing secret
//	MLSVC_STRIPE_API_URL         Stripe's API base URL (optional; tests)
package payments

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stripepay"
)

// Stripe is lambdafn.Options.Payments: Stripe Checkout with the secrets
// named by the environment. Checkout returns users to the web UI at the
// origin of their top-up request.
func Stripe(ctx context.Context, cfg aws.Config) (mlsvc.Payments, error) {
	client := ssm.NewFromConfig(cfg)
	secret := func(envName string) (string, error) {
		name := os.Getenv(envName)
		if name == "" {
			return "", fmt.Errorf("payments: %s is not set", envName)
		}
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("payments: read parameter %s: %w", name, err)
		}
		if out.Parameter == nil || aws.ToString(out.Parameter.Value) == "" {
			return "", fmt.Errorf("payments: parameter %s is empty", name)
		}
		return aws.ToString(out.Parameter.Value), nil
	}
	key, err := secret("STRIPE_SECRET_KEY_PARAM")
	if err != nil {
		return nil, err
	}
	whsec, err := secret("STRIPE_WEBHOOK_SECRET_PARAM")
	if err != nil {
		return nil, err
	}
	return stripepay.New(stripepay.Config{SecretKey: key, WebhookSecret: whsec, APIURL: os.Getenv("MLSVC_STRIPE_API_URL")})
}
