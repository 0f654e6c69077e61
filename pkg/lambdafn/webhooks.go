package lambdafn

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/webhook"
)

// WebhooksOutput is what one run of the webhooks function did.
type WebhooksOutput struct {
	Attempts int `json:"attempts"` // delivery attempts made
}

// Webhooks is the handler of the webhooks function: each invocation makes
// one pass over the webhook deliveries due (webhook.Deliverer.RunDue),
// with the payload and signature of local mode. It is invoked every
// minute (the retries) and when an execution of the workflow ends (the
// first attempt, within seconds); the event only triggers the pass, the
// queue on the prediction items says what to send. A pass that cannot
// read the queue is an error (the asynchronous invocation's failure
// destination has an alarm); a failed attempt is not: it is recorded, to
// be retried.
func Webhooks(d Deps) func(context.Context, events.EventBridgeEvent) (WebhooksOutput, error) {
	api := httpapi.New(d.Service, nil, d.Logger)
	hooks := webhook.New(webhook.Config{
		Queue: d.Store, Secrets: d.Store, Payload: api.WebhookPayload,
		AllowPrivate: d.Env.WebhookAllowPrivate, Logger: d.Logger,
	})
	if d.Env.WebhookAllowPrivate && d.Logger != nil {
		d.Logger.Warn("MLSVC_WEBHOOK_ALLOW_PRIVATE=1: webhooks may go to private and loopback addresses (tests only)")
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) (WebhooksOutput, error) {
		n, err := hooks.RunDue(ctx)
		if d.Logger != nil {
			d.Logger.InfoContext(ctx, "webhook pass", "trigger", ev.DetailType, "attempts", n)
		}
		if err != nil {
			return WebhooksOutput{n}, fmt.Errorf("webhooks: %w", err)
		}
		return WebhooksOutput{n}, nil
	}
}
