package local_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

// doPrefer sends a request with a Prefer header and returns the status,
// the Preference-Applied header and the decoded body.
func (c *client) doPrefer(method, path, body, prefer string) (int, string, predictionJSON) {
	c.a.t.Helper()
	code, hdr, answer := c.send(method, path, jsonType(body), body, "Prefer", prefer)
	data := []byte(answer)
	var p predictionJSON
	if err := json.Unmarshal(data, &p); err != nil {
		c.a.t.Fatalf("%s %s: %s: %v", method, path, data, err)
	}
	if p.ID == "" { // the 202 answer names it prediction_id
		var accepted struct {
			PredictionID string `json:"prediction_id"`
			Status       string `json:"status"`
		}
		json.Unmarshal(data, &accepted)
		p.ID, p.Status = accepted.PredictionID, accepted.Status
	}
	return code, hdr.Get("Preference-Applied"), p
}

// TestPreferWaitCompletes: with no workflow delay, POST /predict with
// Prefer: wait answers with the completed prediction.
func TestPreferWaitCompletes(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{Min: 200 * time.Millisecond, Max: 200 * time.Millisecond})
	ann := a.register("ann", "100")
	code, applied, p := ann.doPrefer("POST", "/predict", fmt.Sprintf(`{"model_id":"lr","input_data":%s}`, rows), "wait=10")
	if code != 200 || applied != "wait=10" || p.Status != "completed" || p.OutputData == nil || len(p.OutputData.Predictions) != 2 || p.CSVURL == "" {
		t.Fatalf("POST /predict, Prefer: wait=10: %d, Preference-Applied %q, %+v; want 200, wait=10, the completed prediction", code, applied, p)
	}
	// Once final, GET with wait answers at once.
	start := time.Now()
	code, _, q := ann.doPrefer("GET", "/predict/"+p.ID, "", "wait=10")
	if code != 200 || q.Status != "completed" || time.Since(start) > time.Second {
		t.Errorf("GET of a completed prediction with wait: %d %s after %v", code, q.Status, time.Since(start))
	}
}

// TestPreferWaitTimesOut: a prediction that takes longer than the wait
// gets the normal answers after it; malformed preferences are ignored.
func TestPreferWaitTimesOut(t *testing.T) {
	a := open(t, t.TempDir(), mlsvc.Delay{Min: time.Hour, Max: time.Hour})
	ann := a.register("ann", "100")
	start := time.Now()
	code, applied, p := ann.doPrefer("POST", "/predict", fmt.Sprintf(`{"model_id":"lr","input_data":%s}`, rows), "wait=1")
	took := time.Since(start)
	if code != 202 || p.Status != "pending" || applied != "wait=1" || took < time.Second || took > 3*time.Second {
		t.Fatalf("POST /predict, wait=1, an hour's delay: %d %q %+v after %v; want 202 pending after about 1 s", code, applied, p, took)
	}
	start = time.Now()
	code, applied, q := ann.doPrefer("GET", "/predict/"+p.ID, "", "wait=1")
	if took := time.Since(start); code != 200 || q.Status != "pending" || applied != "wait=1" || took < time.Second {
		t.Errorf("GET, wait=1: %d %q %s after %v; want pending after 1 s", code, applied, q.Status, took)
	}
	for _, bad := range []string{"wait=abc", "wait=-5", "wait=0", "wait"} {
		start = time.Now()
		code, applied, _ := ann.doPrefer("GET", "/predict/"+p.ID, "", bad)
		if code != 200 || applied != "" || time.Since(start) > 500*time.Millisecond {
			t.Errorf("Prefer: %s: %d, Preference-Applied %q after %v; want 200 at once, not applied", bad, code, applied, time.Since(start))
		}
	}
	// A cancel during a wait ends it at once (the broker, not a poll).
	go func() {
		time.Sleep(200 * time.Millisecond)
		ann.do("POST", "/predict/"+p.ID+"/cancel", "", nil)
	}()
	start = time.Now()
	code, _, q = ann.doPrefer("GET", "/predict/"+p.ID, "", "wait=30")
	if took := time.Since(start); code != 200 || q.Status != "canceled" || took > 900*time.Millisecond {
		t.Errorf("GET, wait=30, canceled at 200 ms: %d %s after %v", code, q.Status, took)
	}
	// Someone else's is still 404, wait or not.
	bob := a.register("bob", "")
	if code, _, _ := bob.doPrefer("GET", "/predict/"+p.ID, "", "wait=5"); code != 404 {
		t.Errorf("someone else's with wait: %d, want 404", code)
	}
}
