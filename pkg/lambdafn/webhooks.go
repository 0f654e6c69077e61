package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/stepfn"
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
// first attempt, within seconds); the event only triggers the pass (and
// names a prediction to look up in the queue), the queue on the prediction
// items says what to send. A pass that cannot
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
		// An execution's end names its prediction, whose delivery the
		// pass reads by id too: the index that lists the due ones may not
		// show it yet.
		var ended []string
		var change stepfn.ExecutionStatusChange
		if ev.Source == "aws.states" && json.Unmarshal(ev.Detail, &change) == nil && change.Name != "" {
			ended = append(ended, change.Name)
		}
		n, err := hooks.RunDue(ctx, ended...)
		if d.Logger != nil {
			d.Logger.InfoContext(ctx, "webhook pass", "trigger", ev.DetailType, "ended", ended, "attempts", n)
		}
		if err != nil {
			return WebhooksOutput{n}, fmt.Errorf("webhooks: %w", err)
		}
		return WebhooksOutput{n}, nil
	}
}
