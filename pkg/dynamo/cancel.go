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
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:                 aws.String(s.tables.Predictions),
			Key:                       item{"id": str(id)},
			UpdateExpression:          aws.String("SET #status = :canceled, updated_at = :at REMOVE pending"),
			ConditionExpression:       aws.String("#status = :pending"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: item{":canceled": str(string(mlsvc.StatusCanceled)), ":pending": str(string(mlsvc.StatusPending)), ":at": nanos(at)},
		}},
		{Update: &types.Update{
			TableName:                 aws.String(s.tables.Users),
			Key:                       item{"id": str(p.UserID)},
			UpdateExpression:          aws.String("SET balance = balance + :cost"),
			ConditionExpression:       aws.String("attribute_exists(id)"),
			ExpressionAttributeValues: item{":cost": num(int64(p.Cost))},
		}},
	})
	switch {
	case conditionFailed(err, 0):
		return mlsvc.Errorf(mlsvc.EConflict, "prediction %s is no longer pending", id)
	case conditionFailed(err, 1):
		return fmt.Errorf("dynamo: cancel prediction %s: its user %s does not exist", id, p.UserID)
	}
	return wrap(err, "cancel prediction")
}
