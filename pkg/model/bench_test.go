package model

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchRows is the number of rows one benchmark operation predicts.
const benchRows = 100_000

// BenchmarkPredict times Predict on 100,000 rows per operation, for the
// reference fixtures and the published models, in wall time (ns/row) and in
// process CPU time (cpu-ns/row). tools/bench_models.sh runs it
// (with MLSVC_BENCH_ROWS: the float64 rows scikit-learn is timed on) and prints
// BENCH lines next to scikit-learn's own time.
func BenchmarkPredict(b *testing.B) {
	uniform := benchInputs(b, 5, true, func(r *rand.Rand, _ int) float64 { return r.Float64() })
	for _, bc := range []struct {
		name  string
		model func(b *testing.B) *Model
		x     func() []float64
	}{
		{"linear_fixture", func(b *testing.B) *Model {
			return mustParse(b, loadSKFixture(b, "linear_regression.json").envelope(b))
		}, func() []float64 { return uniform }},
		{"rf_fixture", func(b *testing.B) *Model {
			return mustParse(b, loadSKFixture(b, "random_forest.json").envelope(b))
		}, func() []float64 { return uniform }},
		{"catboost_deep_trees_fixture", func(b *testing.B) *Model {
			return parseFile(b, filepath.Join(fixtureDir(b, "catboost"), "maxpoletaev", "deep_trees_model.json"))
		}, func() []float64 {
			return benchInputs(b, 8, false, func(r *rand.Rand, _ int) float64 { return r.NormFloat64() })
		}},
		// The shape of XGBoost's GBDT peer in tools/bench_models.sh: 300
		// oblivious trees of depth 6 on the same 5 uniform features.
		{"catboost_300x6", func(b *testing.B) *Model {
			return mustParse(b, synthCatBoost{trees: 300, depth: 6, features: 5, borders: 254, seed: 1}.json(b))
		}, func() []float64 { return uniform }},
		{"lr", publishedModel("lr.json"), publishedInputs(b)},
		{"rf", publishedModel("rf.json"), publishedInputs(b)},
		{"cb", publishedModel("cb.json"), publishedInputs(b)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := bc.model(b)
			x := bc.x()
			out := make([]float64, benchRows)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for b.Loop() {
				m.Predict(x, benchRows, out)
			}
			cpu := processCPU() - cpu0
			nsPerRow := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / benchRows
			b.ReportMetric(nsPerRow, "ns/row")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/benchRows, "cpu-ns/row")
			}
			if v := m.nodeVisitsPerRow(); v > 0 {
				b.ReportMetric(v, "visits/row")
			}
		})
	}
}

// nodeVisitsPerRow is the number of split tests one row costs (0 for linear).
func (m *Model) nodeVisitsPerRow() float64 {
	switch e := m.eval.(type) {
	case *ensemble:
		if len(e.gnodes) > 0 {
			return 0 // data-dependent
		}
		v := 0
		for _, t := range e.trees {
			v += int(t.depth)
		}
		return float64(v)
	case *oblivious:
		return float64(len(e.splits))
	}
	return 0
}

func parseFile(b *testing.B, path string) *Model {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return mustParse(b, data)
}

func publishedModel(name string) func(b *testing.B) *Model {
	return func(b *testing.B) *Model { return parseFile(b, filepath.Join("..", "..", "catalog", name)) }
}

// publishedInputs draws rows like the published models' training data.
func publishedInputs(b *testing.B) func() []float64 {
	return func() []float64 {
		return benchInputs(b, 5, false, func(r *rand.Rand, j int) float64 {
			switch j {
			case 2:
				return 30 * r.Float64()
			case 3:
				return math.Exp(4 + 0.45*r.NormFloat64())
			case 4:
				return 10 + 30*r.Float64()
			}
			return r.Float64()
		})
	}
}

// benchInputs returns benchRows rows of nf features. With fromFile, they are
// the rows in the file named by $MLSVC_BENCH_ROWS (little-endian float64,
// row-major: the rows scikit-learn is timed on) if it is set; otherwise rows
// drawn by gen from a fixed seed.
func benchInputs(b *testing.B, nf int, fromFile bool, gen func(r *rand.Rand, j int) float64) []float64 {
	x := make([]float64, benchRows*nf)
	if path := os.Getenv("MLSVC_BENCH_ROWS"); fromFile && path != "" {
		data, err := os.ReadFile(path)
		if err != nil || len(data) != 8*len(x) {
			b.Fatalf("MLSVC_BENCH_ROWS=%s: want %d float64 values (%v)", path, len(x), err)
		}
		for i := range x {
			x[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
		return x
	}
	r := rand.New(rand.NewPCG(123, 456))
	for i := range x {
		x[i] = gen(r, i%nf)
	}
	return x
}
