package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// The ledger table holds one item per balance change: partition key
// user_id, sort key entry_key (createdKey: zero-padded creation time, then
// the entry id), so a Query in reverse is a user's ledger newest first.
//
// Every change of a balance is one TransactWriteItems that sets the balance
// to the value computed from the one read in the same attempt, conditioned
// on the balance still being that value, and puts the entry with that value
// as balance_after. So balance_after is exact and the balance always equals
// the sum of the entries; a balance changed meanwhile (a concurrent charge)
// fails the condition and the attempt is read and tried again.
//
// A paid top-up's payment id is made unique by a guard item in the same
// table and transaction: user_id "payment#<id>", entry_key "payment".

// Retries of a balance change whose balance moved between the read and the
// write; each round of concurrent changes lets at least one through.
const (
	balanceAttempts   = 80
	balanceBackoff    = 2 * time.Millisecond
	balanceMaxBackoff = 100 * time.Millisecond
)

// paymentKey is the partition key of the guard item of a payment id.
func paymentKey(id string) string { return "payment#" + id }

// entryItem and entry are a ledger entry's layout, written out attribute by
// attribute like the other records' in item.go (prediction's has the same
// shape).
func entryItem(e *mlsvc.LedgerEntry) item {
	it := item{
		"user_id":       str(e.UserID),
		"entry_key":     str(createdKey(e.CreatedAt, e.ID)),
		"id":            str(e.ID),
		"type":          str(string(e.Type)),
		"amount":        num(int64(e.Amount)),
		"balance_after": num(int64(e.BalanceAfter)),
		"created_at":    nanos(e.CreatedAt),
	}
	if e.PredictionID != "" {
		it["prediction_id"] = str(e.PredictionID)
	}
	if e.PaymentID != "" {
		it["payment_id"] = str(e.PaymentID)
	}
	return it
}

func (it item) entry() (*mlsvc.LedgerEntry, error) {
	var d decoder
	e := &mlsvc.LedgerEntry{
		ID:           d.str(it, "id"),
		UserID:       d.str(it, "user_id"),
		Type:         mlsvc.EntryType(d.str(it, "type")),
		Amount:       mlsvc.Cents(d.int(it, "amount")),
		BalanceAfter: mlsvc.Cents(d.int(it, "balance_after")),
		CreatedAt:    d.time(it, "created_at"),
	}
	if _, ok := it["prediction_id"]; ok {
		e.PredictionID = d.str(it, "prediction_id")
	}
	if _, ok := it["payment_id"]; ok {
		e.PaymentID = d.str(it, "payment_id")
	}
	return e, d.err("ledger entry")
}

// changeBalance applies e (its Amount to its user's balance) with the
// entry, plus the items more returns for the balance read, in one
// transaction: items 0 (the user) and 1 (the entry), then more's from
// index 2. more may refuse the change with an error. cancelled maps a
// cancelled transaction to the caller's error (nil: not its concern); a
// balance that moved is read again and the change retried. It returns the
// balance after e.
func (s *Store) changeBalance(ctx context.Context, e *mlsvc.LedgerEntry,
	more func(old mlsvc.Cents) ([]types.TransactWriteItem, error),
	cancelled func(err error) error,
) (mlsvc.Cents, error) {
	if e.UserID == "" || len(e.UserID) > maxKeyBytes {
		return 0, mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", e.UserID)
	}
	backoff := balanceBackoff
	for attempt := 1; ; attempt++ {
		u, err := s.get(ctx, s.tables.Users, "id", e.UserID)
		if err != nil {
			return 0, wrap(err, "get user")
		}
		if u == nil {
			return 0, mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", e.UserID)
		}
		var d decoder
		old := mlsvc.Cents(d.int(u, "balance"))
		if err := d.err("user"); err != nil {
			return 0, err
		}
		extra, err := more(old)
		if err != nil {
			return 0, err
		}
		entry := *e
		entry.BalanceAfter = old + e.Amount
		if entry.BalanceAfter < 0 {
			return 0, mlsvc.Errorf(mlsvc.EInsufficient, "balance %s does not cover %s", old, -e.Amount)
		}
		items := append([]types.TransactWriteItem{
			{Update: &types.Update{
				TableName:                 aws.String(s.tables.Users),
				Key:                       item{"id": str(e.UserID)},
				UpdateExpression:          aws.String("SET balance = :new"),
				ConditionExpression:       aws.String("balance = :old"),
				ExpressionAttributeValues: item{":new": num(int64(entry.BalanceAfter)), ":old": num(int64(old))},
			}},
			{Put: &types.Put{
				TableName:           aws.String(s.tables.Ledger),
				Item:                entryItem(&entry),
				ConditionExpression: aws.String("attribute_not_exists(entry_key)"),
			}},
		}, extra...)
		err = s.transact(ctx, items)
		if err == nil {
			return entry.BalanceAfter, nil
		}
		if mapped := cancelled(err); mapped != nil {
			return 0, mapped
		}
		if !conditionFailed(err, 0) {
			return 0, wrap(err, fmt.Sprintf("apply %s entry", e.Type))
		}
		if attempt == balanceAttempts {
			return 0, mlsvc.Errorf(mlsvc.EUnavailable, "the balance is changing too often; try again later")
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, wrap(ctx.Err(), "change balance")
		case <-t.C:
		}
		backoff = min(2*backoff, balanceMaxBackoff)
	}
}

// Credit implements mlsvc.Store.
func (s *Store) Credit(ctx context.Context, e *mlsvc.LedgerEntry) (mlsvc.Cents, error) {
	if e.Amount <= 0 {
		return 0, mlsvc.Errorf(mlsvc.EInvalid, "amount must be positive")
	}
	if e.Type != mlsvc.EntryTopUp && e.Type != mlsvc.EntryCredit {
		return 0, mlsvc.Errorf(mlsvc.EInvalid, "a credit is a topup or credit entry, not %q", e.Type)
	}
	if len(e.PaymentID) > maxKeyBytes-len(paymentKey("")) {
		return 0, mlsvc.Errorf(mlsvc.EInvalid, "payment id is too long")
	}
	return s.changeBalance(ctx, e, func(mlsvc.Cents) ([]types.TransactWriteItem, error) {
		if e.PaymentID == "" {
			return nil, nil
		}
		return []types.TransactWriteItem{{Put: &types.Put{
			TableName: aws.String(s.tables.Ledger),
			Item: item{
				"user_id": str(paymentKey(e.PaymentID)), "entry_key": str("payment"),
				"owner": str(e.UserID), "entry_id": str(e.ID),
			},
			ConditionExpression: aws.String("attribute_not_exists(user_id)"),
		}}}, nil
	}, func(err error) error {
		if conditionFailed(err, 2) {
			return mlsvc.Errorf(mlsvc.EConflict, "payment %s is already credited", e.PaymentID)
		}
		return nil
	})
}

// Transactions implements mlsvc.Store with a strongly consistent Query of
// the ledger, newest first, reading one item past the page. Predictions
// (dynamo.go) has the same steps on another table, key and cursor;
// queryPage holds what they share.
func (s *Store) Transactions(ctx context.Context, userID string, page mlsvc.Page) ([]*mlsvc.LedgerEntry, string, error) {
	limit := page.Size()
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Ledger),
		KeyConditionExpression:    aws.String("user_id = :user"),
		ExpressionAttributeValues: item{":user": str(userID)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	if page.Cursor != "" {
		start, err := decodeLedgerCursor(page.Cursor, userID)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	if userID == "" || len(userID) > maxKeyBytes || strings.HasPrefix(userID, paymentKey("")) {
		return []*mlsvc.LedgerEntry{}, "", nil
	}
	return queryPage(ctx, s, in, limit, "query ledger", item.entry, encodeLedgerCursor)
}

// ledgerCursor is the key of the last entry of a page.
type ledgerCursor struct {
	UserID   string `json:"user_id"`
	EntryKey string `json:"entry_key"`
}

func encodeLedgerCursor(it item) (string, error) {
	var d decoder
	c := ledgerCursor{UserID: d.str(it, "user_id"), EntryKey: d.str(it, "entry_key")}
	if err := d.err("ledger cursor"); err != nil {
		return "", err
	}
	return sealCursor(c)
}

func decodeLedgerCursor(s, userID string) (item, error) {
	bad := mlsvc.Errorf(mlsvc.EInvalid, "invalid cursor")
	var c ledgerCursor
	if !openCursor(s, &c) {
		return nil, bad
	}
	if c.UserID != userID || len(c.EntryKey) < 21 || len(c.EntryKey) > 1024 || c.EntryKey[19] != '#' {
		return nil, bad
	}
	for _, r := range c.EntryKey[:19] {
		if r < '0' || r > '9' {
			return nil, bad
		}
	}
	return item{"user_id": str(c.UserID), "entry_key": str(c.EntryKey)}, nil
}

// Users implements mlsvc.Store with a Scan of the users table: for the
// audit, never a request path.
func (s *Store) Users(ctx context.Context) ([]*mlsvc.User, error) {
	return scanAll(ctx, s, &dynamodb.ScanInput{
		TableName:      aws.String(s.tables.Users),
		ConsistentRead: aws.Bool(true),
	}, "scan users", item.user, nil)
}
