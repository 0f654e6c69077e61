package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/dynamo"
)

// awsStack points the AWS SDK's standard environment at DynamoDB Local
// (MLSVC_DYNAMODB_ENDPOINT) and at s3URL (if not empty), as an operator's
// shell would be, and creates the tables of a stack named with prefix. It
// skips the test without DynamoDB Local (fails under CI).
func awsStack(t *testing.T, s3URL, prefix string) (*dynamodb.Client, dynamo.Tables) {
	t.Helper()
	endpoint := os.Getenv("MLSVC_DYNAMODB_ENDPOINT")
	testenv.Need(t, endpoint != "", "MLSVC_DYNAMODB_ENDPOINT is not set: make test runs this inside DynamoDB Local's namespace")
	env := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "admintest", "AWS_SECRET_ACCESS_KEY": "admintest",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	if s3URL != "" {
		env["AWS_ENDPOINT_URL_S3"] = s3URL
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	client := dynamodb.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("admintest", "admintest", ""),
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	p := prefix
	tables := dynamo.Tables{Users: p + "users", Usernames: p + "usernames", Models: p + "models", Predictions: p + "predictions", Access: p + "access", Ledger: p + "ledger"}
	if err := dynamo.CreateTables(context.Background(), client, tables); err != nil {
		t.Fatal(err)
	}
	return client, tables
}

// TestModelsAddAWS publishes a model to a "deployed stack": DynamoDB Local
// and an in-process S3, reached through the standard AWS environment.
func TestModelsAddAWS(t *testing.T) {
	ctx := context.Background()
	backend := s3mem.New()
	if err := backend.CreateBucket("stack-bucket"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	client, tables := awsStack(t, s3srv.URL, "admin-")

	var out, errOut bytes.Buffer
	err := run(ctx, []string{"models", "add", "--aws", "--models-table", tables.Models, "--bucket", "stack-bucket", "--s3-path-style",
		"--id", "mine", "--name", "My Model", "--cost", "2.50", "--description", "test", "--file", "../../catalog/lr.json"},
		nil, &out, &errOut)
	if err != nil {
		t.Fatalf("models add --aws: %v (%s)", err, errOut.String())
	}
	m, err := dynamo.NewStore(client, tables).Model(ctx, "mine")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "My Model" || m.Cost != 2_50 || len(m.Features) != 5 || m.File != "models/mine.json" || m.Metric != "r2" {
		t.Errorf("published %+v", m)
	}
	obj, err := backend.GetObject("stack-bucket", "models/mine.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Contents)
	want, _ := os.ReadFile("../../catalog/lr.json")
	if !bytes.Equal(got, want) {
		t.Errorf("bucket holds %d bytes, want the %d of the model file", len(got), len(want))
	}
}
