package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// A user's webhook signing secret is the attribute webhook_secret of its
// item in the users table.

// WebhookSecret implements mlsvc.Store: one conditional update keeps the
// first secret stored, so two first calls at once agree.
func (s *Store) WebhookSecret(ctx context.Context, userID, candidate string) (string, error) {
	if userID == "" || len(userID) > maxKeyBytes {
		return "", mlsvc.Errorf(mlsvc.ENotFound, "user not found")
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.tables.Users),
		Key:                       item{"id": str(userID)},
		UpdateExpression:          aws.String("SET webhook_secret = if_not_exists(webhook_secret, :candidate)"),
		ConditionExpression:       aws.String("attribute_exists(id)"),
		ExpressionAttributeValues: item{":candidate": str(candidate)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return "", mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", userID)
	}
	if err != nil {
		return "", wrap(err, "webhook secret")
	}
	var d decoder
	secret := d.str(out.Attributes, "webhook_secret")
	return secret, d.err("webhook secret")
}

// SetWebhookSecret implements mlsvc.Store.
func (s *Store) SetWebhookSecret(ctx context.Context, userID, secret string) error {
	if userID == "" || len(userID) > maxKeyBytes {
		return mlsvc.Errorf(mlsvc.ENotFound, "user not found")
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.tables.Users),
		Key:                       item{"id": str(userID)},
		UpdateExpression:          aws.String("SET webhook_secret = :secret"),
		ConditionExpression:       aws.String("attribute_exists(id)"),
		ExpressionAttributeValues: item{":secret": str(secret)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", userID)
	}
	return wrap(err, "set webhook secret")
}
