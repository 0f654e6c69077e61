package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"

	"mlsvc/catalog"
	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, nil, &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestCreditAndAuditLocal: mlsvc credit writes a credit entry; mlsvc audit
// is clean until a balance is changed behind the ledger's back, and then
// names the user and exits 1.
func TestCreditAndAuditLocal(t *testing.T) {
	dir := t.TempDir()
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	app, err := local.Open(context.Background(), local.Config{DataDir: dir, Catalog: entries, Builtin: catalog.Files, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	u, err := app.Service.Register(context.Background(), "Olga", "olga", "operator-test")
	if err != nil {
		t.Fatal(err)
	}
	app.Close()

	if out, err := runCmd(t, "credit", "--data", dir, "--user", "OLGA", "--amount", "12.34"); err != nil || !strings.Contains(out, "balance 12.34") {
		t.Fatalf("credit: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"credit", "--data", dir, "--user", "nobody", "--amount", "1"},
		{"credit", "--data", dir, "--user", "olga", "--amount", "-1"},
		{"credit", "--data", dir, "--user", "olga", "--amount", "1.001"},
		{"credit", "--data", dir, "--user", "olga"},
	} {
		if out, err := runCmd(t, bad...); err == nil {
			t.Errorf("%v succeeded:\n%s", bad, out)
		}
	}
	if out, err := runCmd(t, "audit", "--data", dir); err != nil || !strings.Contains(out, "1 users") {
		t.Fatalf("audit of a clean store: %v\n%s", err, out)
	}

	app, err = local.Open(context.Background(), local.Config{DataDir: dir, Catalog: entries, Builtin: catalog.Files, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := app.Service.Transactions(context.Background(), u.ID, mlsvc.Page{})
	app.Close()
	if err != nil || len(es) != 1 || es[0].Type != mlsvc.EntryCredit || es[0].Amount != 12_34 || es[0].BalanceAfter != 12_34 {
		t.Fatalf("ledger after credit: %v, %+v", err, es)
	}

	// Corrupt the store: a balance changed without an entry.
	db, err := sql.Open("sqlite", filepath.Join(dir, "mlsvc.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE users SET balance = balance + 100 WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err := runCmd(t, "audit", "--data", dir)
	if !errors.Is(err, errMismatch) || !strings.Contains(out, u.ID) || !strings.Contains(out, "balance 13.34 but the ledger sums to 12.34") {
		t.Errorf("audit of a corrupted store: %v\n%s", err, out)
	}
}

// TestCreditAndAuditAWS: the same on a "deployed stack" (DynamoDB Local).
func TestCreditAndAuditAWS(t *testing.T) {
	ctx := context.Background()
	client, tables := awsStack(t, "", "money_"+rand.Text()[:8]+"_")
	store := dynamo.NewStore(client, tables)
	u := &mlsvc.User{ID: "u-olga", Firstname: "Olga", Username: "olga", PasswordHash: "x", CreatedAt: time.Now()}
	if err := store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	awsFlags := []string{"--aws", "--users-table", tables.Users, "--usernames-table", tables.Usernames,
		"--predictions-table", tables.Predictions, "--ledger-table", tables.Ledger}
	if out, err := runCmd(t, append([]string{"credit", "--user", "olga", "--amount", "5"}, awsFlags...)...); err != nil || !strings.Contains(out, "balance 5") {
		t.Fatalf("credit --aws: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "credit", "--aws", "--user", "olga", "--amount", "5"); !errors.Is(err, errUsage) {
		t.Errorf("credit --aws without tables: %v\n%s", err, out)
	}
	if out, err := runCmd(t, append([]string{"audit"}, awsFlags...)...); err != nil {
		t.Fatalf("audit --aws of a clean stack: %v\n%s", err, out)
	}
	_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tables.Users), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: u.ID}},
		UpdateExpression:          aws.String("SET balance = :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, append([]string{"audit"}, awsFlags...)...)
	if !errors.Is(err, errMismatch) || !strings.Contains(out, "balance 0.01 but the ledger sums to 5") {
		t.Errorf("audit --aws of a corrupted stack: %v\n%s", err, out)
	}
}
