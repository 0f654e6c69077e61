package model

import (
	"encoding/csv"
	"math"
	"mlsvc/pkg/rowio"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestPublishedModels loads models/*.json (written by tools/train_models.py)
// and checks their metadata and their predictions on catalog/sample_data.csv
// against the numbers the training script computed in Python
// (catalog/sample_expected.csv).
func TestPublishedModels(t *testing.T) {
	dir := filepath.Join("..", "..", "catalog")
	// Read as cmd/mlsvc's readCSVFile reads it: a few lines each test
	// package keeps (pkg/model imports nothing of the service).
	f, err := os.Open(filepath.Join(dir, "sample_expected.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, records := records[0], records[1:]
	col := map[string]int{}
	for j, h := range header {
		col[h] = j
	}
	quality := map[string]float64{}
	for _, tc := range []struct {
		file, name, format string
		tol                float64 // relative; 0 = bit for bit
	}{
		{"lr", "Risk Assessment Model", FormatLinear, 1e-12},
		{"rf", "Return Prediction Model", FormatTreeEnsemble, 0},
		{"cb", "Premium Analysis Model", FormatCatBoost, 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file+".json"))
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, data)
			info := m.Info()
			if info.Name != tc.name || info.Format != tc.format || info.Quality == nil || info.Quality.Metric != "r2" {
				t.Fatalf("Info() = %+v (quality %+v)", info, info.Quality)
			}
			quality[tc.file] = info.Quality.Value
			in, err := os.Open(filepath.Join(dir, "sample_data.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			rows, err := rowio.ParseCSV(in, m.Features(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if rows.N != len(records) {
				t.Fatalf("sample_data.csv has %d rows, sample_expected.csv %d", rows.N, len(records))
			}
			got := make([]float64, rows.N)
			m.Predict(rows.X, rows.N, got)
			worst := 0.0
			for i, rec := range records {
				want, err := strconv.ParseFloat(rec[col[tc.file]], 64)
				if err != nil {
					t.Fatal(err)
				}
				rel := math.Abs(got[i]-want) / math.Max(math.Abs(want), 1e-300)
				if rel > tc.tol {
					t.Errorf("row %d: got %v, want %v (Python)", i, got[i], want)
				}
				worst = math.Max(worst, rel)
			}
			t.Logf("%s: R² %.4f, %d rows, max relative error vs Python %.3g", tc.name, info.Quality.Value, rows.N, worst)
		})
	}
	// The pricier model is the better one.
	if !(quality["lr"] < quality["rf"] && quality["rf"] < quality["cb"]) {
		t.Errorf("held-out R²: lr %v, rf %v, cb %v; want lr < rf < cb", quality["lr"], quality["rf"], quality["cb"])
	}
}
