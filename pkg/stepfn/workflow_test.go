package stepfn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

// The tests in this file and e2e_test.go run infra/statemachine.asl.json
// with infra/test/run-workflow.mjs (aws-local-stepfunctions), its Task
// states invoking Lambda bootstraps under aws-lambda-rie. `make test`
// runs them with MLSVC_RIE set to the emulator it installs; without
// MLSVC_RIE they skip.

// needRIE returns the aws-lambda-rie binary, or skips t (fails it when
// CI=true or MLSVC_STRICT=1).
func needRIE(t *testing.T) string {
	t.Helper()
	rie := os.Getenv("MLSVC_RIE")
	testenv.Need(t, rie != "", "MLSVC_RIE (path of aws-lambda-rie) is not set: `make test` sets it")
	return rie
}

// TestWorkflowUnderRIE runs the state machine with this test binary as the
// Inference and Failure bootstraps (see TestMain), over a fake store.
func TestWorkflowUnderRIE(t *testing.T) {
	rie := needRIE(t)
	urls := taskURLs{
		Inference: startRIE(t, rie, os.Args[0], lambdaEnv+"=inference"),
		Failure:   startRIE(t, rie, os.Args[0], lambdaEnv+"=failure"),
	}
	tests := []struct {
		id         string
		wantStatus string
		wantStates []string
		wantCalls  []string // state/error of each invocation
		wantReason string   // of the Failure function, when it runs
	}{
		{"done", "SUCCEEDED", []string{"Schedule", "Wait", "Inference", "Done"}, []string{"Inference/"}, ""},
		{"nope", "FAILED", []string{"Schedule", "Wait", "Inference", "Fail", "Failed"},
			[]string{"Inference/PredictionFailed", "Fail/"}, "prediction not found"},
		{"flaky", "SUCCEEDED", []string{"Schedule", "Wait", "Inference", "Done"},
			[]string{"Inference/InternalError", "Inference/"}, ""},
		{"down", "FAILED", []string{"Schedule", "Wait", "Inference", "Fail", "Failed"},
			[]string{"Inference/InternalError", "Inference/InternalError", "Inference/InternalError", "Inference/InternalError", "Fail/"},
			mlsvc.ReasonNotRun},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			input, _ := json.Marshal(stepfn.ExecutionInput{PredictionID: tt.id, DelaySeconds: 12, ReadyAt: "2026-12-01T05:00:00Z"})
			got := runWorkflow(t, urls, input)
			if got.Status != tt.wantStatus || !slices.Equal(got.States, tt.wantStates) || !slices.Equal(got.calls(), tt.wantCalls) {
				t.Errorf("got %s %v %v, want %s %v %v", got.Status, got.States, got.calls(), tt.wantStatus, tt.wantStates, tt.wantCalls)
			}
			if tt.wantReason != "" {
				if f := got.failure(t); f.Reason != tt.wantReason || f.PredictionID != tt.id {
					t.Errorf("Failure output %+v, want reason %q", f, tt.wantReason)
				}
			}
		})
	}
}

// taskURLs are the invoke URLs of the two functions the state machine calls.
type taskURLs struct{ Inference, Failure string }

// execution is what run-workflow.mjs prints.
type execution struct {
	Status      string `json:"status"`
	Error       string `json:"error"`
	Cause       string `json:"cause"`
	States      []string
	Invocations []struct {
		State    string          `json:"state"`
		Error    string          `json:"error"`
		Response json.RawMessage `json:"response"`
	}
	raw []byte
}

// calls lists the invocations as "state/errorType" ("state/" on success).
func (e *execution) calls() []string {
	var out []string
	for _, c := range e.Invocations {
		out = append(out, c.State+"/"+c.Error)
	}
	return out
}

// failure returns the output of the last Fail invocation.
func (e *execution) failure(t *testing.T) stepfn.FailureOutput {
	t.Helper()
	var out stepfn.FailureOutput
	for _, c := range e.Invocations {
		if c.State == "Fail" && c.Error == "" {
			if err := json.Unmarshal(c.Response, &out); err != nil {
				t.Fatalf("Failure output %s: %v", c.Response, err)
			}
		}
	}
	return out
}

// runWorkflow runs one execution of the state machine with input.
func runWorkflow(t *testing.T, urls taskURLs, input []byte) *execution {
	t.Helper()
	script, err := filepath.Abs("../../infra/test/run-workflow.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("../../infra/node_modules/aws-local-stepfunctions"); err != nil {
		t.Fatalf("infra/node_modules is not installed (cd infra && npm ci): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, string(input))
	cmd.Env = append(os.Environ(), "INFERENCE_URL="+urls.Inference, "FAILURE_URL="+urls.Failure)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run-workflow %s: %v\n%s", input, err, stderr.Bytes())
	}
	e := &execution{raw: out}
	if err := json.Unmarshal(out, e); err != nil {
		t.Fatalf("run-workflow output %s: %v", out, err)
	}
	t.Logf("execution %s: %s", input, out)
	return e
}

// startRIE runs bootstrap as a Lambda function under aws-lambda-rie on
// 127.0.0.1, with env added to this process's environment, and returns its
// invoke URL. The emulator is killed when t ends.
func startRIE(t *testing.T, rie, bootstrap string, env ...string) string {
	t.Helper()
	invokeAddr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = append(os.Environ(), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("aws-lambda-rie %s %v:\n%s", filepath.Base(bootstrap), env, logs.Bytes())
		}
	})
	testenv.WaitFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		c, err := net.Dial("tcp", invokeAddr)
		if err != nil {
			return fmt.Errorf("aws-lambda-rie does not listen on %s: %w", invokeAddr, err)
		}
		return c.Close()
	})
	return "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
}

// freeAddr returns a 127.0.0.1 address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
