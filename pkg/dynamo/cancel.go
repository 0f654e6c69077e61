package dynamo

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// CancelPrediction implements mlsvc.Store: one transaction marks the
// prediction canceled, only while it is pending, and refunds its cost, so
// it cannot also complete or fail, and is refunded once. pkg/sqlite/cancel.go
// has the same two functions for SQLite: each adapter writes the rule in
// its own database's transaction, and storetest holds both to it.
func (s *Store) CancelPrediction(ctx context.Context, id string, at time.Time) error {
	return s.endWithRefund(ctx, id, at, mlsvc.StatusCanceled, "")
}

// endWithRefund ends a pending prediction with status (and reason, for a
// failure) and refunds its cost with the refund's ledger entry, in one
// transaction conditioned on the prediction still being pending:
// EConflict otherwise, so a prediction ends once and is refunded once.
func (s *Store) endWithRefund(ctx context.Context, id string, at time.Time, status mlsvc.Status, reason string) error {
	p, err := s.Prediction(ctx, id)
	if err != nil {
		return err
	}
	if p.Status != mlsvc.StatusPending {
		return mlsvc.Errorf(mlsvc.EConflict, "prediction %s is no longer pending", id)
	}
	e := &mlsvc.LedgerEntry{
		ID: mlsvc.NewID(), UserID: p.UserID, Type: mlsvc.EntryRefund, Amount: p.Cost,
		PredictionID: id, CreatedAt: at,
	}
	set, names := "SET #status = :status, updated_at = :at REMOVE pending", map[string]string{"#status": "status"}
	values := item{":status": str(string(status)), ":pending": str(string(mlsvc.StatusPending)), ":at": nanos(at)}
	if reason != "" {
		set = "SET #status = :status, #error = :reason, updated_at = :at REMOVE pending"
		names["#error"], values[":reason"] = "error", str(reason)
	}
	if p.WebhookURL != "" { // the same update queues its delivery (webhooks_queue.go)
		hook, hv := queueWebhook(status, at)
		set = strings.Replace(set, " REMOVE ", hook+" REMOVE ", 1)
		maps.Copy(values, hv)
	}
	_, err = s.changeBalance(ctx, e, func(mlsvc.Cents) ([]types.TransactWriteItem, error) {
		return []types.TransactWriteItem{{Update: &types.Update{
			TableName:                 aws.String(s.tables.Predictions),
			Key:                       item{"id": str(id)},
			UpdateExpression:          aws.String(set),
			ConditionExpression:       aws.String("#status = :pending"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}}}, nil
	}, func(err error) error {
		if conditionFailed(err, 2) {
			return mlsvc.Errorf(mlsvc.EConflict, "prediction %s is no longer pending", id)
		}
		return nil
	})
	if mlsvc.ErrorCode(err) == mlsvc.ENotFound {
		return fmt.Errorf("dynamo: end prediction %s: its user %s does not exist", id, p.UserID)
	}
	return err
}
