package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mlsvc/internal/testenv"
)

// runPredictCSV runs `mlsvc predict` and returns its CSV output.
func runPredictCSV(t *testing.T, args ...string) [][]string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := runPredict(context.Background(), args, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("mlsvc predict %v: %v\n%s", args, err, stderr.String())
	}
	records, err := csv.NewReader(&stdout).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v", err)
	}
	return records
}

func TestPredictCommandPublishedModels(t *testing.T) {
	models := filepath.Join("..", "..", "catalog")
	expected := readCSVFile(t, filepath.Join(models, "sample_expected.csv"))
	for _, name := range []string{"lr", "rf", "cb"} {
		t.Run(name, func(t *testing.T) {
			out := runPredictCSV(t, "--model", filepath.Join(models, name+".json"), "--input", filepath.Join(models, "sample_data.csv"))
			if got, want := strings.Join(out[0], ","), "feature_0,feature_1,feature_2,feature_3,feature_4,prediction"; got != want {
				t.Fatalf("header %s, want %s", got, want)
			}
			col := map[string]int{"lr": 5, "rf": 6, "cb": 7}[name]
			for i, rec := range out[1:] {
				got, _ := strconv.ParseFloat(rec[5], 64)
				want, _ := strconv.ParseFloat(expected[i+1][col], 64)
				if math.Abs(got-want) > 1e-12*math.Abs(want) {
					t.Errorf("row %d: prediction %v, want %v", i, got, want)
				}
				if strings.Join(rec[:5], ",") != strings.Join(expected[i+1][:5], ",") {
					t.Errorf("row %d: input columns %v not echoed as given (%v)", i, rec[:5], expected[i+1][:5])
				}
			}
		})
	}
}

// readCSVFile reads a whole CSV file, as pkg/model's TestPublishedModels
// reads catalog/sample_expected.csv: a few lines each test package keeps.
func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// TestPredictCommandExporter is the user's path end to end: export the
// reference scikit-learn models with tools/export_model.py, score the
// reference rows with `mlsvc predict`, and compare with scikit-learn's own
// predictions (random forest bit for bit, linear to 1e-12 relative).
func TestPredictCommandExporter(t *testing.T) {
	fixtures := os.Getenv("MLSVC_FIXTURES")
	if fixtures == "" {
		fixtures = filepath.Join("..", "..", "..", "shared", "fixtures")
	}
	fixtures = filepath.Join(fixtures, "sklearn")
	if _, err := os.Stat(fixtures); err != nil {
		testenv.Skip(t, "reference fixtures not found at %s (set MLSVC_FIXTURES): %v", fixtures, err)
	}
	py := ""
	for _, p := range []string{os.Getenv("MLSVC_PYTHON"), "python3", "/usr/bin/python3"} {
		if p != "" && exec.Command(p, "-c", "import sklearn, joblib").Run() == nil {
			py = p
			break
		}
	}
	testenv.Need(t, py != "", "no python3 with scikit-learn and joblib (apt-get install python3-sklearn python3-joblib)")
	for _, tc := range []struct {
		name string
		tol  float64 // relative; 0 = bit for bit
	}{{"random_forest", 0}, {"linear_regression", 1e-12}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			modelFile := filepath.Join(dir, "model.json")
			cmd := exec.Command(py, filepath.Join("..", "..", "tools", "export_model.py"),
				filepath.Join(fixtures, tc.name+".joblib"), "-o", modelFile)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("export_model.py: %v\n%s", err, msg)
			}
			var ref struct {
				FeatureNames    []string    `json:"feature_names"`
				TestInputs      [][]float64 `json:"test_inputs"`
				EdgeInputs      [][]float64 `json:"edge_inputs"`
				TestPredictions []float64   `json:"test_predictions"`
				EdgePredictions []float64   `json:"edge_predictions"`
			}
			data, err := os.ReadFile(filepath.Join(fixtures, tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			rows := append(ref.TestInputs, ref.EdgeInputs...)
			want := append(ref.TestPredictions, ref.EdgePredictions...)
			// The rows as CSV, each value written so that it parses back exactly.
			var in bytes.Buffer
			w := csv.NewWriter(&in)
			w.Write(ref.FeatureNames)
			for _, row := range rows {
				rec := make([]string, len(row))
				for j, v := range row {
					rec[j] = strconv.FormatFloat(v, 'g', -1, 64)
				}
				w.Write(rec)
			}
			w.Flush()
			inFile := filepath.Join(dir, "rows.csv")
			if err := os.WriteFile(inFile, in.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out := runPredictCSV(t, "--model", modelFile, "--input", inFile)
			if len(out) != len(rows)+1 || out[0][len(out[0])-1] != "prediction" {
				t.Fatalf("%d output records, header %v; want %d rows and a prediction column", len(out), out[0], len(rows)+1)
			}
			worst, exact := 0.0, 0
			for i, rec := range out[1:] {
				got, err := strconv.ParseFloat(rec[len(rec)-1], 64)
				if err != nil {
					t.Fatal(err)
				}
				if got == want[i] {
					exact++
				}
				rel := math.Abs(got-want[i]) / math.Abs(want[i])
				worst = math.Max(worst, rel)
				if (tc.tol == 0 && got != want[i]) || rel > tc.tol {
					t.Errorf("row %d: got %v, want %v (scikit-learn)", i, got, want[i])
				}
			}
			t.Logf("%s: %d rows (200 test + 40 on thresholds), %d bit-identical, max relative error %.3g", tc.name, len(want), exact, worst)
		})
	}
}

func TestPredictCommandInputs(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "catalog", "lr.json")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	row := `"feature_0":0.5,"feature_1":0.2,"feature_2":10,"feature_3":60,"feature_4":20`
	t.Run("json array with extra key", func(t *testing.T) {
		out := runPredictCSV(t, "--model", model, "--input", write("rows.json", `[{`+row+`,"id":"a"},{`+row+`,"id":"b"}]`))
		if got := strings.Join(out[0], ","); got != "feature_0,feature_1,feature_2,feature_3,feature_4,id,prediction" || len(out) != 3 || out[2][5] != "b" {
			t.Errorf("output %v", out)
		}
	})
	t.Run("json object from stdin", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := runPredict(context.Background(), []string{"--model", model, "--input", "-", "--format", "json"},
			strings.NewReader(`{`+row+`}`), &stdout, &stderr)
		if err != nil || strings.Count(stdout.String(), "\n") != 2 {
			t.Errorf("err %v, output %q, stderr %q", err, stdout.String(), stderr.String())
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error; "" means errUsage
	}{
		{"no flags", nil, ""},
		{"unknown flag", []string{"--nope"}, ""},
		{"extra argument", []string{"--model", model, "--input", "x.csv", "more"}, ""},
		{"missing model file", []string{"--model", filepath.Join(dir, "none.json"), "--input", "x.csv"}, "no such file"},
		{"bad model file", []string{"--model", write("bad.json", `{"format":"magic"}`), "--input", "x.csv"}, `unknown model format "magic"`},
		{"bad row", []string{"--model", model, "--input", write("bad.csv", "feature_0,feature_1,feature_2,feature_3,feature_4\n1,2,3,4,5\n1,2,x,4,5\n")},
			`row 1, field "feature_2": not a number`},
		{"unknown extension", []string{"--model", model, "--input", "rows.txt"}, "--format"},
		{"bad format", []string{"--model", model, "--input", "rows.csv", "--format", "xml"}, "--format must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runPredict(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
			switch {
			case err == nil:
				t.Fatalf("no error; output %q", stdout.String())
			case tc.want == "" && !errors.Is(err, errUsage):
				t.Errorf("error %v, want a usage error", err)
			case tc.want == "" && !strings.Contains(stderr.String(), "usage: mlsvc predict"):
				t.Errorf("stderr %q does not show the usage", stderr.String())
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("wrote %q to stdout on error", stdout.String())
			}
		})
	}
}
