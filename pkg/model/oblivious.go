package model

import (
	"encoding/binary"
	"slices"
	"sort"
)

// Oblivious (symmetric) trees, as CatBoost grows them, are evaluated the way
// CatBoost's own evaluator does: each row's features are binarized once
// against all the model's borders, then every tree's leaf index is a few bit
// operations on the binarized bytes, with no branch and no float comparison.
//
// Binarizing: for each input column the borders of all its splits are sorted
// and made unique (as float32). A row's value v becomes the count c of
// borders b with v > b (a branch-free binary search). Since the borders are
// sorted, v > b_k exactly when c > k. NaN counts as no border (AsFalse, AsIs)
// or every border (AsTrue).
//
// Counts are stored as bytes, one per row, so that one 64-bit word holds the
// same column for 8 consecutive rows. A column with more than 127 borders is
// cut into chunks of 127 (each its own byte: the count of that chunk's borders
// below v), so every count is at most 127, and the byte stored is 0x80 | count.
// Then for a split on local border k, (w - (k+1)·0x01…01) & 0x80…80 has the top
// bit of byte i set exactly when row i's count is ≥ k+1, with no borrow between
// bytes: one split for 8 rows in two operations (SWAR). Those top bits become
// bit d of the trees' leaf indices (see obliviousShallow); depth ≤ 8 fits in a
// byte per row, deeper trees use a second word for levels 8 to 15.

// chunkBorders is the number of borders one binarized byte covers.
const chunkBorders = 127

// scratchBins is the size in bytes of the on-stack binarized block.
const scratchBins = 16384

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// obliviousSpec is an oblivious-tree ensemble as read from a file.
type obliviousSpec struct {
	nf          int
	nanTrue     []bool           // per input column: NaN passes every split
	depths      []int            // per tree
	splits      []obliviousSplit // all trees' splits, level 0 first within a tree
	leaves      []float64        // all trees' leaves, 2^depth each
	scale, bias float64
}

type obliviousSplit struct {
	col    int32
	border float32
}

// oblivious is the compiled ensemble: prediction = scale·Σ leaves + bias, the
// leaves summed in tree order in float64 (as CatBoost does).
type oblivious struct {
	nf      int
	feats   []obFeature
	nChunks int // binarized bytes per row
	stride  int // rows per block, a multiple of 8
	trees   []obTree
	splits  []obSplit
	leaves  []float64
	scale   float64
	bias    float64
}

// obFeature is one input column that some split tests.
type obFeature struct {
	col      int
	borders  []float32 // sorted, unique
	nanCount int       // count for NaN: 0 or len(borders)
	chunk0   int       // its first binarized byte
	nChunks  int
}

type obTree struct {
	splitOff, depth, leafOff int32
}

// obSplit is one level of a tree: the top bit of byte i of
// (word - k) & swarHigh is row i's bit (obliviousDeep shifts it down by shift).
type obSplit struct {
	k     uint64 // (local border index + 1) in every byte
	off   int32  // chunk · stride: where the chunk's bytes start in a block
	shift uint32 // 7 - level%8
}

func newOblivious(s *obliviousSpec) *oblivious {
	ob := &oblivious{nf: s.nf, scale: s.scale, bias: s.bias}
	// Every column's borders, sorted and unique as float32.
	byCol := make([][]float32, s.nf)
	for _, sp := range s.splits {
		byCol[sp.col] = append(byCol[sp.col], sp.border)
	}
	featOf := make([]int, s.nf)
	for col, b := range byCol {
		featOf[col] = -1
		if len(b) == 0 {
			continue
		}
		slices.Sort(b)
		b = slices.Compact(b) // == merges -0 and +0, which compare alike
		f := obFeature{col: col, borders: b, chunk0: ob.nChunks, nChunks: (len(b) + chunkBorders - 1) / chunkBorders}
		if s.nanTrue[col] {
			f.nanCount = len(b)
		}
		featOf[col] = len(ob.feats)
		ob.feats = append(ob.feats, f)
		ob.nChunks += f.nChunks
	}
	ob.stride = maxBlock
	if ob.nChunks > 0 {
		ob.stride = max(8, min(maxBlock, scratchBins/ob.nChunks)&^7)
	}
	ob.trees = make([]obTree, 0, len(s.depths))
	ob.splits = make([]obSplit, 0, len(s.splits))
	ob.leaves = s.leaves
	splitOff, leafOff := 0, 0
	for _, depth := range s.depths {
		ob.trees = append(ob.trees, obTree{splitOff: int32(splitOff), depth: int32(depth), leafOff: int32(leafOff)})
		for d, sp := range s.splits[splitOff : splitOff+depth] {
			f := &ob.feats[featOf[sp.col]]
			k := sort.Search(len(f.borders), func(i int) bool { return f.borders[i] >= sp.border })
			ob.splits = append(ob.splits, obSplit{
				k:     uint64(k%chunkBorders+1) * swarOnes,
				off:   int32((f.chunk0 + k/chunkBorders) * ob.stride),
				shift: uint32(7 - d%8),
			})
		}
		splitOff += depth
		leafOff += 1 << depth
	}
	return ob
}

func (ob *oblivious) predict(x []float64, n int, out []float64) {
	var binBuf [scratchBins]byte
	var accBuf [maxBlock]float64
	stride := ob.stride
	bins := binBuf[:]
	if ob.nChunks*stride > len(bins) {
		bins = make([]byte, ob.nChunks*stride)
	}
	for start := 0; start < n; start += stride {
		rows := min(stride, n-start)
		ob.binarize(bins, x[start*ob.nf:], rows)
		// Rows past the last are padding up to a multiple of 8: their bytes
		// are stale but any byte gives an in-range leaf, and they are not output.
		acc := accBuf[:(rows+7)&^7]
		clear(acc)
		for _, t := range ob.trees {
			splits := ob.splits[t.splitOff : t.splitOff+t.depth]
			leaves := ob.leaves[t.leafOff : int(t.leafOff)+1<<t.depth]
			if t.depth == 6 {
				oblivious6(splits, leaves, bins, acc)
			} else if t.depth <= 8 {
				obliviousShallow(splits, leaves, bins, acc)
			} else {
				obliviousDeep(splits, leaves, bins, acc)
			}
		}
		for i, s := range acc[:rows] {
			out[start+i] = float64(ob.scale*s) + ob.bias
		}
	}
}

// binarize writes each row's border counts into bins (chunk c of row r at
// bins[c*stride+r]), each with the top bit set: (byte - (k+1)) then has its
// top bit set exactly when the count is ≥ k+1.
func (ob *oblivious) binarize(bins []byte, x []float64, rows int) {
	nf, stride := ob.nf, ob.stride
	var counts [maxBlock]int32
	cnt := counts[:rows]
	for i := range ob.feats {
		f := &ob.feats[i]
		b, nanCount := f.borders, int32(f.nanCount)
		col := x[f.col:]
		for r := range cnt {
			v := float32(col[r*nf])
			c := nanCount
			if v == v {
				c = int32(countBelow(b, v))
			}
			cnt[r] = c
		}
		for ch := range f.nChunks {
			dst := bins[(f.chunk0+ch)*stride:][:rows]
			first := int32(ch * chunkBorders)
			for r, c := range cnt {
				dst[r] = 0x80 | byte(min(max(c-first, 0), chunkBorders))
			}
		}
	}
}

// countBelow returns the number of elements of the sorted, non-empty b that
// are less than v, by a binary search whose steps compile to conditional
// moves rather than branches (the outcome of each step is unpredictable).
func countBelow(b []float32, v float32) int {
	base, n := 0, len(b)
	for n > 1 {
		half := n >> 1
		if b[base+half] < v {
			base += half
		}
		n -= half
	}
	if b[base] < v {
		base++
	}
	return base
}

// obliviousShallow adds one tree of depth ≤ 8 to acc, 8 rows per step. Each
// level shifts idx right by one and puts the level's bits at the top of each
// row's byte (bins bytes carry the top bit already, see binarize), so after
// depth levels bit d of the leaf index sits at bit 8-depth+d of the row's byte:
// one constant shift per level, none per split, and no bit crosses into the
// next row's byte. obliviousDeep is the same loop for depths 9 to 16, and
// walkComplete in ensemble.go the counterpart for scikit-learn trees.
func obliviousShallow(splits []obSplit, leaves []float64, bins []byte, acc []float64) {
	mask := uint64(len(leaves) - 1)
	align := uint(8 - len(splits))
	for g := 0; g+8 <= len(acc); g += 8 {
		var idx uint64
		for _, s := range splits {
			w := binary.LittleEndian.Uint64(bins[int(s.off)+g:])
			idx = idx>>1 | (w-s.k)&swarHigh
		}
		idx >>= align
		a := acc[g : g+8 : g+8]
		a[0] += leaves[idx&mask]
		a[1] += leaves[(idx>>8)&mask]
		a[2] += leaves[(idx>>16)&mask]
		a[3] += leaves[(idx>>24)&mask]
		a[4] += leaves[(idx>>32)&mask]
		a[5] += leaves[(idx>>40)&mask]
		a[6] += leaves[(idx>>48)&mask]
		a[7] += leaves[(idx>>56)&mask]
	}
}

// oblivious6 is obliviousShallow unrolled for depth 6 (CatBoost's default).
func oblivious6(splits []obSplit, leaves []float64, bins []byte, acc []float64) {
	splits = splits[:6]
	leaves = leaves[:64]
	k0, k1, k2, k3, k4, k5 := splits[0].k, splits[1].k, splits[2].k, splits[3].k, splits[4].k, splits[5].k
	o0, o1, o2, o3, o4, o5 := int(splits[0].off), int(splits[1].off), int(splits[2].off), int(splits[3].off), int(splits[4].off), int(splits[5].off)
	for g := 0; g+8 <= len(acc); g += 8 {
		idx := (binary.LittleEndian.Uint64(bins[o0+g:]) - k0) & swarHigh
		idx = idx>>1 | (binary.LittleEndian.Uint64(bins[o1+g:])-k1)&swarHigh
		idx = idx>>1 | (binary.LittleEndian.Uint64(bins[o2+g:])-k2)&swarHigh
		idx = idx>>1 | (binary.LittleEndian.Uint64(bins[o3+g:])-k3)&swarHigh
		idx = idx>>1 | (binary.LittleEndian.Uint64(bins[o4+g:])-k4)&swarHigh
		idx = idx>>1 | (binary.LittleEndian.Uint64(bins[o5+g:])-k5)&swarHigh
		idx >>= 2
		a := acc[g : g+8 : g+8]
		a[0] += leaves[idx&63]
		a[1] += leaves[(idx>>8)&63]
		a[2] += leaves[(idx>>16)&63]
		a[3] += leaves[(idx>>24)&63]
		a[4] += leaves[(idx>>32)&63]
		a[5] += leaves[(idx>>40)&63]
		a[6] += leaves[(idx>>48)&63]
		a[7] += leaves[(idx>>56)&63]
	}
}

// obliviousDeep is obliviousShallow for trees deeper than 8 levels: levels 8
// and up go to a second word, hi, whose byte i is the high byte of row i's
// leaf index.
func obliviousDeep(splits []obSplit, leaves []float64, bins []byte, acc []float64) {
	mask := uint64(len(leaves) - 1)
	for g := 0; g+8 <= len(acc); g += 8 {
		var lo, hi uint64
		for _, s := range splits[:8] {
			w := binary.LittleEndian.Uint64(bins[int(s.off)+g:])
			lo |= ((w - s.k) & swarHigh) >> s.shift
		}
		for _, s := range splits[8:] {
			w := binary.LittleEndian.Uint64(bins[int(s.off)+g:])
			hi |= ((w - s.k) & swarHigh) >> s.shift
		}
		a := acc[g : g+8 : g+8]
		for i := range a {
			sh := 8 * uint(i)
			a[i] += leaves[((lo>>sh)&0xff|(hi>>sh&0xff)<<8)&mask]
		}
	}
}
