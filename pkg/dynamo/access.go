package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// The access table (mlsvc.AccessStore) holds, under a partition key pk and
// a sort key sk:
//
//	pk "key#<id>",    sk "key"       an API key, read by its id on every request with it
//	pk "user#<uid>",  sk "key#<id>"  the same key, listed by its user (Query, no index)
//	pk "user#<uid>",  sk "count"     the number of the user's keys, which bounds them
//	pk "throttle#<key>", sk "-"      a throttle; expires_at (Unix seconds) is the table's TTL
//
// A key's two items and its count change in one transaction.

// TTLAttribute is the access table's time-to-live attribute.
const TTLAttribute = "expires_at"

func accessTable(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
	}
}

func enableAccessTTL(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true),
		},
	})
	if err != nil && !strings.Contains(err.Error(), "already enabled") {
		return fmt.Errorf("dynamo: enable TTL of %s: %w", table, err)
	}
	return nil
}

func keyItemKey(id string) item { return item{"pk": str("key#" + id), "sk": str("key")} }

func apiKeyItem(k *mlsvc.APIKey) item {
	return item{
		"id": str(k.ID), "user_id": str(k.UserID), "name": str(k.Name), "prefix": str(k.Prefix),
		"hash": str(k.Hash), "created_at": nanos(k.CreatedAt), "last_used_at": nanos(k.LastUsedAt),
	}
}

func (it item) apiKey() (*mlsvc.APIKey, error) {
	var d decoder
	k := &mlsvc.APIKey{
		ID: d.str(it, "id"), UserID: d.str(it, "user_id"), Name: d.str(it, "name"), Prefix: d.str(it, "prefix"),
		Hash: d.str(it, "hash"), CreatedAt: d.time(it, "created_at"), LastUsedAt: d.time(it, "last_used_at"),
	}
	return k, d.err("api key")
}

func with(base, keys item) item {
	out := item{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range keys {
		out[k] = v
	}
	return out
}

// CreateAPIKey implements mlsvc.AccessStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *mlsvc.APIKey, max int) error {
	rec := apiKeyItem(k)
	err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:                 aws.String(s.tables.Access),
			Key:                       item{"pk": str("user#" + k.UserID), "sk": str("count")},
			UpdateExpression:          aws.String("SET n = if_not_exists(n, :zero) + :one"),
			ConditionExpression:       aws.String("attribute_not_exists(n) OR n < :max"),
			ExpressionAttributeValues: item{":zero": num(0), ":one": num(1), ":max": num(int64(max))},
		}},
		{Put: &types.Put{
			TableName:           aws.String(s.tables.Access),
			Item:                with(rec, keyItemKey(k.ID)),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Put: &types.Put{
			TableName: aws.String(s.tables.Access),
			Item:      with(rec, item{"pk": str("user#" + k.UserID), "sk": str("key#" + k.ID)}),
		}},
	})
	switch {
	case conditionFailed(err, 0):
		return mlsvc.Errorf(mlsvc.EConflict, "user %s has %d API keys already", k.UserID, max)
	case conditionFailed(err, 1):
		return mlsvc.Errorf(mlsvc.EConflict, "API key %s exists", k.ID)
	}
	return wrap(err, "create api key")
}

// APIKey implements mlsvc.AccessStore.
func (s *Store) APIKey(ctx context.Context, id string) (*mlsvc.APIKey, error) {
	if id == "" || len(id) > maxKeyBytes-8 {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "API key not found")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Access), Key: keyItemKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap(err, "get api key")
	}
	if len(out.Item) == 0 {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "API key %s not found", id)
	}
	return item(out.Item).apiKey()
}

// APIKeys implements mlsvc.AccessStore.
func (s *Store) APIKeys(ctx context.Context, userID string) ([]*mlsvc.APIKey, error) {
	keys := []*mlsvc.APIKey{}
	if userID == "" {
		return keys, nil
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Access),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :key)"),
		ExpressionAttributeValues: item{":pk": str("user#" + userID), ":key": str("key#")},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "list api keys")
		}
		page, err := decodeItems(out.Items, item.apiKey)
		if err != nil {
			return nil, err
		}
		keys = append(keys, page...)
	}
	// Stored by id; listed oldest first.
	sortKeys(keys)
	return keys, nil
}

func sortKeys(keys []*mlsvc.APIKey) {
	slices.SortFunc(keys, func(a, b *mlsvc.APIKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

// DeleteAPIKey implements mlsvc.AccessStore.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id string) error {
	if id == "" || userID == "" || len(id) > maxKeyBytes-8 {
		return mlsvc.Errorf(mlsvc.ENotFound, "API key not found")
	}
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                 aws.String(s.tables.Access),
			Key:                       keyItemKey(id),
			ConditionExpression:       aws.String("user_id = :u"),
			ExpressionAttributeValues: item{":u": str(userID)},
		}},
		{Delete: &types.Delete{
			TableName: aws.String(s.tables.Access),
			Key:       item{"pk": str("user#" + userID), "sk": str("key#" + id)},
		}},
		{Update: &types.Update{
			TableName:                 aws.String(s.tables.Access),
			Key:                       item{"pk": str("user#" + userID), "sk": str("count")},
			UpdateExpression:          aws.String("SET n = n - :one"),
			ConditionExpression:       aws.String("n > :zero"),
			ExpressionAttributeValues: item{":zero": num(0), ":one": num(1)},
		}},
	})
	if conditionFailed(err, 0) {
		return mlsvc.Errorf(mlsvc.ENotFound, "API key %s not found", id)
	}
	return wrap(err, "delete api key")
}

// TouchAPIKey implements mlsvc.AccessStore: both items of the key, when
// they still exist.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	k, err := s.APIKey(ctx, id)
	if mlsvc.ErrorCode(err) == mlsvc.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	for _, key := range []item{keyItemKey(id), {"pk": str("user#" + k.UserID), "sk": str("key#" + id)}} {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.tables.Access),
			Key:                       key,
			UpdateExpression:          aws.String("SET last_used_at = :at"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: item{":at": nanos(at)},
		})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			return wrap(err, "touch api key")
		}
	}
	return nil
}

// SetPasswordHash implements mlsvc.AccessStore.
func (s *Store) SetPasswordHash(ctx context.Context, userID, oldHash, newHash string) error {
	_, ok, err := s.updateUser(ctx, userID, "SET password_hash = :new", "password_hash = :old",
		item{":new": str(newHash), ":old": str(oldHash)})
	if err != nil {
		return wrap(err, "set password")
	}
	if !ok {
		if _, err := s.UserByID(ctx, userID); err != nil {
			return err
		}
		return mlsvc.Errorf(mlsvc.EConflict, "the password of user %s changed meanwhile", userID)
	}
	return nil
}

func throttleKey(key string) item { return item{"pk": str("throttle#" + key), "sk": str("-")} }

func ttlSeconds(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix()+1, 10)}
}

// Throttle implements mlsvc.AccessStore. An expired item that TTL has not
// removed yet counts as absent.
func (s *Store) Throttle(ctx context.Context, key string, now time.Time) (mlsvc.Throttle, error) {
	t := mlsvc.Throttle{Key: key}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Access), Key: throttleKey(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return t, wrap(err, "get throttle")
	}
	if len(out.Item) == 0 {
		return t, nil
	}
	var d decoder
	it := item(out.Item)
	count, until, expires := d.int(it, "count"), d.time(it, "until"), d.time(it, "expires")
	if err := d.err("throttle"); err != nil {
		return t, err
	}
	if !expires.After(now) {
		return t, nil
	}
	t.Count, t.Until, t.Expires = int(count), until, expires
	return t, nil
}

// ClaimThrottle implements mlsvc.AccessStore: one conditional PutItem.
func (s *Store) ClaimThrottle(ctx context.Context, t mlsvc.Throttle, prev int, now time.Time) error {
	cond := "#c = :prev AND expires > :now"
	if prev == 0 {
		cond = "attribute_not_exists(pk) OR expires <= :now"
	}
	values := item{":now": nanos(now)}
	names := map[string]string(nil)
	if prev != 0 {
		values[":prev"] = num(int64(prev))
		names = map[string]string{"#c": "count"}
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.tables.Access),
		Item: with(throttleKey(t.Key), item{
			"count": num(int64(t.Count)), "until": nanos(t.Until), "expires": nanos(t.Expires),
			TTLAttribute: ttlSeconds(t.Expires),
		}),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return mlsvc.Errorf(mlsvc.EConflict, "throttle %s changed meanwhile", t.Key)
	}
	return wrap(err, "claim throttle")
}

// AddThrottle implements mlsvc.AccessStore: one UpdateItem, or, when the
// item has expired, one conditional PutItem that starts it again.
func (s *Store) AddThrottle(ctx context.Context, key string, expires, now time.Time) (int, error) {
	for range 5 {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.tables.Access),
			Key:                       throttleKey(key),
			UpdateExpression:          aws.String("SET #c = if_not_exists(#c, :zero) + :one, expires = if_not_exists(expires, :exp), #ttl = if_not_exists(#ttl, :ttl), #u = if_not_exists(#u, :zero)"),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR expires > :now"),
			ExpressionAttributeNames:  map[string]string{"#c": "count", "#ttl": TTLAttribute, "#u": "until"},
			ExpressionAttributeValues: item{":zero": num(0), ":one": num(1), ":exp": nanos(expires), ":ttl": ttlSeconds(expires), ":now": nanos(now)},
			ReturnValues:              types.ReturnValueUpdatedNew,
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			// Expired: start it again, unless another request just did.
			err := s.ClaimThrottle(ctx, mlsvc.Throttle{Key: key, Count: 1, Expires: expires}, 0, now)
			if err == nil {
				return 1, nil
			}
			if mlsvc.ErrorCode(err) != mlsvc.EConflict {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, wrap(err, "add throttle")
		}
		var d decoder
		n := d.int(out.Attributes, "count")
		return int(n), d.err("throttle")
	}
	return 0, mlsvc.Errorf(mlsvc.EUnavailable, "the database is busy; try again later")
}

// DeleteThrottle implements mlsvc.AccessStore.
func (s *Store) DeleteThrottle(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.tables.Access), Key: throttleKey(key)})
	return wrap(err, "delete throttle")
}
