package stepfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

// fakeStore answers Prediction, Model and FailPrediction; the handlers
// call nothing else. Its other methods are the nil embedded interface's.
type fakeStore struct {
	mlsvc.Store
	predictions map[string]*mlsvc.Prediction // absent: ENotFound
	predErr     func(id string) error        // when set and not nil, Prediction's error
	failErr     error                        // returned by FailPrediction when set

	mu     sync.Mutex
	calls  map[string]int // Prediction calls by id
	failed []string       // "id: reason" of each FailPrediction
}

func (s *fakeStore) Prediction(_ context.Context, id string) (*mlsvc.Prediction, error) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[id]++
	n := s.calls[id]
	s.mu.Unlock()
	if s.predErr != nil {
		if err := s.predErr(id); err != nil {
			return nil, err
		}
	}
	switch {
	case id == "down":
		return nil, errors.New("dynamodb: down")
	case id == "flaky" && n == 1:
		return nil, errors.New("dynamodb: throttled")
	}
	p, ok := s.predictions[id]
	if !ok {
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "prediction %s not found", id)
	}
	return p, nil
}

func (s *fakeStore) Model(_ context.Context, id string) (*mlsvc.CatalogEntry, error) {
	return nil, mlsvc.Errorf(mlsvc.ENotFound, "model %s not found", id)
}

func (s *fakeStore) FailPrediction(_ context.Context, id, reason string, _ time.Time) error {
	if s.failErr != nil {
		return s.failErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = append(s.failed, id+": "+reason)
	return nil
}

func newWorker(st *fakeStore) *mlsvc.Worker {
	if st.predictions == nil {
		st.predictions = map[string]*mlsvc.Prediction{
			"done":    {ID: "done", ModelID: "lr", Status: mlsvc.StatusCompleted},
			"orphan":  {ID: "orphan", ModelID: "retired", Status: mlsvc.StatusPending},
			"pending": {ID: "pending", ModelID: "lr", Status: mlsvc.StatusPending},
			"flaky":   {ID: "flaky", ModelID: "lr", Status: mlsvc.StatusCompleted},
		}
	}
	return mlsvc.NewWorker(mlsvc.Config{Store: st})
}

func TestInference(t *testing.T) {
	throttled := errors.New("dynamodb: throttled")
	tests := []struct {
		name       string
		store      *fakeStore
		id         string
		wantFailed string // reason of the PredictionFailed, if one is wanted
		wantErr    string // the message of an error of another type, if one is wanted
	}{
		{name: "already completed", store: &fakeStore{}, id: "done"},
		{name: "unknown prediction", store: &fakeStore{}, id: "nope", wantFailed: "prediction not found"},
		{name: "model gone", store: &fakeStore{}, id: "orphan", wantFailed: `model "retired" is no longer published`},
		{name: "no id", store: &fakeStore{}, id: "", wantFailed: "the event has no prediction_id"},
		{name: "store down", store: &fakeStore{predErr: func(string) error { return throttled }}, id: "pending", wantErr: throttled.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := stepfn.Inference(newWorker(tt.store))(context.Background(), stepfn.InferenceInput{PredictionID: tt.id})
			var failed messages.InvokeResponse_Error
			isFailure := errors.As(err, &failed)
			switch {
			case tt.wantFailed != "":
				if !isFailure || failed.Type != stepfn.ErrorPredictionFailed || failed.Message != tt.wantFailed {
					t.Errorf("error = %#v, want PredictionFailed %q", err, tt.wantFailed)
				}
			case tt.wantErr != "":
				if !isFailure || failed.Type != stepfn.ErrorInternal || failed.Message != tt.wantErr {
					t.Errorf("error = %#v, want InternalError %q", err, tt.wantErr)
				}
			default:
				if err != nil || out.PredictionID != tt.id {
					t.Errorf("= %+v, %v; want {%s}, nil", out, err, tt.id)
				}
			}
		})
	}
}

// failPayload is the Fail task's payload for prediction "pending", with
// the error that Step Functions caught.
func failPayload(errorType, cause string) map[string]any {
	return map[string]any{"prediction_id": "pending", "error": map[string]string{"Error": errorType, "Cause": cause}}
}

// cause is a Lambda function error payload as Step Functions puts it in Cause.
func cause(errorType, msg string) string {
	b, _ := json.Marshal(map[string]any{"errorMessage": msg, "errorType": errorType, "stackTrace": []string{}})
	return string(b)
}

func TestFailure(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	tests := []struct {
		name  string
		event any // the Fail task's Payload, as the state machine builds it
		want  string
	}{
		{"prediction failed", failPayload("PredictionFailed", cause("PredictionFailed", "input_data: row 3: feature_2 is missing")), "input_data: row 3: feature_2 is missing"},
		{"retries exhausted", failPayload("InternalError", cause("InternalError", "dynamodb: throttled at 10.0.3.7")), mlsvc.ReasonNotRun},
		{"timeout", failPayload("States.Timeout", ""), mlsvc.ReasonNotRun},
		{"lambda service", failPayload("Lambda.ServiceException", "Rate exceeded (Service: Lambda, Status Code: 500)"), mlsvc.ReasonNotRun},
		{"unreadable cause", failPayload("PredictionFailed", "not json"), mlsvc.ReasonNotRun},
		{"empty message", failPayload("PredictionFailed", cause("PredictionFailed", " ")), mlsvc.ReasonNotRun},
		{"no error", map[string]any{"prediction_id": "pending"}, mlsvc.ReasonNotRun},
		{"long message", failPayload("PredictionFailed", cause("PredictionFailed", long)), strings.Repeat("é", 500) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStore{}
			event, _ := json.Marshal(tt.event)
			// Through the Lambda runtime's own JSON decoding and encoding.
			out, err := lambda.NewHandler(stepfn.Failure(newWorker(st))).Invoke(context.Background(), event)
			if err != nil {
				t.Fatalf("Invoke(%s): %v", event, err)
			}
			if want := []string{"pending: " + tt.want}; len(st.failed) != 1 || st.failed[0] != want[0] {
				t.Errorf("FailPrediction calls = %q, want %q", st.failed, want)
			}
			var got stepfn.FailureOutput
			if err := json.Unmarshal(out, &got); err != nil || got != (stepfn.FailureOutput{PredictionID: "pending", Reason: tt.want}) {
				t.Errorf("output = %s (%v), want reason %q", out, err, tt.want)
			}
		})
	}
}

func TestFailureErrors(t *testing.T) {
	t.Run("already final", func(t *testing.T) {
		st := &fakeStore{failErr: mlsvc.Errorf(mlsvc.EConflict, "not pending")}
		_, err := stepfn.Failure(newWorker(st))(context.Background(), stepfn.FailureInput{PredictionID: "done"})
		if err != nil {
			t.Errorf("Failure of a final prediction: %v, want nil (refunded once already)", err)
		}
	})
	t.Run("store down", func(t *testing.T) {
		down := errors.New("dynamodb: unavailable")
		st := &fakeStore{failErr: down}
		_, err := stepfn.Failure(newWorker(st))(context.Background(), stepfn.FailureInput{PredictionID: "pending"})
		var failed messages.InvokeResponse_Error
		if !errors.As(err, &failed) || failed.Type != stepfn.ErrorInternal || failed.Message != down.Error() {
			t.Errorf("Failure error = %#v, want InternalError %q for the state machine to retry", err, down)
		}
	})
	t.Run("no id", func(t *testing.T) {
		_, err := stepfn.Failure(newWorker(&fakeStore{}))(context.Background(), stepfn.FailureInput{})
		if err == nil {
			t.Error("Failure without prediction_id succeeded")
		}
	})
}

// lambdaEnv names the variable that makes the test binary a Lambda function
// (a bootstrap) that runs a handler over a fakeStore instead of the tests:
// "inference", "failure", or "throttled" (inference with the store down).
const lambdaEnv = "STEPFN_TEST_LAMBDA"

func TestMain(m *testing.M) {
	mode := os.Getenv(lambdaEnv)
	if mode == "" {
		os.Exit(m.Run())
	}
	st := &fakeStore{}
	switch mode {
	case "failure":
		lambda.Start(stepfn.Failure(newWorker(st)))
	case "throttled":
		st.predErr = func(string) error { return errors.New("dynamodb: throttled") }
	case "unavailable":
		st.predErr = func(string) error { return mlsvc.Errorf(mlsvc.EUnavailable, "the database is busy") }
	}
	lambda.Start(stepfn.Inference(newWorker(st))) // returns never: exits when the runtime API stops
}

// TestLambdaErrorType runs the Inference handler as a Lambda function against
// a fake Lambda Runtime API and checks the errorType the state machine sees.
func TestLambdaErrorType(t *testing.T) {
	tests := []struct {
		mode, id, path string
		want           map[string]string
	}{
		{"inference", "nope", "error", map[string]string{"errorType": "PredictionFailed", "errorMessage": "prediction not found"}},
		{"inference", "done", "response", map[string]string{"prediction_id": "done"}},
		{"throttled", "pending", "error", map[string]string{"errorType": "InternalError", "errorMessage": "dynamodb: throttled"}},
		{"unavailable", "pending", "error", map[string]string{"errorType": "ServiceUnavailable", "errorMessage": "unavailable: the database is busy"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.id, func(t *testing.T) {
			path, body := invokeUnderRuntime(t, tt.mode, fmt.Sprintf(`{"prediction_id":%q}`, tt.id))
			if path != tt.path {
				t.Fatalf("function posted to /%s, want /%s: %s", path, tt.path, body)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %q (body %s)", k, got[k], v, body)
				}
			}
		})
	}
}

// invokeUnderRuntime serves one event through a fake Lambda Runtime API to
// the test binary started as a Lambda function, and returns where it posted
// its answer ("response" or "error") and what.
func invokeUnderRuntime(t *testing.T, mode, event string) (string, []byte) {
	t.Helper()
	var (
		mu     sync.Mutex
		served bool
		path   string
		body   []byte
		done   = make(chan struct{})
	)
	api := http.NewServeMux()
	api.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if served {
			w.WriteHeader(http.StatusGone) // makes the function exit
			return
		}
		served = true
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:inference")
		io.WriteString(w, event)
	})
	api.HandleFunc("POST /2018-06-01/runtime/invocation/req-1/{result}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		path, body = r.PathValue("result"), b
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		close(done)
	})
	srv := httptest.NewServer(api)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lambdaEnv+"="+mode, "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"))
	out, _ := cmd.CombinedOutput() // it exits 1 when the API says 410
	select {
	case <-done:
	default:
		t.Fatalf("the function posted no result; its output:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	return path, body
}
