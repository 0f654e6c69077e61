package dynamo_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/storetest"
)

// TestStore runs the Store contract suite against DynamoDB Local, each
// subtest on tables of its own. scripts/dynamodb-local.sh run starts the
// server and sets MLSVC_DYNAMODB_ENDPOINT.
func TestStore(t *testing.T) {
	client := newClient(t)
	storetest.Run(t, func(t *testing.T) mlsvc.Store {
		return dynamo.NewStore(client, newTables(t, client))
	})
}

// newClient returns a client of the DynamoDB Local named by
// MLSVC_DYNAMODB_ENDPOINT. Without one the test skips, except in CI (CI=true)
// or with MLSVC_STRICT=1, where it fails: there the suite is required.
func newClient(t *testing.T) *dynamodb.Client {
	t.Helper()
	endpoint := os.Getenv("MLSVC_DYNAMODB_ENDPOINT")
	testenv.Need(t, endpoint != "", "DynamoDB Local not running: set MLSVC_DYNAMODB_ENDPOINT (scripts/dynamodb-local.sh run and make test-aws do)")
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("mlsvctest", "mlsvctest", ""),
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		// DynamoDB Local sends no CRC32 checksum the SDK would accept; without
		// this every response logs a warning.
		o.DisableValidateResponseChecksum = true
	})
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// newTables creates empty tables named after t plus a random part, so that
// a DynamoDB Local that outlives one run (without -inMemory) still gives
// every subtest fresh tables, and deletes them when t ends.
func newTables(t *testing.T, client *dynamodb.Client) dynamo.Tables {
	t.Helper()
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	prefix := fmt.Sprintf("%s_%s_", name, rand.Text()[:8])
	tables := dynamo.Tables{
		Users:       prefix + "users",
		Usernames:   prefix + "usernames",
		Models:      prefix + "models",
		Predictions: prefix + "predictions",
		Access:      prefix + "access",
		Ledger:      prefix + "ledger",
	}
	if err := dynamo.CreateTables(t.Context(), client, tables); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{tables.Users, tables.Usernames, tables.Models, tables.Predictions, tables.Access, tables.Ledger} {
			// t.Context is already cancelled when cleanups run.
			if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
				t.Logf("delete table %s: %v", name, err)
			}
		}
	})
	return tables
}
