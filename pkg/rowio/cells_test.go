package rowio

import (
	"testing"
	"unicode/utf8"
)

// checkDenseCells checks the deprecated Rows.Cells against Cell; delete it
// with the field.
func checkDenseCells(t *testing.T, r *Rows) {
	t.Helper()
	if len(r.Cells) != r.N {
		t.Fatalf("N = %d, len(Cells) = %d", r.N, len(r.Cells))
	}
	for i, cells := range r.Cells {
		if len(cells) != len(r.Columns) {
			t.Fatalf("row %d has %d cells for %d columns", i, len(cells), len(r.Columns))
		}
		for j, c := range cells {
			if got := r.Cell(i, j); got != c || !utf8.ValidString(c) {
				t.Fatalf("Cell(%d, %d) = %q, Cells has %q", i, j, got, c)
			}
		}
	}
}
