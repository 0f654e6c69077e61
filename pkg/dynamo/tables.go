package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Tables names the four tables of a Store. Their schemas are created by
// CreateTables, and template.yaml declares the same ones.
type Tables struct {
	Users       string // key id (S)
	Usernames   string // key username (S): the lower-cased name, with user_id
	Models      string // key id (S)
	Predictions string // key id (S); GSIs by_user, pending and webhooks
	Access      string // keys pk (S), sk (S): API keys and throttles (access.go); TTL expires_at
	Ledger      string // key user_id (S) + entry_key (S): balance changes (ledger.go)
}

// Index names of the predictions table.
const (
	// IndexByUser lists a user's predictions: partition key user_id (S), sort
	// key created_key (S), projection ALL.
	IndexByUser = "by_user"
	// IndexPending is sparse: partition key pending (S), set to the
	// prediction's id while it is pending and removed when it is final, so the
	// index holds only unfinished predictions. Projection ALL.
	IndexPending = "pending"
	// IndexWebhooks is sparse: partition key wh_due (S), one value, present
	// while a webhook delivery is not done; sort key wh_next (N), when it is
	// due (webhooks_queue.go). Projection KEYS_ONLY: the items are read
	// again, consistently.
	IndexWebhooks = "webhooks"
)

// CreateTables creates the tables of a Store with on-demand billing and waits
// until they are active. A table that already exists is left as it is. It is
// meant for tests and local setups; in AWS the tables come from template.yaml.
func CreateTables(ctx context.Context, client *dynamodb.Client, tables Tables) error {
	for _, in := range tableDefinitions(tables) {
		_, err := client.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("dynamo: create table %s: %w", *in.TableName, err)
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	for _, name := range []string{tables.Users, tables.Usernames, tables.Models, tables.Predictions, tables.Access, tables.Ledger} {
		in := &dynamodb.DescribeTableInput{TableName: aws.String(name)}
		if err := waiter.Wait(ctx, in, 5*time.Minute); err != nil {
			return fmt.Errorf("dynamo: wait for table %s: %w", name, err)
		}
	}
	return enableAccessTTL(ctx, client, tables.Access)
}

func tableDefinitions(t Tables) []*dynamodb.CreateTableInput {
	table := func(name, key string) *dynamodb.CreateTableInput {
		return &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			BillingMode:          types.BillingModePayPerRequest,
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		}
	}
	predictions := table(t.Predictions, "id")
	predictions.AttributeDefinitions = append(predictions.AttributeDefinitions,
		types.AttributeDefinition{AttributeName: aws.String("user_id"), AttributeType: types.ScalarAttributeTypeS},
		types.AttributeDefinition{AttributeName: aws.String("created_key"), AttributeType: types.ScalarAttributeTypeS},
		types.AttributeDefinition{AttributeName: aws.String("pending"), AttributeType: types.ScalarAttributeTypeS},
		types.AttributeDefinition{AttributeName: aws.String("wh_due"), AttributeType: types.ScalarAttributeTypeS},
		types.AttributeDefinition{AttributeName: aws.String("wh_next"), AttributeType: types.ScalarAttributeTypeN},
	)
	predictions.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{
		{
			IndexName: aws.String(IndexByUser),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("user_id"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("created_key"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		},
		{
			IndexName:  aws.String(IndexPending),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("pending"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		},
		{
			IndexName: aws.String(IndexWebhooks),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("wh_due"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("wh_next"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		},
	}
	ledger := table(t.Ledger, "user_id")
	ledger.KeySchema = append(ledger.KeySchema, types.KeySchemaElement{AttributeName: aws.String("entry_key"), KeyType: types.KeyTypeRange})
	ledger.AttributeDefinitions = append(ledger.AttributeDefinitions,
		types.AttributeDefinition{AttributeName: aws.String("entry_key"), AttributeType: types.ScalarAttributeTypeS})
	return []*dynamodb.CreateTableInput{
		table(t.Users, "id"),
		table(t.Usernames, "username"),
		table(t.Models, "id"),
		predictions,
		accessTable(t.Access),
		ledger,
	}
}
