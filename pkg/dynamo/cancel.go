package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// CancelPrediction implements mlsvc.Store: one transaction marks the
// prediction canceled, only while it is pending, and refunds its cost, so
// it cannot also complete or fail, and is refunded once.
func (s *Store) CancelPrediction(ctx context.Context, id string, at time.Time) error {
	p, err := s.Prediction(ctx, id)
	if err != nil {
		return err
	}
	if p.Status != mlsvc.StatusPending {
		return mlsvc.Errorf(mlsvc.EConflict, "prediction %s is no longer pending", id)
	}
	// The refund and its ledger entry, as FailPrediction's.
	e := &mlsvc.LedgerEntry{
		ID: mlsvc.NewID(), UserID: p.UserID, Type: mlsvc.EntryRefund, Amount: p.Cost,
		PredictionID: id, CreatedAt: at,
	}
	_, err = s.changeBalance(ctx, e, func(mlsvc.Cents) ([]types.TransactWriteItem, error) {
		return []types.TransactWriteItem{{Update: &types.Update{
			TableName:                 aws.String(s.tables.Predictions),
			Key:                       item{"id": str(id)},
			UpdateExpression:          aws.String("SET #status = :canceled, updated_at = :at REMOVE pending"),
			ConditionExpression:       aws.String("#status = :pending"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: item{":canceled": str(string(mlsvc.StatusCanceled)), ":pending": str(string(mlsvc.StatusPending)), ":at": nanos(at)},
		}}}, nil
	}, func(err error) error {
		if conditionFailed(err, 2) {
			return mlsvc.Errorf(mlsvc.EConflict, "prediction %s is no longer pending", id)
		}
		return nil
	})
	if mlsvc.ErrorCode(err) == mlsvc.ENotFound {
		return fmt.Errorf("dynamo: cancel prediction %s: its user %s does not exist", id, p.UserID)
	}
	return err
}
