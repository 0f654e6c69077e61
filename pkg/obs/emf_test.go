package obs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mlsvc/catalog"
	"mlsvc/internal/localtest"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/obs"
)

// documented reads the business metrics' table of docs/OPERATIONS.md:
// metric name → unit.
func documented(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\| ([A-Za-z]+)[^|]*\\| [^|]+\\| [^|]+\\|$")
	units := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		units[m[1]] = m[2]
	}
	if len(units) != 8 {
		t.Fatalf("docs/OPERATIONS.md documents %d metrics (%v), want the table of 8", len(units), units)
	}
	return units
}

// emfLine is one parsed EMF line: its directive and its other members.
type emfLine struct {
	dims    [][]string
	metrics map[string]string // name → unit
	values  map[string]any
}

// parseEMF checks that each line of buf is an EMF line as CloudWatch
// requires and docs/OPERATIONS.md documents, and returns them.
func parseEMF(t *testing.T, buf *bytes.Buffer, units map[string]string) []emfLine {
	t.Helper()
	var out []emfLine
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var root map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &root); err != nil {
			t.Fatalf("EMF line is not a JSON object: %s", l)
		}
		var aws struct {
			Timestamp         *int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		dec := json.NewDecoder(bytes.NewReader(root["_aws"]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&aws); err != nil {
			t.Fatalf("_aws of %s: %v", l, err)
		}
		if aws.Timestamp == nil || time.Since(time.UnixMilli(*aws.Timestamp)).Abs() > time.Minute {
			t.Errorf("_aws.Timestamp is not now in epoch milliseconds: %s", l)
		}
		if len(aws.CloudWatchMetrics) != 1 {
			t.Fatalf("want one metric directive: %s", l)
		}
		d := aws.CloudWatchMetrics[0]
		if d.Namespace != "MLService" {
			t.Errorf("namespace %q: %s", d.Namespace, l)
		}
		var values map[string]any
		if err := json.Unmarshal([]byte(l), &values); err != nil {
			t.Fatal(err)
		}
		e := emfLine{dims: d.Dimensions, metrics: map[string]string{}, values: values}
		for _, set := range d.Dimensions {
			for _, k := range set {
				if _, ok := values[k].(string); !ok {
					t.Errorf("dimension %s has no string member: %s", k, l)
				}
			}
		}
		if len(d.Metrics) == 0 {
			t.Errorf("no metrics: %s", l)
		}
		for _, m := range d.Metrics {
			want, ok := units[m.Name]
			if !ok {
				t.Errorf("metric %s is not documented: %s", m.Name, l)
			} else if m.Unit != want {
				t.Errorf("metric %s in %s, documented in %s", m.Name, m.Unit, want)
			}
			if _, ok := values[m.Name].(float64); !ok {
				t.Errorf("metric %s has no number member: %s", m.Name, l)
			}
			e.metrics[m.Name] = m.Unit
		}
		out = append(out, e)
	}
	buf.Reset()
	return out
}

type workflow func(context.Context, *mlsvc.Prediction) error

func (f workflow) Start(ctx context.Context, p *mlsvc.Prediction) error { return f(ctx, p) }

// TestEMFFromTheDomain runs the domain with the Lambda functions' metrics
// and checks each event's line: what, per model and total, once.
func TestEMFFromTheDomain(t *testing.T) {
	units := documented(t)
	for name, unit := range map[string]string{
		obs.MetricCreated: obs.UnitCount, obs.MetricCompleted: obs.UnitCount, obs.MetricFailed: obs.UnitCount,
		obs.MetricCanceled: obs.UnitCount, obs.MetricRefunded: obs.UnitCount, obs.MetricRevenueCents: obs.UnitNone,
		obs.MetricInferenceDuration: obs.UnitMilliseconds, obs.MetricSettled: obs.UnitCount,
	} {
		if units[name] != unit {
			t.Errorf("%s: %s here, %q in docs/OPERATIONS.md", name, unit, units[name])
		}
	}

	ctx := context.Background()
	store, blobs := localtest.Open(t)
	var buf bytes.Buffer
	emf := obs.NewEMF(&buf, nil)
	var startErr error
	now := time.Now()
	clock := func() time.Time { return now }
	cfg := mlsvc.Config{
		Store: store, Blobs: blobs, Builtin: catalog.Files, BcryptCost: bcrypt.MinCost, Metrics: emf, Now: clock,
		Workflow: workflow(func(context.Context, *mlsvc.Prediction) error { return startErr }),
	}
	svc, worker := mlsvc.New(cfg), mlsvc.NewWorker(cfg)
	entries, err := catalog.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Seed(ctx, entries); err != nil {
		t.Fatal(err)
	}
	u, err := svc.Register(ctx, "Ann", "ann", "password-ann")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TopUp(ctx, u.ID, 100_00); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	predict := func(key string) *mlsvc.Prediction {
		t.Helper()
		p, _, err := svc.RequestPrediction(obs.With(ctx, "request_id", "req-"+key),
			mlsvc.PredictionRequest{UserID: u.ID, ModelID: "rf", IdempotencyKey: key},
			mlsvc.Input(`{"feature_0":1,"feature_1":2,"feature_2":3,"feature_3":4,"feature_4":5}`))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	perModel := func(t *testing.T, l emfLine, want map[string]float64) {
		t.Helper()
		if len(l.dims) != 2 || len(l.dims[0]) != 1 || l.dims[0][0] != "ModelId" || len(l.dims[1]) != 0 {
			t.Errorf("Dimensions %v, want [[ModelId] []]", l.dims)
		}
		if l.values["ModelId"] != "rf" {
			t.Errorf("ModelId %v", l.values["ModelId"])
		}
		if len(l.metrics) != len(want) {
			t.Errorf("metrics %v, want %v", l.metrics, want)
		}
		for k, v := range want {
			if got, _ := l.values[k].(float64); got != v && !(v < 0 && got >= 0) {
				t.Errorf("%s = %v, want %v", k, l.values[k], v)
			}
		}
	}

	// Charged: created and revenue, with the request's id.
	p := predict("one")
	ls := parseEMF(t, &buf, units)
	if len(ls) != 1 {
		t.Fatalf("%d lines after a charge, want 1", len(ls))
	}
	perModel(t, ls[0], map[string]float64{"PredictionsCreated": 1, "RevenueCents": float64(p.Cost)})
	if ls[0].values["request_id"] != "req-one" {
		t.Errorf("request_id %v", ls[0].values["request_id"])
	}
	// A replay charges nothing and counts nothing.
	predict("one")
	if ls := parseEMF(t, &buf, units); len(ls) != 0 {
		t.Errorf("a replay wrote %d lines", len(ls))
	}

	// Completed once, with the inference duration (-1: any value ≥ 0).
	for range 2 {
		if err := worker.RunPrediction(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	ls = parseEMF(t, &buf, units)
	if len(ls) != 1 {
		t.Fatalf("%d lines after two runs, want 1", len(ls))
	}
	perModel(t, ls[0], map[string]float64{"PredictionsCompleted": 1, "InferenceDuration": -1})

	// Failed and refunded once, however often the failure step runs.
	p = predict("two")
	parseEMF(t, &buf, units)
	for range 2 {
		if err := worker.FailPrediction(ctx, p.ID, mlsvc.ReasonNotRun); err != nil {
			t.Fatal(err)
		}
	}
	ls = parseEMF(t, &buf, units)
	if len(ls) != 1 {
		t.Fatalf("%d lines after two failures, want 1", len(ls))
	}
	perModel(t, ls[0], map[string]float64{"PredictionsFailed": 1, "PredictionsRefunded": 1})

	// A workflow that cannot start: charged, then failed and refunded.
	startErr = errors.New("no workflow")
	if _, _, err := svc.RequestPrediction(ctx, mlsvc.PredictionRequest{UserID: u.ID, ModelID: "rf"},
		mlsvc.Input(`{"feature_0":1,"feature_1":2,"feature_2":3,"feature_3":4,"feature_4":5}`)); mlsvc.ErrorCode(err) != mlsvc.EUnavailable {
		t.Fatalf("request with a broken workflow: %v", err)
	}
	startErr = nil
	ls = parseEMF(t, &buf, units)
	if len(ls) != 2 {
		t.Fatalf("%d lines for a prediction that could not start, want 2", len(ls))
	}
	perModel(t, ls[0], map[string]float64{"PredictionsCreated": 1, "RevenueCents": float64(p.Cost)})
	perModel(t, ls[1], map[string]float64{"PredictionsFailed": 1, "PredictionsRefunded": 1})

	// The sweeper: a stale one failed and refunded, and the count settled
	// as a total only (it has no model).
	predict("three")
	parseEMF(t, &buf, units)
	now = now.Add(mlsvc.StaleAfter + time.Minute)
	if n, err := worker.SettleStale(ctx); n != 1 || err != nil {
		t.Fatalf("SettleStale = %d, %v", n, err)
	}
	ls = parseEMF(t, &buf, units)
	if len(ls) != 2 {
		t.Fatalf("%d lines after a sweep, want 2", len(ls))
	}
	perModel(t, ls[0], map[string]float64{"PredictionsFailed": 1, "PredictionsRefunded": 1})
	if s := ls[1]; len(s.dims) != 1 || len(s.dims[0]) != 0 || s.values["PredictionsSettled"] != 1.0 || len(s.metrics) != 1 {
		t.Errorf("settled line: dims %v, values %v", s.dims, s.values)
	}
}

// TestEMFCanceled: a cancellation is counted as canceled and refunded.
func TestEMFCanceled(t *testing.T) {
	var buf bytes.Buffer
	obs.NewEMF(&buf, nil).PredictionFinished(context.Background(), "lr", "canceled", 10_00, 0)
	ls := parseEMF(t, &buf, documented(t))
	if len(ls) != 1 || ls[0].values["PredictionsCanceled"] != 1.0 || ls[0].values["PredictionsRefunded"] != 1.0 || len(ls[0].metrics) != 2 {
		t.Errorf("canceled: %v", ls)
	}
}
