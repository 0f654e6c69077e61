package catalog

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/model"
	"mlsvc/pkg/rowio"
)

var update = flag.Bool("update", false, "rewrite catalog.json from the model files")

// TestCatalogMatchesFiles: catalog.json says what the model files say.
func TestCatalogMatchesFiles(t *testing.T) {
	want, err := catalogFromFiles()
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if *update {
		if err := os.WriteFile("catalog.json", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(data, catalogJSON) && !*update {
		t.Errorf("catalog.json is stale: run go test ./catalog -update\nwant:\n%s", data)
	}
	got, err := Entries()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d models, want 3", len(got))
	}
	for i, m := range got {
		if m.ID != want[i].ID || m.Cost != mlsvc.Cents(want[i].CostCents) || m.Metric != "r2" || m.Score <= 0 {
			t.Errorf("model %d = %+v", i, m)
		}
	}
	if got[0].Cost.String() != "10" || got[1].Cost.String() != "15" || got[2].Cost.String() != "20" {
		t.Errorf("prices %s %s %s, want 10 15 20 (SPEC.md)", got[0].Cost, got[1].Cost, got[2].Cost)
	}
}

// TestSampleDataScores: every published model scores the sample rows.
func TestSampleDataScores(t *testing.T) {
	sample, err := os.ReadFile("sample_data.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range published {
		data, _ := Files.ReadFile(p.id + ".json")
		pm, err := model.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := rowio.ParseCSV(bytes.NewReader(sample), pm.Features(), mlsvc.MaxRows)
		if err != nil {
			t.Fatalf("%s: %v", p.id, err)
		}
		if got := len(rowio.Predict(pm, rows)); got != rows.N || got == 0 {
			t.Errorf("%s: %d predictions for %d rows", p.id, got, rows.N)
		}
	}
}
