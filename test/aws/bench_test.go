package awstest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"mlsvc/pkg/stepfn"
)

var invokeDuration = regexp.MustCompile(`INVOKE RTDONE\(status: success, produced bytes: [0-9]+, duration: ([0-9.]+)ms\)`)

// durations are the handler durations aws-lambda-rie reported for the
// function's successful invocations so far, in ms.
func (f *function) durations() []float64 {
	var ms []float64
	for _, m := range invokeDuration.FindAllStringSubmatch(f.out.String(), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		ms = append(ms, v)
	}
	return ms
}

// TestWarmDuration measures each bootstrap's warm handler duration under
// aws-lambda-rie, as the Lambda bills it (from the invoke to the handler's
// answer), against DynamoDB Local and the in-process S3, with the deployed
// bcrypt cost (10). It prints "WARM <name> median_ms=<x> p90_ms=<y> n=<N>"
// per function, from N invocations after the first (cold) one, which
// docs/COST.md uses. A measurement, not a check: it runs only with
// MLSVC_BENCH=1 (`make bench-coldstart`).
func TestWarmDuration(t *testing.T) {
	if os.Getenv("MLSVC_BENCH") != "1" {
		t.Skip("a measurement: `make bench-coldstart` runs it (MLSVC_BENCH=1)")
	}
	st := newStack(t)
	st.env = append(st.env, "MLSVC_BCRYPT_COST=10") // as deployed; the last value wins
	st.env = append(st.env, "MLSVC_RATE_LIMIT=off") // 21 calls in a row per function would be throttled at 20/s
	const n = 20
	auth := st.user("warm", 10_000)
	password := "correct horse warm"

	report := func(name string, f *function) {
		t.Helper()
		// aws-lambda-rie logs an invocation's end just after answering it.
		ms := f.durations()
		for deadline := time.Now().Add(2 * time.Second); len(ms) < n+1 && time.Now().Before(deadline); ms = f.durations() {
			time.Sleep(10 * time.Millisecond)
		}
		if len(ms) < 2 {
			t.Errorf("%s: %d invocations reported", name, len(ms))
			return
		}
		ms = ms[1:] // the first ran on a cold start
		slices.Sort(ms)
		fmt.Printf("WARM %s median_ms=%.1f p90_ms=%.1f n=%d\n", name, ms[len(ms)/2], ms[len(ms)*9/10], len(ms))
	}
	// measure invokes the function of name once cold and n times warm.
	measure := func(name string, call func(i int)) {
		t.Helper()
		for i := range n + 1 {
			call(i)
		}
		report(name, st.fn(name))
	}

	measure("register", func(i int) {
		decode(t, "POST /users", st.api("register", request(t, "register", "/users",
			map[string]string{"firstname": "W", "username": fmt.Sprintf("warm-%d", i), "password": password}, nil)), http.StatusCreated, nil)
	})
	measure("me", func(int) {
		decode(t, "GET /users/me", st.api("me", request(t, "me", "/users/me", nil, auth)), http.StatusOK, nil)
	})
	measure("topup", func(int) {
		decode(t, "POST /account/topup", st.api("topup", request(t, "topup", "/account/topup", map[string]any{"amount": 1}, auth)), http.StatusOK, nil)
	})
	measure("models", func(int) {
		decode(t, "GET /models", st.api("models", request(t, "models", "/models", nil, nil)), http.StatusOK, nil)
	})
	var ids []string
	measure("predict", func(int) {
		id, _ := st.predict(auth, "rf", rows)
		ids = append(ids, id)
	})
	measure("inference", func(i int) {
		if e := asError(st.fn("inference").invoke(t, stepfn.InferenceInput{PredictionID: ids[i]})); e != nil {
			t.Fatalf("inference: %s: %s", e.ErrorType, e.ErrorMessage)
		}
	})
	measure("prediction", func(i int) {
		decode(t, "GET /predict/{id}", st.api("prediction", request(t, "prediction", "/predict/"+ids[i], nil, auth)), http.StatusOK, nil)
	})
	measure("download", func(i int) {
		decode(t, "GET /predict/{id}/download", st.api("download", request(t, "download", "/predict/"+ids[i]+"/download", nil, auth)), http.StatusFound, nil)
	})
	measure("predictions", func(int) {
		decode(t, "GET /predictions", st.api("predictions", request(t, "predictions", "/predictions", nil, auth)), http.StatusOK, nil)
	})
	measure("web", func(int) { st.fn("web").invoke(t, sampleRequest(t, "web")) })
	ids = ids[:0]
	for range n + 1 {
		id, _ := st.predict(auth, "lr", rows)
		ids = append(ids, id)
	}
	measure("failure", func(i int) {
		in := stepfn.FailureInput{PredictionID: ids[i], Error: &stepfn.TaskError{Error: "States.Timeout"}}
		if e := asError(st.fn("failure").invoke(t, in)); e != nil {
			t.Fatalf("failure: %s: %s", e.ErrorType, e.ErrorMessage)
		}
	})
	measure("sweeper", func(int) { st.fn("sweeper").invoke(t, sampleRequest(t, "sweeper")) })
	// A webhooks pass with nothing due: the scheduled run of every minute.
	measure("webhooks", func(int) { st.fn("webhooks").invoke(t, sampleRequest(t, "webhooks")) })

	// The largest prediction: 10,000 rows of the random forest (50 trees).
	big := make([]map[string]float64, 10_000)
	for i := range big {
		big[i] = map[string]float64{}
		for j := range 5 {
			big[i][fmt.Sprintf("feature_%d", j)] = rand.Float64()
		}
	}
	for range 3 {
		id, _ := st.predict(auth, "rf", big)
		if e := asError(st.fn("inference").invoke(t, stepfn.InferenceInput{PredictionID: id})); e != nil {
			t.Fatalf("inference of 10,000 rows: %s: %s", e.ErrorType, e.ErrorMessage)
		}
	}
	ms := st.fn("inference").durations()
	ms = ms[len(ms)-3:]
	slices.Sort(ms)
	fmt.Printf("WARM inference(10000 rows, rf) median_ms=%.1f max_ms=%.1f n=3\n", ms[1], ms[2])
	// And the predict function's side of it.
	pd := st.fn("predict").durations()
	pd = pd[len(pd)-3:]
	slices.Sort(pd)
	fmt.Printf("WARM predict(10000 rows) median_ms=%.1f max_ms=%.1f n=3\n", pd[1], pd[2])
}
