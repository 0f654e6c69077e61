package awstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"mlsvc/pkg/stepfn"
)

// stop serves StopExecution: recorded, and refused (an AccessDenied) while
// refuse is set, so a test shows the refund does not depend on it.
func (f *fakeSFN) stop(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"InvalidArn","message":%q}`, err.Error())
		return
	}
	f.mu.Lock()
	f.stops = append(f.stops, in.ExecutionArn)
	f.mu.Unlock()
	if f.refuse.Load() {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"AccessDeniedException","message":"fake sfn: refused"}`)
		return
	}
	fmt.Fprintf(w, `{"stopDate":%d}`, time.Now().Unix())
}

func (f *fakeSFN) stopped() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.stops...)
}

func (st *stack) cancel(auth *signedIn, id string) events.APIGatewayV2HTTPResponse {
	st.t.Helper()
	return st.api("cancel", request(st.t, "cancel", "/predict/"+id+"/cancel", nil, auth))
}

// TestCancel drives the cancel bootstrap: the prediction is canceled and
// refunded once, its execution stopped, and a late run of the workflow
// changes nothing. It opens as the other bootstrap tests do (a user who
// paid for a pending prediction; TestExecutionEndedRefunds too).
func TestCancel(t *testing.T) {
	st := newStack(t)
	auth := st.user("frank", 100)
	id, input := st.predict(auth, "lr", rows)
	if got := st.balance(auth); got != "90" {
		t.Fatalf("balance after a prediction of lr (10) = %s, want 90", got)
	}
	other := st.user("grace", 0)
	decode(t, "cancel someone else's", st.cancel(other, id), http.StatusNotFound, nil)
	decode(t, "cancel without credentials", st.cancel(nil, id), http.StatusUnauthorized, nil)

	var out struct{ ID, Status string }
	decode(t, "POST /predict/{id}/cancel", st.cancel(auth, id), http.StatusOK, &out)
	if out.ID != id || out.Status != "canceled" {
		t.Errorf("cancel = %+v, want %s canceled", out, id)
	}
	if got := st.balance(auth); got != "100" {
		t.Errorf("balance after cancel = %s, want 100", got)
	}
	if stops := st.sfn.stopped(); len(stops) != 1 || stops[0] != stepfn.ExecutionARN(stateMachineARN, id) {
		t.Errorf("StopExecution calls %q, want one of %s", stops, stepfn.ExecutionARN(stateMachineARN, id))
	}
	decode(t, "cancel again", st.cancel(auth, id), http.StatusConflict, nil)

	// An execution that was not stopped in time finds it final.
	run := st.runWorkflow(input)
	if run.Status != "SUCCEEDED" {
		t.Errorf("late workflow: %+v, want SUCCEEDED (changing nothing)", run)
	}
	if p := st.prediction(auth, id); p.Status != "canceled" || p.OutputData != nil {
		t.Errorf("after a late workflow: %+v, want canceled without output", p)
	}
	if got := st.balance(auth); got != "100" {
		t.Errorf("balance after a late workflow = %s, want 100 (refunded once)", got)
	}

	// A failed StopExecution does not undo or block the refund.
	st.sfn.refuse.Store(false)
	id2, _ := st.predict(auth, "lr", rows)
	st.sfn.refuse.Store(true)
	decode(t, "cancel with StopExecution refused", st.cancel(auth, id2), http.StatusOK, &out)
	st.sfn.refuse.Store(false)
	if got := st.balance(auth); got != "100" || out.Status != "canceled" {
		t.Errorf("after a cancel whose stop failed: status %s, balance %s; want canceled, 100", out.Status, got)
	}
}

// TestCancelRacesInference invokes the cancel and inference bootstraps at
// once for each of several predictions: each ends canceled (and refunded)
// or completed (and charged), never both.
func TestCancelRacesInference(t *testing.T) {
	st := newStack(t)
	auth := st.user("heidi", 100)
	const n = 6
	ids := make([]string, n)
	for i := range ids {
		ids[i], _ = st.predict(auth, "lr", rows)
	}
	cancelFn, inferenceFn := st.fn("cancel"), st.fn("inference")
	canceled := 0
	for i, id := range ids {
		var wg sync.WaitGroup
		var cancelRaw, inferRaw []byte
		// The cancel starts later each round, so both orders happen.
		lag := time.Duration(i) * 15 * time.Millisecond
		wg.Go(func() {
			time.Sleep(lag)
			cancelRaw = cancelFn.invoke(t, request(t, "cancel", "/predict/"+id+"/cancel", nil, auth))
		})
		wg.Go(func() { inferRaw = inferenceFn.invoke(t, map[string]string{"prediction_id": id}) })
		wg.Wait()
		if e := asError(inferRaw); e != nil {
			t.Fatalf("inference of %s: %s: %s", id, e.ErrorType, e.ErrorMessage)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(cancelRaw, &resp); err != nil {
			t.Fatalf("cancel of %s: %s: %v", id, cancelRaw, err)
		}
		p := st.prediction(auth, id)
		switch {
		case resp.StatusCode == http.StatusOK && p.Status == "canceled" && p.OutputData == nil:
			canceled++
		case resp.StatusCode == http.StatusConflict && p.Status == "completed":
		default:
			t.Errorf("%s: cancel answered %d (%s), status %s", id, resp.StatusCode, resp.Body, p.Status)
		}
	}
	if got, want := st.balance(auth), fmt.Sprint(100-10*(n-canceled)); got != want {
		t.Errorf("balance = %s after %d of %d canceled, want %s", got, canceled, n, want)
	}
	t.Logf("%d of %d canceled, the others completed", canceled, n)
}
