package awstest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"mlsvc/pkg/dynamo"
)

// createTableRequests returns the CreateTable requests dynamo.CreateTables
// makes, keyed by table name, from a fake DynamoDB endpoint that records them.
func createTableRequests(t *testing.T, tables dynamo.Tables) map[string]tableDef {
	t.Helper()
	var mu sync.Mutex
	got := map[string]tableDef{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch r.Header.Get("X-Amz-Target") {
		case "DynamoDB_20120810.CreateTable":
			var def tableDef
			if err := json.Unmarshal(body, &def); err != nil {
				t.Errorf("CreateTable request: %v", err)
			}
			mu.Lock()
			got[def.TableName] = def
			mu.Unlock()
			io.WriteString(w, `{"TableDescription":{"TableStatus":"CREATING"}}`)
		case "DynamoDB_20120810.UpdateTimeToLive":
			io.WriteString(w, `{"TimeToLiveSpecification":{"AttributeName":"expires_at","Enabled":true}}`)
		case "DynamoDB_20120810.DescribeTable":
			io.WriteString(w, `{"Table":{"TableStatus":"ACTIVE"}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"unexpected call"}`)
		}
	}))
	defer srv.Close()
	client := dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(srv.URL),
		Credentials:                     credentials.NewStaticCredentialsProvider("test", "test", ""),
		DisableValidateResponseChecksum: true,
	})
	if err := dynamo.CreateTables(context.Background(), client, tables); err != nil {
		t.Fatalf("dynamo.CreateTables against a recorder: %v", err)
	}
	return got
}

// tableDef is the part of a table definition both CreateTable and
// AWS::DynamoDB::Table express, with the same field names.
type tableDef struct {
	TableName              string
	BillingMode            string
	KeySchema              []keyElement
	AttributeDefinitions   []struct{ AttributeName, AttributeType string }
	GlobalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []keyElement
		Projection struct{ ProjectionType string }
	}
}

type keyElement struct{ AttributeName, KeyType string }

// canonical sorts the unordered lists so two definitions compare equal.
func (d tableDef) canonical() tableDef {
	d.TableName = ""
	sort.Slice(d.AttributeDefinitions, func(i, j int) bool {
		return d.AttributeDefinitions[i].AttributeName < d.AttributeDefinitions[j].AttributeName
	})
	sort.Slice(d.GlobalSecondaryIndexes, func(i, j int) bool {
		return d.GlobalSecondaryIndexes[i].IndexName < d.GlobalSecondaryIndexes[j].IndexName
	})
	return d
}

func TestTemplateTables(t *testing.T) {
	tpl := loadTemplate(t)
	env := map[string]string{ // environment variable → table resource
		"TABLE_USERS": "", "TABLE_USERNAMES": "", "TABLE_MODELS": "", "TABLE_PREDICTIONS": "",
		"TABLE_ACCESS": "", "TABLE_LEDGER": "",
	}
	genv := get(map[string]any(tpl), "Globals", "Function", "Environment", "Variables")
	for name := range env {
		env[name] = str(get(genv, name, "Ref"))
		if env[name] == "" {
			t.Errorf("Globals: environment variable %s is not !Ref of a table", name)
		}
	}
	// Name the tables after their resources, so the recorded requests say
	// which resource each belongs to.
	want := createTableRequests(t, dynamo.Tables{
		Users: env["TABLE_USERS"], Usernames: env["TABLE_USERNAMES"],
		Models: env["TABLE_MODELS"], Predictions: env["TABLE_PREDICTIONS"],
		Access: env["TABLE_ACCESS"], Ledger: env["TABLE_LEDGER"],
	})
	// Throttles expire by DynamoDB's TTL.
	if got := get(tpl.resource(env["TABLE_ACCESS"]), "Properties", "TimeToLiveSpecification"); str(get(got, "AttributeName")) != dynamo.TTLAttribute || get(got, "Enabled") != true {
		t.Errorf("%s: TimeToLiveSpecification = %v, want %s enabled", env["TABLE_ACCESS"], got, dynamo.TTLAttribute)
	}
	tables := tpl.resources("AWS::DynamoDB::Table")
	if len(tables) != len(want) {
		t.Errorf("template.yaml has tables %v, dynamo.CreateTables makes %d", tables, len(want))
	}
	for _, id := range tables {
		props := get(tpl.resource(id), "Properties")
		if got := str(get(props, "BillingMode")); got != "PAY_PER_REQUEST" {
			t.Errorf("%s: BillingMode = %q, want PAY_PER_REQUEST", id, got)
		}
		if got := get(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"); got != true {
			t.Errorf("%s: point-in-time recovery is not enabled", id)
		}
		if got := get(props, "SSESpecification", "SSEEnabled"); got != true {
			t.Errorf("%s: SSESpecification.SSEEnabled is not true", id)
		}
		if got := get(props, "DeletionProtectionEnabled"); got != true {
			t.Errorf("%s: DeletionProtectionEnabled is not true", id)
		}
		if got := str(get(tpl.resource(id), "DeletionPolicy")); got != "Retain" {
			t.Errorf("%s: DeletionPolicy = %q, want Retain (balances live here)", id, got)
		}
		w, ok := want[id]
		if !ok {
			t.Errorf("%s is not one of the tables the environment names (%v)", id, env)
			continue
		}
		raw, _ := json.Marshal(props)
		var g tableDef
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if g, w := g.canonical(), w.canonical(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs from dynamo.CreateTables:\n got %+v\nwant %+v", id, g, w)
		}
	}
}
