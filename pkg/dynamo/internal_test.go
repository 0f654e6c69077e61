package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// These tests need no DynamoDB: they cover what DynamoDB Local cannot show,
// such as transaction conflicts (it runs transactions one at a time).

func TestCreatedKeyOrder(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	keys := []string{
		createdKey(time.Time{}, "z"),
		createdKey(t0, "a"),
		createdKey(t0, "b"),
		createdKey(t0.Add(time.Nanosecond), "a"),
		createdKey(t0.Add(time.Hour), "0"),
		createdKey(t0.AddDate(200, 0, 0), "0"),
	}
	if !slices.IsSorted(keys) {
		t.Errorf("created keys are not in time, then id, order: %q", keys)
	}
	if got, want := createdKey(t0, "p1"), "1741964966535000000#p1"; got != want {
		t.Errorf("createdKey = %q, want %q", got, want)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	it := predictionItem(&mlsvc.Prediction{ID: "p1", UserID: "u1", Status: mlsvc.StatusPending, CreatedAt: time.Unix(1, 5)})
	c, err := encodeCursor(it)
	if err != nil {
		t.Fatalf("encodeCursor: %v", err)
	}
	key, err := decodeCursor(c, "u1")
	if err != nil {
		t.Fatalf("decodeCursor(%q): %v", c, err)
	}
	for _, name := range []string{"id", "user_id", "created_key"} {
		if got, want := key[name].(*types.AttributeValueMemberS).Value, it[name].(*types.AttributeValueMemberS).Value; got != want {
			t.Errorf("decoded %s = %q, want %q", name, got, want)
		}
	}
	if len(key) != 3 {
		t.Errorf("decoded key has %d attributes, want 3", len(key))
	}
	if _, err := decodeCursor(c, "u2"); mlsvc.ErrorCode(err) != mlsvc.EInvalid {
		t.Errorf("another user's cursor: error %v, want %q", err, mlsvc.EInvalid)
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []string{
		"not a cursor!",
		"%%%",
		"AAAA",
		b64(`{}`),
		b64(`[]`),
		b64(`{"id":"p1","user_id":"u1"}`),
		b64(`{"id":"p1","user_id":"u1","created_key":"0000000000000000001#p2"}`),
		b64(`{"id":"p1","user_id":"u1","created_key":"000000000000000000x#p1"}`),
		b64(`{"id":"p1","user_id":"u1","created_key":"1#p1"}`),
		b64(`{"id":"p1","user_id":"u1","created_key":"0000000000000000001#p1","x":1}`),
		b64(`{"id":"p1","user_id":"u1","created_key":"0000000000000000001#p1"}{}`),
		b64(`{"id":"","user_id":"u1","created_key":"0000000000000000001#"}`),
	} {
		if _, err := decodeCursor(c, "u1"); mlsvc.ErrorCode(err) != mlsvc.EInvalid {
			t.Errorf("decodeCursor(%q): error %v, want %q", c, err, mlsvc.EInvalid)
		}
	}
	if _, err := decodeCursor(b64(`{"id":"p1","user_id":"u1","created_key":"0000000000000000001#p1"}`), "u1"); err != nil {
		t.Errorf("decodeCursor of a well-formed cursor: %v", err)
	}
}

func cancelled(codes ...string) error {
	e := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	return fmt.Errorf("operation error DynamoDB: TransactWriteItems: %w", e)
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{cancelled("None", "TransactionConflict"), true},
		{cancelled("ThrottlingError", "None"), true},
		{cancelled("ConditionalCheckFailed", "TransactionConflict"), false},
		{cancelled("ConditionalCheckFailed", "None"), false},
		{cancelled("None", "None"), false},
		{&types.TransactionConflictException{}, true},
		{&types.ConditionalCheckFailedException{}, false},
		{errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestConditionFailed(t *testing.T) {
	err := cancelled("None", "ConditionalCheckFailed")
	for i, want := range []bool{false, true, false} {
		if got := conditionFailed(err, i); got != want {
			t.Errorf("conditionFailed(item %d) = %v, want %v", i, got, want)
		}
	}
	if conditionFailed(errors.New("boom"), 0) || conditionFailed(nil, 0) {
		t.Error("conditionFailed of an error that is no cancelled transaction = true")
	}
}

func TestRetryConflicts(t *testing.T) {
	conflict := cancelled("TransactionConflict", "None")
	insufficient := cancelled("ConditionalCheckFailed", "None")
	tests := []struct {
		name      string
		errs      []error // returned by successive calls; nil after the last
		wantCalls int
		wantErr   error
	}{
		{"success", nil, 1, nil},
		{"conflicts then success", []error{conflict, conflict}, 3, nil},
		{"definite answer", []error{insufficient, nil}, 1, insufficient},
		{"always conflicting", slices.Repeat([]error{conflict}, conflictAttempts+5), conflictAttempts, conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := retryConflicts(t.Context(), func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls || err != tt.wantErr {
				t.Errorf("%d calls, err %v; want %d calls, err %v", calls, err, tt.wantCalls, tt.wantErr)
			}
		})
	}
}

func TestRetryConflictsStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := retryConflicts(ctx, func() error {
		calls++
		cancel()
		return &types.TransactionConflictException{}
	})
	if calls != 1 || err == nil {
		t.Errorf("after cancel: %d calls, err %v; want 1 call and the conflict", calls, err)
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{cancelled("TransactionConflict", "None"), mlsvc.EUnavailable},
		{&types.ProvisionedThroughputExceededException{}, mlsvc.EUnavailable},
		{&types.RequestLimitExceeded{}, mlsvc.EUnavailable},
		{&types.InternalServerError{}, mlsvc.EUnavailable},
		{&types.ResourceNotFoundException{}, mlsvc.EInternal},
		{errors.New("boom"), mlsvc.EInternal},
	}
	for _, tt := range tests {
		err := wrap(tt.err, "op")
		if got := mlsvc.ErrorCode(err); got != tt.want {
			t.Errorf("ErrorCode(wrap(%v)) = %q, want %q", tt.err, got, tt.want)
		}
		if tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("wrap(%v) = %v, does not wrap the cause", tt.err, err)
		}
	}
}

func TestItemsRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 535_000_001, time.UTC)
	p := &mlsvc.Prediction{
		ID: "p1", UserID: "u1", ModelID: "m", Status: mlsvc.StatusFailed, Cost: 1234,
		Rows: 7, Delay: 12 * time.Second, Error: "boom", CreatedAt: at, UpdatedAt: at.Add(time.Second),
	}
	it := predictionItem(p)
	if _, ok := it["pending"]; ok {
		t.Error("a failed prediction's item has the pending attribute")
	}
	got, err := it.prediction()
	if err != nil {
		t.Fatalf("decode prediction: %v", err)
	}
	if *got != *p {
		t.Errorf("prediction round trip = %+v, want %+v", got, p)
	}
	p.Status = mlsvc.StatusPending
	if v, ok := predictionItem(p)["pending"].(*types.AttributeValueMemberS); !ok || v.Value != "p1" {
		t.Errorf("a pending prediction's pending attribute = %v, want its id", predictionItem(p)["pending"])
	}

	m := &mlsvc.CatalogEntry{ID: "m", Name: "M", Cost: 5, Features: []string{"a", "b"}, Score: 0.1 + 0.2, CreatedAt: at}
	mi, err := modelItem(m)
	if err != nil {
		t.Fatalf("modelItem: %v", err)
	}
	gm, err := mi.model()
	if err != nil {
		t.Fatalf("decode model: %v", err)
	}
	if gm.Score != m.Score || !slices.Equal(gm.Features, m.Features) || !gm.CreatedAt.Equal(at) {
		t.Errorf("model round trip = %+v, want %+v", gm, m)
	}
	for _, score := range []float64{1 / zero(), -1 / zero(), zero() / zero()} {
		if _, err := modelItem(&mlsvc.CatalogEntry{ID: "m", Score: score}); mlsvc.ErrorCode(err) != mlsvc.EInvalid {
			t.Errorf("modelItem(score %v): error %v, want %q", score, err, mlsvc.EInvalid)
		}
	}

	if _, err := (item{"id": str("u1")}).user(); err == nil {
		t.Error("decoding a user item without attributes: no error")
	}
}

func zero() float64 { return 0 }
