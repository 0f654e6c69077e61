package lambdafn

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/crypto/bcrypt"

	"mlsvc/pkg/mlsvc"
)

// signatureSeen is an mlsvc.Payments that records the signature of the
// event it is asked to read and credits nothing.
type signatureSeen struct {
	mlsvc.Payments
	got []string
}

func (p *signatureSeen) Event(_ []byte, signature string) (*mlsvc.Payment, error) {
	p.got = append(p.got, signature)
	return nil, nil
}

// TestStripeSignatureHeader: behind API Gateway the Stripe-Signature header
// ("t=…,v1=…", which the Lambda adapter splits at commas) reaches the
// payment provider as Stripe sent it.
func TestStripeSignatureHeader(t *testing.T) {
	payments := &signatureSeen{}
	svc := mlsvc.New(mlsvc.Config{Store: &fakeStore{}, Blobs: noBlobs{}, Workflow: noWorkflow{}, BcryptCost: bcrypt.MinCost,
		TopUpMode: mlsvc.TopUpStripe, Payments: payments})
	handle := Route(svc, "stripewebhook", nil, nil)
	const sig = "t=1795780800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "POST /webhooks/stripe", RawPath: "/webhooks/stripe",
		Headers: map[string]string{"content-type": "application/json", "stripe-signature": sig}, Body: `{"id":"evt_1"}`}
	ev.RequestContext.HTTP.Method = http.MethodPost
	ev.RequestContext.HTTP.Path = "/webhooks/stripe"
	resp, err := handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(payments.got) != 1 || payments.got[0] != sig {
		t.Errorf("%d %s, signatures seen %q; want 200 and %q", resp.StatusCode, resp.Body, payments.got, sig)
	}
}
