package awstest

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestPreferWait: the prediction function holds GET /predict/{id} with
// Prefer: wait until the inference function (another process) completes
// the prediction, and answers a pending one after the wait otherwise. It
// opens as TestWebhookSecret does, with a stack and a funded user.
func TestPreferWait(t *testing.T) {
	st := newStack(t)
	auth := st.user("ivan", 100)
	id, _ := st.predict(auth, "lr", rows)
	get := func(prefer string) (events.APIGatewayV2HTTPResponse, predictionView, time.Duration) {
		ev := request(t, "prediction", "/predict/"+id, nil, auth)
		ev.Headers["prefer"] = prefer
		start := time.Now()
		resp := st.api("prediction", ev)
		var v predictionView
		decode(t, "GET /predict/{id} with "+prefer, resp, http.StatusOK, &v)
		return resp, v, time.Since(start)
	}
	st.fn("inference") // started (cold) before the timing below

	resp, v, took := get("wait=1")
	if v.Status != "pending" || responseHeader(resp, "Preference-Applied") != "wait=1" || took < time.Second {
		t.Errorf("wait=1 on a pending prediction: %s, Preference-Applied %q, after %v; want pending after 1 s",
			v.Status, responseHeader(resp, "Preference-Applied"), took)
	}
	resp, _, _ = get("wait=oops")
	if h := responseHeader(resp, "Preference-Applied"); h != "" {
		t.Errorf("a malformed preference was applied: %q", h)
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(300 * time.Millisecond)
		raw := st.fn("inference").invoke(t, map[string]string{"prediction_id": id})
		if e := asError(raw); e != nil {
			t.Errorf("inference: %s: %s", e.ErrorType, e.ErrorMessage)
		}
	})
	resp, v, took = get("wait=60") // clamped to 20 s on Lambda
	wg.Wait()
	if v.Status != "completed" || v.OutputData == nil || took > 10*time.Second {
		t.Errorf("wait=60 while the inference runs: %+v after %v; want completed", v, took)
	}
	if h := responseHeader(resp, "Preference-Applied"); h != "wait=20" {
		t.Errorf("Preference-Applied %q, want wait=20 (the Lambda maximum)", h)
	}
	var body map[string]any
	json.Unmarshal([]byte(resp.Body), &body)
	if body["csv_url"] == nil {
		t.Errorf("the final answer has no csv_url: %s", resp.Body)
	}
}
