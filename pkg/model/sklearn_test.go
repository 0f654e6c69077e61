package model

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSklearnLinearFixture(t *testing.T) {
	f := loadSKFixture(t, "linear_regression.json")
	m := mustParse(t, f.envelope(t))
	checkRelative(t, m, "test", f.TestInputs, f.TestPredictions, 1e-12)
	checkRelative(t, m, "edge", f.EdgeInputs, f.EdgePredictions, 1e-12)
}

func TestSklearnForestFixture(t *testing.T) {
	f := loadSKFixture(t, "random_forest.json")
	data := f.envelope(t)
	m := mustParse(t, data)
	if got := m.eval.(*ensemble); len(got.gnodes) != 0 {
		t.Errorf("fixture forest: %d nodes in the generic layout, want all trees complete", len(got.gnodes))
	}
	checkExact(t, m, "test", f.TestInputs, f.TestPredictions)
	checkExact(t, m, "edge", f.EdgeInputs, f.EdgePredictions)

	// The same trees in the generic layout must give the same bits.
	var tf treeFile
	if err := json.Unmarshal(data, &tf); err != nil {
		t.Fatal(err)
	}
	ens, err := buildEnsemble(&tf, len(f.FeatureNames), -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ens.cnodes) != 0 {
		t.Fatal("completeDepth -1 still built complete trees")
	}
	generic := &Model{features: f.FeatureNames, eval: ens}
	checkExact(t, generic, "test/generic", f.TestInputs, f.TestPredictions)
	checkExact(t, generic, "edge/generic", f.EdgeInputs, f.EdgePredictions)
}

// checkExact requires predictions equal to want bit for bit.
func checkExact(t *testing.T, m *Model, name string, rows [][]float64, want []float64) {
	t.Helper()
	got := make([]float64, len(rows))
	m.Predict(flatten(rows), len(rows), got)
	bad := 0
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			if bad++; bad <= 5 {
				t.Errorf("%s row %d: got %v, want %v (sklearn)", name, i, got[i], want[i])
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s: no reference predictions", name)
	}
	t.Logf("%s: %d/%d rows bit-identical", name, len(want)-bad, len(want))
	// In calls of a few rows, the kernels' tails (rows left after the groups
	// of 8) must give the same bits.
	nf := len(m.Features())
	x := flatten(rows)
	for _, chunk := range []int{1, 3, 13} {
		for start := 0; start < len(rows); start += chunk {
			n := min(chunk, len(rows)-start)
			m.Predict(x[start*nf:], n, got[start:])
		}
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s, %d rows per call: row %d: got %v, want %v (sklearn)", name, chunk, i, got[i], want[i])
			}
		}
	}
}

// checkRelative requires |got-want| <= tol·max(|want|, 1e-300) and logs the largest error.
func checkRelative(t *testing.T, m *Model, name string, rows [][]float64, want []float64, tol float64) {
	t.Helper()
	if len(want) == 0 || len(rows) != len(want) {
		t.Fatalf("%s: %d rows, %d reference predictions", name, len(rows), len(want))
	}
	got := make([]float64, len(rows))
	m.Predict(flatten(rows), len(rows), got)
	worst := 0.0
	for i := range want {
		rel := math.Abs(got[i]-want[i]) / math.Max(math.Abs(want[i]), 1e-300)
		if !(rel <= tol) {
			t.Errorf("%s row %d: got %v, want %v (relative error %.3g > %g)", name, i, got[i], want[i], rel, tol)
		}
		worst = math.Max(worst, rel)
	}
	t.Logf("%s: %d rows, max relative error %.3g", name, len(want), worst)
}

// TestExporterFixtures runs tools/export_model.py on the fixtures' .joblib
// files and checks the exported models against scikit-learn's predictions.
func TestExporterFixtures(t *testing.T) {
	dir := fixtureDir(t, "sklearn")
	py := findPython(t)
	for _, tc := range []struct {
		name  string
		exact bool
	}{
		{"linear_regression", false},
		{"random_forest", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tc.name+".json")
			cmd := exec.Command(py, filepath.Join("..", "..", "tools", "export_model.py"),
				filepath.Join(dir, tc.name+".joblib"), "-o", out,
				"--name", "fixture "+tc.name, "--metric-name", "r2", "--metric-value", "0.5")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("export_model.py: %v\n%s", err, msg)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, data)
			info := m.Info()
			if info.Name != "fixture "+tc.name || info.Library != "scikit-learn" || info.Quality == nil || *info.Quality != (Quality{"r2", 0.5}) {
				t.Errorf("Info() = %+v (quality %+v)", info, info.Quality)
			}
			f := loadSKFixture(t, tc.name+".json")
			if tc.exact {
				checkExact(t, m, "test", f.TestInputs, f.TestPredictions)
				checkExact(t, m, "edge", f.EdgeInputs, f.EdgePredictions)
			} else {
				checkRelative(t, m, "test", f.TestInputs, f.TestPredictions, 1e-12)
				checkRelative(t, m, "edge", f.EdgeInputs, f.EdgePredictions, 1e-12)
			}
		})
	}
}

// TestExporterEstimators trains every supported estimator (and a few
// unsupported ones) with testdata/sklearn_zoo.py, exports each, and compares
// Go's predictions with scikit-learn's: tree models bit for bit, linear models
// to 1e-12 relative.
func TestExporterEstimators(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: trains and exports 18 scikit-learn models (about 10 s)")
	}
	py := findPython(t)
	dir := t.TempDir()
	if msg, err := exec.Command(py, filepath.Join("testdata", "sklearn_zoo.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("sklearn_zoo.py: %v\n%s", err, msg)
	}
	var want struct {
		Inputs [][]float64 `json:"inputs"`
		Models map[string]struct {
			Exact       bool      `json:"exact"`
			Predictions []float64 `json:"predictions"`
		} `json:"models"`
		Unsupported map[string]string `json:"unsupported"`
	}
	readJSON(t, filepath.Join(dir, "expected.json"), &want)
	exporter := filepath.Join("..", "..", "tools", "export_model.py")
	for name, ref := range want.Models {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(dir, name+".json")
			if msg, err := exec.Command(py, exporter, filepath.Join(dir, name+".joblib"), "-o", out).CombinedOutput(); err != nil {
				t.Fatalf("export_model.py: %v\n%s", err, msg)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, data)
			if ref.Exact {
				checkExact(t, m, name, want.Inputs, ref.Predictions)
			} else {
				checkRelative(t, m, name, want.Inputs, ref.Predictions, 1e-12)
			}
		})
	}
	for name, class := range want.Unsupported {
		t.Run("unsupported/"+name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(py, exporter, filepath.Join(dir, name+".joblib"), "-o", filepath.Join(dir, name+".json"))
			msg, err := cmd.CombinedOutput()
			if err == nil || cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("export_model.py succeeded on %s, want an error", name)
			}
			if !strings.Contains(string(msg), class) {
				t.Errorf("error message %q does not name %q", msg, class)
			}
			t.Logf("exit %d: %s", cmd.ProcessState.ExitCode(), strings.TrimSpace(string(msg)))
		})
	}
}
