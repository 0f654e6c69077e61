package dynamo

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// The webhook queue (mlsvc.WebhookQueue) lives on the prediction items
// themselves: the update that ends a prediction with a webhook_url also
// sets its delivery's attributes, so a prediction cannot end without its
// delivery queued, nor have it queued twice (that update is conditioned on
// the prediction being pending).
//
//	wh_event     S  prediction.completed|failed|canceled; present iff a delivery was queued
//	wh_created   N  when it was queued (the end), Unix nanoseconds
//	wh_attempts  N  attempts so far
//	wh_status    N  HTTP status of the last attempt, 0 for none or no answer
//	wh_error     S  why the last attempt failed
//	wh_next      N  when the next attempt is due, Unix nanoseconds
//	wh_due       S  webhookDue while the delivery is not done; removed when it is
//
// The sparse index webhooks (IndexWebhooks) holds only the items with
// wh_due, sorted by wh_next: DueWebhooks reads it oldest first.

// webhookDue is the one partition of the index webhooks. One partition
// takes about 1,000 writes a second: far more webhook deliveries than
// this service ends predictions.
const webhookDue = "due"

var _ mlsvc.WebhookQueue = (*Store)(nil)

// queueWebhook returns the clause of an update expression (to follow a
// SET) that queues the delivery of a prediction's end with status at at,
// and its values.
func queueWebhook(status mlsvc.Status, at time.Time) (string, item) {
	return ", wh_event = :wh_event, wh_created = :wh_at, wh_attempts = :wh_zero, wh_status = :wh_zero," +
			" wh_error = :wh_empty, wh_next = :wh_at, wh_due = :wh_due",
		item{
			":wh_event": str(mlsvc.WebhookEvent(status)), ":wh_at": nanos(at), ":wh_zero": num(0),
			":wh_empty": str(""), ":wh_due": str(webhookDue),
		}
}

// completeHooked completes a pending prediction that has a webhook URL and
// queues its delivery, in one update (CompletePrediction).
func (s *Store) completeHooked(ctx context.Context, id string, at time.Time) error {
	set := "SET #status = :completed, updated_at = :at"
	hook, values := queueWebhook(mlsvc.StatusCompleted, at)
	maps.Copy(values, item{":completed": str(string(mlsvc.StatusCompleted)), ":pending": str(string(mlsvc.StatusPending)), ":at": nanos(at)})
	return retryConflicts(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.tables.Predictions),
			Key:                                 item{"id": str(id)},
			UpdateExpression:                    aws.String(set + hook + " REMOVE pending"),
			ConditionExpression:                 aws.String("#status = :pending AND attribute_exists(webhook_url)"),
			ExpressionAttributeNames:            map[string]string{"#status": "status"},
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		return err
	})
}

// pendingWithWebhook reports whether an item (as a failed condition
// returns it) is a pending prediction with a webhook URL.
func pendingWithWebhook(it item) bool {
	status, ok := it["status"].(*types.AttributeValueMemberS)
	_, hooked := it["webhook_url"]
	return ok && status.Value == string(mlsvc.StatusPending) && hooked
}

// DueWebhooks implements mlsvc.WebhookQueue with a Query of the index
// webhooks. The index is eventually consistent, so each delivery it lists
// is read again, strongly consistent, and left out unless still due: an
// attempt just recorded is not made again.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]*mlsvc.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Predictions),
		IndexName:                 aws.String(IndexWebhooks),
		KeyConditionExpression:    aws.String("wh_due = :due AND wh_next <= :now"),
		ExpressionAttributeValues: item{":due": str(webhookDue), ":now": nanos(now)},
		ScanIndexForward:          aws.Bool(true),
		Limit:                     aws.Int32(int32(min(limit, 1000))),
	})
	if err != nil {
		return nil, wrap(err, "query due webhooks")
	}
	var due []*mlsvc.WebhookDelivery
	for _, key := range out.Items {
		var d decoder
		id := d.str(key, "id")
		if err := d.err("webhook index entry"); err != nil {
			return nil, err
		}
		w, err := s.WebhookDelivery(ctx, id)
		if mlsvc.ErrorCode(err) == mlsvc.ENotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !w.Done && !w.NextAt.After(now) {
			due = append(due, w)
		}
	}
	return due, nil
}

// RecordWebhookAttempt implements mlsvc.WebhookQueue. A done delivery
// loses wh_due, which takes it out of the index.
func (s *Store) RecordWebhookAttempt(ctx context.Context, predictionID string, status int, errText string, next time.Time, done bool) error {
	if predictionID == "" || len(predictionID) > maxKeyBytes {
		return mlsvc.Errorf(mlsvc.ENotFound, "no webhook delivery of prediction %s", predictionID)
	}
	update := "SET wh_attempts = wh_attempts + :one, wh_status = :status, wh_error = :error, wh_next = :next"
	if done {
		update += " REMOVE wh_due"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.tables.Predictions),
		Key:                 item{"id": str(predictionID)},
		UpdateExpression:    aws.String(update),
		ConditionExpression: aws.String("attribute_exists(wh_event)"),
		ExpressionAttributeValues: item{
			":one": num(1), ":status": num(int64(status)), ":error": str(errText), ":next": nanos(next),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return mlsvc.Errorf(mlsvc.ENotFound, "no webhook delivery of prediction %s", predictionID)
	}
	return wrap(err, "record webhook attempt")
}

// WebhookDelivery implements mlsvc.WebhookQueue.
func (s *Store) WebhookDelivery(ctx context.Context, predictionID string) (*mlsvc.WebhookDelivery, error) {
	it, err := s.get(ctx, s.tables.Predictions, "id", predictionID)
	if err != nil {
		return nil, wrap(err, "get webhook delivery")
	}
	if _, ok := it["wh_event"]; !ok { // no such prediction, or no delivery queued
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "no webhook delivery of prediction %s", predictionID)
	}
	return it.webhookDelivery()
}

// webhookDelivery decodes a prediction item's delivery attributes, in the
// shape of every record's decoder (item.go's prediction).
func (it item) webhookDelivery() (*mlsvc.WebhookDelivery, error) {
	var d decoder
	w := &mlsvc.WebhookDelivery{
		PredictionID: d.str(it, "id"),
		UserID:       d.str(it, "user_id"),
		URL:          d.str(it, "webhook_url"),
		Event:        d.str(it, "wh_event"),
		Attempts:     int(d.int(it, "wh_attempts")),
		LastStatus:   int(d.int(it, "wh_status")),
		LastError:    d.str(it, "wh_error"),
		NextAt:       d.time(it, "wh_next"),
		CreatedAt:    d.time(it, "wh_created"),
	}
	_, due := it["wh_due"]
	w.Done = !due
	return w, d.err("webhook delivery")
}
