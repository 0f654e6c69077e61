package model

// Tree models evaluate rows in blocks. A block's inputs are converted to
// float32 once and stored feature-major (column j of the block at
// buf[j*stride : j*stride+rows]) in a scratch array on the stack, so that a
// split on feature j for row r reads buf[j*stride+r]: one add, and for
// oblivious trees a contiguous column.

const (
	scratchFloats = 4096 // float32s of the on-stack block (a power of two)
	maxBlock      = 256  // rows per block at most
)

// blockStride is the number of rows per block for nf features: as many as fit
// in the scratch array, at most maxBlock, at least 1 (then nf > scratchFloats
// and the caller must use a heap buffer of nf floats).
func blockStride(nf int) int {
	return max(1, min(maxBlock, scratchFloats/nf))
}

// loadBlock converts rows of x (row-major float64) to float32 into buf
// (feature-major, the given stride), replacing NaN by nanFill[j].
func loadBlock(buf []float32, x []float64, nf, stride, rows int, nanFill []float32) {
	for j, fill := range nanFill[:nf] {
		col := buf[j*stride : j*stride+rows]
		for r := range col {
			v := float32(x[r*nf+j])
			if v != v {
				v = fill
			}
			col[r] = v
		}
	}
}
