package stepfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

const machineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mlsvc-prediction"

// fakeSFN speaks the Step Functions JSON protocol (awsJson1_0) for
// StartExecution and answers with its reply function, recording requests.
type fakeSFN struct {
	mu    sync.Mutex
	reqs  []startRequest
	reply func(n int) (status int, body string) // n counts requests from 1
}

type startRequest struct {
	Target, ContentType string
	StateMachineArn     string `json:"stateMachineArn"`
	Name                string `json:"name"`
	Input               string `json:"input"`
}

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req startRequest
	if r.Method != http.MethodPost || r.URL.Path != "/" || json.Unmarshal(body, &req) != nil {
		http.Error(w, `{"__type":"SerializationException"}`, http.StatusBadRequest)
		return
	}
	req.Target, req.ContentType = r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type")
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	n := len(f.reqs)
	f.mu.Unlock()
	status, reply := f.reply(n)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	io.WriteString(w, reply)
}

func (f *fakeSFN) requests() []startRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startRequest(nil), f.reqs...)
}

const started = `{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:mlsvc-prediction:p-1","startDate":1741964966.5}`

// newWorkflow returns a Workflow whose real SDK client talks to fake on
// 127.0.0.1. The SDK's retries stay on, without their pauses.
func newWorkflow(t *testing.T, fake *fakeSFN) *stepfn.Workflow {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := sfn.New(sfn.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}, nil
		}),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	return stepfn.New(client, machineARN)
}

func TestStartRequest(t *testing.T) {
	tests := []struct {
		delay time.Duration
		want  int
	}{
		{0, 0},
		{-time.Second, 0},
		{10 * time.Second, 10},
		{12*time.Second + 200*time.Millisecond, 13},
		{time.Nanosecond, 1},
		{25 * time.Second, 25},
	}
	for _, tt := range tests {
		fake := &fakeSFN{reply: func(int) (int, string) { return 200, started }}
		w := newWorkflow(t, fake)
		created := time.Date(2026, 12, 1, 4, 59, 30, 0, time.FixedZone("CET", 3600))
		p := &mlsvc.Prediction{ID: "0b7e8c1a-1d2f-4a5b-9c8d-7e6f5a4b3c2d", Delay: tt.delay, CreatedAt: created}
		if err := w.Start(context.Background(), p); err != nil {
			t.Fatalf("Start(delay %v): %v", tt.delay, err)
		}
		reqs := fake.requests()
		if len(reqs) != 1 {
			t.Fatalf("delay %v: %d requests, want 1", tt.delay, len(reqs))
		}
		r := reqs[0]
		if r.Target != "AWSStepFunctions.StartExecution" || r.ContentType != "application/x-amz-json-1.0" {
			t.Errorf("target %q, content type %q", r.Target, r.ContentType)
		}
		if r.StateMachineArn != machineARN || r.Name != p.ID {
			t.Errorf("stateMachineArn %q, name %q; want %q, %q", r.StateMachineArn, r.Name, machineARN, p.ID)
		}
		var in map[string]any
		if err := json.Unmarshal([]byte(r.Input), &in); err != nil {
			t.Fatalf("input %q: %v", r.Input, err)
		}
		want := map[string]any{
			"prediction_id": p.ID, "delay_seconds": float64(tt.want),
			"ready_at": created.Add(time.Duration(tt.want) * time.Second).UTC().Format(time.RFC3339),
		}
		if len(in) != len(want) || in["prediction_id"] != want["prediction_id"] || in["delay_seconds"] != want["delay_seconds"] ||
			in["ready_at"] != want["ready_at"] {
			t.Errorf("delay %v: input %s, want %v", tt.delay, r.Input, want)
		}
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name     string
		reply    func(n int) (int, string)
		wantErr  bool
		wantReqs int
	}{
		{"started", func(int) (int, string) { return 200, started }, false, 1},
		{"already exists", func(int) (int, string) {
			return 400, `{"__type":"ExecutionAlreadyExists","message":"Execution Already Exists: 'arn:…:p-1'"}`
		}, false, 1},
		{"already exists, namespaced type", func(int) (int, string) {
			return 400, `{"__type":"com.amazonaws.states#ExecutionAlreadyExists","message":"Execution Already Exists"}`
		}, false, 1},
		{"server error, retried", func(n int) (int, string) {
			if n == 1 {
				return 500, `{"__type":"InternalFailure","message":"oops"}`
			}
			return 200, started
		}, false, 2},
		{"server error", func(int) (int, string) { return 500, `{"__type":"InternalFailure","message":"oops"}` }, true, 3},
		{"machine missing", func(int) (int, string) {
			return 400, `{"__type":"StateMachineDoesNotExist","message":"State Machine Does Not Exist"}`
		}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSFN{reply: tt.reply}
			err := newWorkflow(t, fake).Start(context.Background(), &mlsvc.Prediction{ID: "p-1", Delay: time.Second})
			if (err != nil) != tt.wantErr {
				t.Errorf("Start error = %v, want error %v", err, tt.wantErr)
			}
			if got := len(fake.requests()); got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
		})
	}
}

func TestStartErrorKeepsCause(t *testing.T) {
	fake := &fakeSFN{reply: func(int) (int, string) {
		return 400, `{"__type":"StateMachineDeleting","message":"being deleted"}`
	}}
	err := newWorkflow(t, fake).Start(context.Background(), &mlsvc.Prediction{ID: "p-1"})
	var deleting *types.StateMachineDeleting
	if !errors.As(err, &deleting) {
		t.Errorf("Start error = %v, want a *types.StateMachineDeleting in its chain", err)
	}
}
