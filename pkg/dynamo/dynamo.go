// Package dynamo is the DynamoDB implementation of mlsvc.Store, used when the
// service runs on AWS Lambda.
//
// It keeps four tables (their keys and indexes are in tables.go and
// template.yaml):
//   - users: one item per user; balance is a Number of integer cents.
//   - usernames: one item per lower-cased username, holding the user id. It is
//     written in the same transaction as the user, which makes usernames
//     unique without a Scan.
//   - models: the small catalog.
//   - predictions: one item per prediction, with the index by_user for "my
//     predictions, newest first", the sparse index pending, which holds
//     only the predictions that are not final yet, and the sparse index
//     webhooks, the queue of webhook deliveries (webhooks_queue.go).
//
// A charge and the prediction it pays for are one TransactWriteItems whose
// conditions keep the balance from going below zero; a refund and the status
// change to failed are another, conditioned on the prediction being pending,
// so a prediction is refunded at most once. Times are Numbers of Unix
// nanoseconds. No request path scans a table.
package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"mlsvc/pkg/mlsvc"
)

// Store is an mlsvc.Store on DynamoDB. It is safe for concurrent use.
type Store struct {
	db     *dynamodb.Client
	tables Tables
}

// A compile-time check that Store is an mlsvc.Store; every adapter starts
// with this struct, check and constructor (stepfn.Workflow too).
var _ mlsvc.Store = (*Store)(nil)

// NewStore returns a Store that keeps its records in tables through client.
func NewStore(client *dynamodb.Client, tables Tables) *Store {
	return &Store{db: client, tables: tables}
}

// CreateUser implements mlsvc.Store.
func (s *Store) CreateUser(ctx context.Context, u *mlsvc.User) error {
	items := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:           aws.String(s.tables.Users),
			Item:                userItem(u),
			ConditionExpression: aws.String("attribute_not_exists(id)"),
		}},
		{Put: &types.Put{
			TableName:           aws.String(s.tables.Usernames),
			Item:                item{"username": str(mlsvc.UsernameKey(u.Username)), "user_id": str(u.ID)},
			ConditionExpression: aws.String("attribute_not_exists(username)"),
		}},
	}
	if u.Balance > 0 {
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.tables.Ledger),
			Item: entryItem(&mlsvc.LedgerEntry{
				ID: mlsvc.NewID(), UserID: u.ID, Type: mlsvc.EntryCredit,
				Amount: u.Balance, BalanceAfter: u.Balance, CreatedAt: u.CreatedAt,
			}),
		}})
	}
	err := s.transact(ctx, items)
	switch {
	case conditionFailed(err, 1):
		return mlsvc.Errorf(mlsvc.EConflict, "username %q is already taken", u.Username)
	case conditionFailed(err, 0):
		return mlsvc.Errorf(mlsvc.EConflict, "user %s already exists", u.ID)
	}
	return wrap(err, "create user")
}

// UserByID implements mlsvc.Store.
func (s *Store) UserByID(ctx context.Context, id string) (*mlsvc.User, error) {
	return getByID(ctx, s, s.tables.Users, id, "user", item.user)
}

// UserByUsername implements mlsvc.Store.
func (s *Store) UserByUsername(ctx context.Context, username string) (*mlsvc.User, error) {
	it, err := s.get(ctx, s.tables.Usernames, "username", mlsvc.UsernameKey(username))
	if err != nil {
		return nil, wrap(err, "get username")
	}
	if it == nil {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "user %q not found", username)
	}
	var d decoder
	id := d.str(it, "user_id")
	if err := d.err("username"); err != nil {
		return nil, err
	}
	return s.UserByID(ctx, id)
}

// AddBalance implements mlsvc.Store: a Credit of type topup.
func (s *Store) AddBalance(ctx context.Context, userID string, amount mlsvc.Cents) (mlsvc.Cents, error) {
	return s.Credit(ctx, &mlsvc.LedgerEntry{
		ID: mlsvc.NewID(), UserID: userID, Type: mlsvc.EntryTopUp, Amount: amount, CreatedAt: time.Now().UTC(),
	})
}

// PutModel implements mlsvc.Store.
func (s *Store) PutModel(ctx context.Context, m *mlsvc.CatalogEntry) error {
	it, err := modelItem(m)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Models), Item: it})
	return wrap(err, "put model")
}

// CreateModel implements mlsvc.Store with a conditional PutItem, so a
// function allowed to publish the catalog can never replace a model.
func (s *Store) CreateModel(ctx context.Context, m *mlsvc.CatalogEntry) error {
	it, err := modelItem(m)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.tables.Models), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return mlsvc.Errorf(mlsvc.EConflict, "model %s already exists", m.ID)
	}
	return wrap(err, "create model")
}

// Model implements mlsvc.Store.
func (s *Store) Model(ctx context.Context, id string) (*mlsvc.CatalogEntry, error) {
	return getByID(ctx, s, s.tables.Models, id, "model", item.model)
}

// Models implements mlsvc.Store. The catalog is a handful of items, so it
// is read whole and sorted here.
func (s *Store) Models(ctx context.Context) ([]*mlsvc.CatalogEntry, error) {
	return scanAll(ctx, s, &dynamodb.ScanInput{
		TableName:      aws.String(s.tables.Models),
		ConsistentRead: aws.Bool(true),
	}, "scan models", item.model, func(a, b *mlsvc.CatalogEntry) int {
		return cmp.Or(cmp.Compare(a.Cost, b.Cost), strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
}

// CreatePrediction implements mlsvc.Store: one transaction charges the user
// (only if the balance is still the one read, which covers the cost), puts
// the prediction (only if its id is new) and its charge entry. DynamoDB
// applies all or none; a balance changed meanwhile is read again.
func (s *Store) CreatePrediction(ctx context.Context, p *mlsvc.Prediction) error {
	if p.Cost < 0 {
		return mlsvc.Errorf(mlsvc.EInvalid, "cost must not be negative")
	}
	if p.UserID == "" {
		return mlsvc.Errorf(mlsvc.ENotFound, "user not found")
	}
	pending := *p
	pending.Status = mlsvc.StatusPending
	e := &mlsvc.LedgerEntry{
		ID: mlsvc.NewID(), UserID: p.UserID, Type: mlsvc.EntryCharge, Amount: -p.Cost,
		PredictionID: p.ID, CreatedAt: p.CreatedAt,
	}
	_, err := s.changeBalance(ctx, e, func(old mlsvc.Cents) ([]types.TransactWriteItem, error) {
		if old < p.Cost {
			return nil, mlsvc.Errorf(mlsvc.EInsufficient, "insufficient balance: the prediction costs %s", p.Cost)
		}
		return []types.TransactWriteItem{{Put: &types.Put{
			TableName:           aws.String(s.tables.Predictions),
			Item:                predictionItem(&pending),
			ConditionExpression: aws.String("attribute_not_exists(id)"),
		}}}, nil
	}, func(err error) error {
		if conditionFailed(err, 2) {
			return mlsvc.Errorf(mlsvc.EConflict, "prediction %s already exists", p.ID)
		}
		return nil
	})
	return err
}

// Prediction implements mlsvc.Store.
func (s *Store) Prediction(ctx context.Context, id string) (*mlsvc.Prediction, error) {
	return getByID(ctx, s, s.tables.Predictions, id, "prediction", item.prediction)
}

// Predictions implements mlsvc.Store with a Query on the by_user index,
// newest first. It reads one item past the page so that the last page has
// no cursor. Like every GSI read, it is eventually consistent.
// Transactions (ledger.go) has the same steps on another table, key and
// cursor; queryPage holds what they share.
func (s *Store) Predictions(ctx context.Context, userID string, page mlsvc.Page) ([]*mlsvc.Prediction, string, error) {
	limit := page.Size()
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Predictions),
		IndexName:                 aws.String(IndexByUser),
		KeyConditionExpression:    aws.String("user_id = :user"),
		ExpressionAttributeValues: item{":user": str(userID)},
		ScanIndexForward:          aws.Bool(false),
	}
	if page.Cursor != "" {
		start, err := decodeCursor(page.Cursor, userID)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	if userID == "" {
		return []*mlsvc.Prediction{}, "", nil
	}
	return queryPage(ctx, s, in, limit, "query predictions", item.prediction, encodeCursor)
}

// queryPage runs a Query for limit items and one more, which tells
// whether another page follows: DynamoDB may return fewer per call (1 MB),
// so it goes on from LastEvaluatedKey until it has them or the end. It
// returns the page's items decoded with decode and, if another page
// follows, the cursor made by cursor from the page's last item.
func queryPage[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, limit int, op string,
	decode func(item) (T, error), cursor func(item) (string, error)) ([]T, string, error) {
	var items []map[string]types.AttributeValue
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(items)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", wrap(err, op)
		}
		items = append(items, out.Items...)
		if len(items) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		var err error
		if next, err = cursor(items[limit-1]); err != nil {
			return nil, "", err
		}
	}
	page, err := decodeItems(items, decode)
	if err != nil {
		return nil, "", err
	}
	return page, next, nil
}

// CompletePrediction implements mlsvc.Store. Most predictions have no
// webhook URL, so the update is first conditioned on that; a prediction
// with one fails that condition and is completed by an update that also
// queues its delivery (webhooks_queue.go).
func (s *Store) CompletePrediction(ctx context.Context, id string, at time.Time) error {
	if id == "" {
		return mlsvc.Errorf(mlsvc.ENotFound, "prediction not found")
	}
	err := retryConflicts(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                           aws.String(s.tables.Predictions),
			Key:                                 item{"id": str(id)},
			UpdateExpression:                    aws.String("SET #status = :completed, updated_at = :at REMOVE pending"),
			ConditionExpression:                 aws.String("#status = :pending AND attribute_not_exists(webhook_url)"),
			ExpressionAttributeNames:            map[string]string{"#status": "status"},
			ExpressionAttributeValues:           item{":completed": str(string(mlsvc.StatusCompleted)), ":pending": str(string(mlsvc.StatusPending)), ":at": nanos(at)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		return err
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && pendingWithWebhook(ccf.Item) {
		err = s.completeHooked(ctx, id, at)
	}
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return mlsvc.Errorf(mlsvc.ENotFound, "prediction %s not found", id)
		}
		return mlsvc.Errorf(mlsvc.EConflict, "prediction %s is no longer pending", id)
	}
	return wrap(err, "complete prediction")
}

// FailPrediction implements mlsvc.Store: one transaction marks the
// prediction failed, only while it is pending, refunds its cost and
// appends the refund entry.
func (s *Store) FailPrediction(ctx context.Context, id, reason string, at time.Time) error {
	return s.endWithRefund(ctx, id, at, mlsvc.StatusFailed, reason)
}

// PendingPredictions implements mlsvc.PendingLister, oldest first. It scans
// the sparse index pending, which holds only unfinished predictions; it is
// meant for start-up, not for request paths.
func (s *Store) PendingPredictions(ctx context.Context) ([]*mlsvc.Prediction, error) {
	return scanAll(ctx, s, &dynamodb.ScanInput{
		TableName: aws.String(s.tables.Predictions),
		IndexName: aws.String(IndexPending),
	}, "scan pending predictions", item.prediction, func(a, b *mlsvc.Prediction) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

// decodeItems decodes each item with decode: empty, not nil, for none.
func decodeItems[T any](items []map[string]types.AttributeValue, decode func(item) (T, error)) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, it := range items {
		v, err := decode(it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// maxKeyBytes is DynamoDB's limit on a partition key: no item has a longer one.
const maxKeyBytes = 2048

// getByID reads the item of table whose key "id" is id and decodes it;
// ENotFound (naming it what) if there is none.
func getByID[T any](ctx context.Context, s *Store, table, id, what string, decode func(item) (T, error)) (T, error) {
	var zero T
	it, err := s.get(ctx, table, "id", id)
	if err != nil {
		return zero, wrap(err, "get "+what)
	}
	if it == nil {
		return zero, mlsvc.Errorf(mlsvc.ENotFound, "%s %s not found", what, id)
	}
	return decode(it)
}

// scanAll reads every page of a Scan, decodes each item with decode and
// sorts them by order (if not nil: a Scan's order is arbitrary); op names
// the Scan in an error.
func scanAll[T any](ctx context.Context, s *Store, in *dynamodb.ScanInput, op string, decode func(item) (T, error), order func(a, b T) int) ([]T, error) {
	var items []map[string]types.AttributeValue
	pages := dynamodb.NewScanPaginator(s.db, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, op)
		}
		items = append(items, out.Items...)
	}
	vs, err := decodeItems(items, decode)
	if err == nil && order != nil {
		slices.SortFunc(vs, order)
	}
	return vs, err
}

// updateUser runs the update expression set on the item of user userID,
// conditioned on the item existing and on cond (if not empty), and returns
// the attributes it set. ok is false, with no error, if there is no such
// user or cond does not hold.
func (s *Store) updateUser(ctx context.Context, userID, set, cond string, values item) (attrs item, ok bool, err error) {
	if userID == "" || len(userID) > maxKeyBytes { // no such key, and DynamoDB would reject it
		return nil, false, nil
	}
	condition := "attribute_exists(id)"
	if cond != "" {
		condition += " AND " + cond
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.tables.Users),
		Key:                       item{"id": str(userID)},
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String(condition),
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return out.Attributes, true, nil
}

// get reads one item by its key, strongly consistent; nil if there is none.
func (s *Store) get(ctx context.Context, table, keyName, key string) (item, error) {
	if key == "" || len(key) > maxKeyBytes { // DynamoDB rejects such keys rather than finding nothing
		return nil, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            item{keyName: str(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || len(out.Item) == 0 {
		return nil, err
	}
	return out.Item, nil
}

// transact runs a transaction. DynamoDB cancels a transaction that runs into
// another one on the same item (and applies none of it), which many charges
// to one user at once do; retryConflicts runs it again.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	return retryConflicts(ctx, func() error {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	})
}

// Retries of a write cancelled by a conflicting transaction or throttling,
// beyond the SDK's own retries (which do not cover transaction conflicts).
const (
	conflictAttempts   = 10
	conflictBackoff    = 5 * time.Millisecond
	conflictMaxBackoff = 500 * time.Millisecond
)

// retryConflicts calls f until it succeeds, fails for another reason than
// a transient conflict, or has been tried conflictAttempts times, waiting a
// growing, jittered time between attempts.
func retryConflicts(ctx context.Context, f func() error) error {
	backoff := conflictBackoff
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !transient(err) || attempt == conflictAttempts {
			return err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, conflictMaxBackoff)
	}
}

// transient reports whether err is a write cancelled for a reason that may
// go away by itself: a conflicting transaction or throttling. A transaction
// with a failed condition is a definite answer, not transient.
func transient(err error) bool {
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return true
	}
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return false
	}
	retry := false
	for _, r := range cancelled.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed", "ValidationError", "ItemCollectionSizeLimitExceeded":
			return false
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			retry = true
		}
	}
	return retry
}

// cancellationReason returns the reason item i of a cancelled transaction
// gives, or the zero reason.
func cancellationReason(err error, i int) types.CancellationReason {
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && i < len(cancelled.CancellationReasons) {
		return cancelled.CancellationReasons[i]
	}
	return types.CancellationReason{}
}

// conditionFailed reports whether err is a transaction cancelled because
// the condition of its item i failed.
func conditionFailed(err error, i int) bool {
	return aws.ToString(cancellationReason(err, i).Code) == "ConditionalCheckFailed"
}

// Error codes that mean DynamoDB is overloaded, throttling this account or
// failing for a while.
var unavailableCodes = map[string]bool{
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"LimitExceededException":                 true,
	"TransactionInProgressException":         true,
}

// wrap adds context to an SDK error. Throttling, transaction conflicts that
// outlasted the retries and server errors become EUnavailable, which tells
// the caller that trying again later may work.
func wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("dynamo: %s: %w", op, err)
	var api smithy.APIError
	var resp *awshttp.ResponseError
	if transient(err) ||
		errors.As(err, &api) && unavailableCodes[api.ErrorCode()] ||
		errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 {
		return &mlsvc.Error{Code: mlsvc.EUnavailable, Message: "the database is busy; try again later", Err: err}
	}
	return err
}
