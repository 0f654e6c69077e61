package dynamo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"mlsvc/pkg/mlsvc"
)

// item is one DynamoDB item. The attribute layout of each record is written
// here, in one place, by hand: it is small, and a hand-written layout keeps
// money an exact integer Number and times plain Numbers.
type item map[string]types.AttributeValue

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func nanos(t time.Time) types.AttributeValue {
	if t.IsZero() {
		return num(0)
	}
	return num(t.UnixNano())
}

// createdKey is the sort key of the by_user index: creation time as
// zero-padded Unix nanoseconds, then the id, so that keys sort by time and
// predictions created in the same nanosecond still have one fixed order.
func createdKey(t time.Time, id string) string {
	var n int64
	if !t.IsZero() && t.UnixNano() > 0 {
		n = t.UnixNano()
	}
	return fmt.Sprintf("%019d#%s", n, id)
}

func userItem(u *mlsvc.User) item {
	return item{
		"id":            str(u.ID),
		"firstname":     str(u.Firstname),
		"username":      str(u.Username),
		"password_hash": str(u.PasswordHash),
		"balance":       num(int64(u.Balance)),
		"created_at":    nanos(u.CreatedAt),
	}
}

func (it item) user() (*mlsvc.User, error) {
	var d decoder
	u := &mlsvc.User{
		ID:           d.str(it, "id"),
		Firstname:    d.str(it, "firstname"),
		Username:     d.str(it, "username"),
		PasswordHash: d.str(it, "password_hash"),
		Balance:      mlsvc.Cents(d.int(it, "balance")),
		CreatedAt:    d.time(it, "created_at"),
	}
	return u, d.err("user")
}

func modelItem(m *mlsvc.CatalogEntry) (item, error) {
	if math.IsNaN(m.Score) || math.IsInf(m.Score, 0) {
		return nil, mlsvc.Errorf(mlsvc.EInvalid, "model score must be a finite number")
	}
	features := make([]types.AttributeValue, len(m.Features))
	for i, f := range m.Features {
		features[i] = str(f)
	}
	it := item{
		"id":          str(m.ID),
		"name":        str(m.Name),
		"cost":        num(int64(m.Cost)),
		"description": str(m.Description),
		"file":        str(m.File),
		"format":      str(m.Format),
		"features":    &types.AttributeValueMemberL{Value: features},
		"metric":      str(m.Metric),
		"score":       &types.AttributeValueMemberN{Value: strconv.FormatFloat(m.Score, 'g', -1, 64)},
		"created_at":  nanos(m.CreatedAt),
	}
	return it, nil
}

func (it item) model() (*mlsvc.CatalogEntry, error) {
	var d decoder
	m := &mlsvc.CatalogEntry{
		ID:          d.str(it, "id"),
		Name:        d.str(it, "name"),
		Cost:        mlsvc.Cents(d.int(it, "cost")),
		Description: d.str(it, "description"),
		File:        d.str(it, "file"),
		Format:      d.str(it, "format"),
		Features:    d.strs(it, "features"),
		Metric:      d.str(it, "metric"),
		Score:       d.float(it, "score"),
		CreatedAt:   d.time(it, "created_at"),
	}
	return m, d.err("model")
}

// predictionItem is p as stored. pending (the key of the sparse index) is
// present only while the prediction is pending.
func predictionItem(p *mlsvc.Prediction) item {
	it := item{
		"id":          str(p.ID),
		"user_id":     str(p.UserID),
		"model_id":    str(p.ModelID),
		"status":      str(string(p.Status)),
		"cost":        num(int64(p.Cost)),
		"rows":        num(int64(p.Rows)),
		"delay":       num(int64(p.Delay)),
		"created_at":  nanos(p.CreatedAt),
		"updated_at":  nanos(p.UpdatedAt),
		"created_key": str(createdKey(p.CreatedAt, p.ID)),
	}
	if p.Error != "" {
		it["error"] = str(p.Error)
	}
	if p.InputBytes > 0 {
		it["input_bytes"] = num(p.InputBytes)
	}
	if p.RequestHash != "" {
		it["request_hash"] = str(p.RequestHash)
	}
	if p.WebhookURL != "" {
		it["webhook_url"] = str(p.WebhookURL)
	}
	if p.Status == mlsvc.StatusPending {
		it["pending"] = str(p.ID)
	}
	return it
}

// prediction decodes predictionItem's layout. Each record's decoder (user,
// model, prediction here; entry in ledger.go; webhookDelivery in
// webhooks_queue.go) has the same shape on purpose:
// it names its own attributes one by one, as item says.
func (it item) prediction() (*mlsvc.Prediction, error) {
	var d decoder
	p := &mlsvc.Prediction{
		ID:        d.str(it, "id"),
		UserID:    d.str(it, "user_id"),
		ModelID:   d.str(it, "model_id"),
		Status:    mlsvc.Status(d.str(it, "status")),
		Cost:      mlsvc.Cents(d.int(it, "cost")),
		Rows:      int(d.int(it, "rows")),
		Delay:     time.Duration(d.int(it, "delay")),
		CreatedAt: d.time(it, "created_at"),
		UpdatedAt: d.time(it, "updated_at"),
	}
	if _, ok := it["error"]; ok {
		p.Error = d.str(it, "error")
	}
	if _, ok := it["input_bytes"]; ok { // absent in records from before it was kept
		p.InputBytes = d.int(it, "input_bytes")
	}
	if _, ok := it["request_hash"]; ok {
		p.RequestHash = d.str(it, "request_hash")
	}
	if _, ok := it["webhook_url"]; ok {
		p.WebhookURL = d.str(it, "webhook_url")
	}
	return p, d.err("prediction")
}

// decoder reads attributes and keeps the first error, so a record decodes
// in one expression and is checked once.
type decoder struct{ first error }

func (d *decoder) fail(name, want string) {
	if d.first == nil {
		d.first = fmt.Errorf("attribute %q is missing or not %s", name, want)
	}
}

// str, strs and num are one reader per attribute type, alike on purpose:
// each checks its type and names it when the attribute is not of it.
func (d *decoder) str(it item, name string) string {
	v, ok := it[name].(*types.AttributeValueMemberS)
	if !ok {
		d.fail(name, "a string")
		return ""
	}
	return v.Value
}

func (d *decoder) strs(it item, name string) []string {
	v, ok := it[name].(*types.AttributeValueMemberL)
	if !ok {
		d.fail(name, "a list")
		return nil
	}
	out := make([]string, 0, len(v.Value))
	for _, e := range v.Value {
		s, ok := e.(*types.AttributeValueMemberS)
		if !ok {
			d.fail(name, "a list of strings")
			return nil
		}
		out = append(out, s.Value)
	}
	return out
}

// num is the text of a number attribute; "" (which parses as no number)
// if it is not one. It is str's twin for numbers (see str).
func (d *decoder) num(it item, name string) string {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		d.fail(name, "a number")
		return ""
	}
	return v.Value
}

func (d *decoder) int(it item, name string) int64 {
	n, err := strconv.ParseInt(d.num(it, name), 10, 64)
	if err != nil {
		d.fail(name, "an integer")
	}
	return n
}

func (d *decoder) float(it item, name string) float64 {
	f, err := strconv.ParseFloat(d.num(it, name), 64)
	if err != nil {
		d.fail(name, "a float")
	}
	return f
}

func (d *decoder) time(it item, name string) time.Time {
	n := d.int(it, name)
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (d *decoder) err(record string) error {
	if d.first != nil {
		return fmt.Errorf("dynamo: decode %s: %w", record, d.first)
	}
	return nil
}

// A cursor is the key of the last prediction of a page, as base64url JSON:
// the by_user index's key (id, user_id, created_key), which Query takes as
// ExclusiveStartKey.
type cursor struct {
	ID         string `json:"id"`
	UserID     string `json:"user_id"`
	CreatedKey string `json:"created_key"`
}

func encodeCursor(it item) (string, error) {
	var d decoder
	c := cursor{ID: d.str(it, "id"), UserID: d.str(it, "user_id"), CreatedKey: d.str(it, "created_key")}
	if err := d.err("cursor"); err != nil {
		return "", err
	}
	return sealCursor(c)
}

// sealCursor encodes c, a cursor's struct, as base64 of JSON: the
// inverse of openCursor.
func sealCursor(c any) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("dynamo: encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// openCursor decodes a page cursor (base64 of a JSON object) into c, a
// pointer to its struct; false for anything else, unknown fields included.
func openCursor(s string, c any) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(c) == nil && !dec.More()
}

// decodeCursor returns the start key a cursor stands for. A cursor that was
// not made by encodeCursor for this user is EInvalid.
func decodeCursor(s, userID string) (item, error) {
	bad := mlsvc.Errorf(mlsvc.EInvalid, "invalid cursor")
	var c cursor
	if !openCursor(s, &c) {
		return nil, bad
	}
	if c.ID == "" || c.UserID != userID || !strings.HasSuffix(c.CreatedKey, "#"+c.ID) || len(c.CreatedKey) != 20+len(c.ID) {
		return nil, bad
	}
	for _, r := range c.CreatedKey[:19] {
		if r < '0' || r > '9' {
			return nil, bad
		}
	}
	return item{"id": str(c.ID), "user_id": str(c.UserID), "created_key": str(c.CreatedKey)}, nil
}
