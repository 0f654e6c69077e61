package stepfn_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"mlsvc/pkg/stepfn"
)

func TestStop(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		reply   string
		wantErr bool
	}{
		{"stopped", 200, `{"stopDate":1741964966.5}`, false},
		{"no such execution", 400, `{"__type":"ExecutionDoesNotExist","message":"Execution Does Not Exist"}`, false},
		{"access denied", 400, `{"__type":"AccessDeniedException","message":"no"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []map[string]string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var in map[string]string
				json.Unmarshal(body, &in)
				in["target"] = r.Header.Get("X-Amz-Target")
				mu.Lock()
				got = append(got, in)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.reply)
			}))
			t.Cleanup(srv.Close)
			client := sfn.New(sfn.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}, nil
				}),
			})
			err := stepfn.New(client, machineARN).Stop(context.Background(), "p-1")
			if (err != nil) != tt.wantErr {
				t.Errorf("Stop error = %v, want error %v", err, tt.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			want := "arn:aws:states:us-east-1:123456789012:execution:mlsvc-prediction:p-1"
			if got[0]["target"] != "AWSStepFunctions.StopExecution" || got[0]["executionArn"] != want {
				t.Errorf("request %v, want StopExecution of %s", got[0], want)
			}
		})
	}
}
