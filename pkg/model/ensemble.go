package model

import (
	"errors"
	"fmt"
	"math"
)

// treeFile is the envelope of format "tree_ensemble": scikit-learn decision
// trees in their own array form (tree_.children_left, children_right, feature,
// threshold, value[:, 0, 0]), combined by averaging (DecisionTree, RandomForest,
// ExtraTrees) or by gradient boosting (init + Σ learning_rate·tree).
type treeFile struct {
	envelopeHeader
	Combine      string   `json:"combine"` // "mean" or "boosting"
	Init         *float64 `json:"init"`
	LearningRate *float64 `json:"learning_rate"`
	Trees        skTrees  `json:"trees"`
}

// Combine values of the tree_ensemble format.
const (
	CombineMean     = "mean"
	CombineBoosting = "boosting"
)

type skTree struct {
	ChildrenLeft  int32s   `json:"children_left"`
	ChildrenRight int32s   `json:"children_right"`
	Feature       int32s   `json:"feature"`
	Threshold     float64s `json:"threshold"`
	Value         float64s `json:"value"`
}

// skTrees bounds the number of trees and of nodes in all as they are decoded,
// so a hostile list stops at the limit instead of being decoded whole.
type skTrees []skTree

func (ts *skTrees) UnmarshalJSON(raw []byte) (err error) {
	nodes := nodeBudget{unit: "nodes"}
	*ts, err = streamList(raw, MaxTrees, "trees", true, func(t *skTree) error {
		return nodes.add(max(len(t.ChildrenLeft), len(t.ChildrenRight), len(t.Feature), len(t.Threshold), len(t.Value)))
	})
	return err
}

// ensemble evaluates scikit-learn trees. A tree of small depth is stored as a
// complete binary tree (short leaves are copied down to full depth) and walked
// without branches (see walkComplete). Deeper or very sparse trees keep their
// own shape in gnodes. Thresholds are precomputed as float32
// (see floorFloat32), so each split is one float32 comparison.
type ensemble struct {
	nf      int
	trees   []treeRef
	cnodes  []cnode   // complete layout, all trees
	gnodes  []gnode   // generic-layout nodes, all trees
	leaves  []float64 // leaf values (boosting: already × learning_rate)
	base    float64   // starting value of the sum: 0 or the boosting init
	mean    bool      // divide the sum by divisor (averaging ensembles)
	divisor float64
	stride  int       // rows per block (see block.go)
	nanFill []float32 // +Inf for every feature: NaN goes right (x <= threshold is false)
}

type treeRef struct {
	depth   int32 // complete layout: depth; generic layout: -1
	nodeOff int32 // complete: first node in cnodes; generic: root gnode
	leafOff int32 // complete: first leaf of the 2^depth leaves
}

// cnode is a complete-layout split: threshold and feature·stride side by
// side, so a step loads one 8-byte node.
type cnode struct {
	thr float32
	off uint32
}

// A node's off is feature·stride: where the feature's column starts in a block.
type gnode struct {
	thr   float32
	off   int32 // -1 for a leaf
	left  int32 // leaf: index into leaves
	right int32
}

const (
	maxCompleteDepth = 10       // deeper trees keep their shape
	paddedBudget     = 16 << 20 // complete-layout nodes + leaves over all trees
)

func newEnsemble(f *treeFile, nf int) (*ensemble, error) {
	return buildEnsemble(f, nf, maxCompleteDepth)
}

// buildEnsemble stores trees up to completeDepth deep in the complete layout
// (tests pass -1 to exercise the generic layout on every tree).
func buildEnsemble(f *treeFile, nf, completeDepth int) (*ensemble, error) {
	if len(f.Trees) == 0 {
		return nil, errors.New("no trees")
	}
	e := &ensemble{nf: nf, stride: blockStride(nf), nanFill: make([]float32, nf)}
	for j := range e.nanFill {
		e.nanFill[j] = float32(math.Inf(1))
	}
	if nf*e.stride > scratchFloats {
		completeDepth = -1 // the block is on the heap; walkComplete needs the stack array
	}
	switch f.Combine {
	case CombineMean:
		if f.Init != nil || f.LearningRate != nil {
			return nil, errors.New(`"init" and "learning_rate" are only for combine "boosting"`)
		}
		e.mean = true
		e.divisor = float64(len(f.Trees))
	case CombineBoosting:
		if f.Init == nil || f.LearningRate == nil {
			return nil, errors.New(`combine "boosting" needs "init" and "learning_rate"`)
		}
		if !finite(*f.Init) || !finite(*f.LearningRate) {
			return nil, errors.New("init and learning_rate must be finite numbers")
		}
		e.base = *f.Init
	default:
		return nil, fmt.Errorf(`combine must be %q or %q, not %q`, CombineMean, CombineBoosting, truncate(f.Combine))
	}
	// First validate every tree and choose its layout, then size the arrays
	// once and fill them (no growth by doubling for large models).
	depths := make([]int, len(f.Trees))
	padded, nodes, leaves, generic := 0, 0, 0, 0
	for i := range f.Trees {
		t := &f.Trees[i]
		depth, err := validateTree(t, nf)
		if err != nil {
			return nil, fmt.Errorf("trees[%d]: %w", i, err)
		}
		// A complete tree has 2^depth node slots and 2^depth leaves.
		if size := 2 << depth; depth <= completeDepth && size <= 4*len(t.ChildrenLeft)+16 && padded+size <= paddedBudget {
			padded += size
			nodes += 1 << depth
			leaves += 1 << depth
			depths[i] = depth
		} else {
			generic += len(t.ChildrenLeft)
			leaves += len(t.ChildrenLeft) // an upper bound
			depths[i] = -1
		}
	}
	e.trees = make([]treeRef, 0, len(f.Trees))
	e.cnodes = make([]cnode, 0, nodes)
	e.gnodes = make([]gnode, 0, generic)
	e.leaves = make([]float64, 0, leaves)
	scale := 1.0
	if !e.mean {
		scale = *f.LearningRate
	}
	for i := range f.Trees {
		if depths[i] >= 0 {
			e.addComplete(&f.Trees[i], depths[i], scale)
		} else {
			e.addGeneric(&f.Trees[i], scale)
		}
		f.Trees[i] = skTree{} // only the compiled form is kept
	}
	return e, nil
}

// validateTree checks that t is a proper binary tree rooted at node 0 whose
// every node is reached exactly once (no cycles, no sharing, nothing
// unreachable) and returns its depth.
func validateTree(t *skTree, nf int) (int, error) {
	n := len(t.ChildrenLeft)
	if n == 0 {
		return 0, errors.New("no nodes")
	}
	if len(t.ChildrenRight) != n || len(t.Feature) != n || len(t.Threshold) != n || len(t.Value) != n {
		return 0, errors.New("children_left, children_right, feature, threshold and value must have the same length")
	}
	type item struct{ node, depth int32 }
	seen := make([]bool, n)
	stack := []item{{0, 0}}
	seen[0] = true
	visited, depth := 0, 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visited++
		i := it.node
		left, right := t.ChildrenLeft[i], t.ChildrenRight[i]
		if left == -1 || right == -1 {
			if left != right {
				return 0, fmt.Errorf("node %d has only one child", i)
			}
			if !finite(t.Value[i]) {
				return 0, fmt.Errorf("leaf %d has a non-finite value", i)
			}
			depth = max(depth, int(it.depth))
			continue
		}
		if f := t.Feature[i]; f < 0 || int(f) >= nf {
			return 0, fmt.Errorf("node %d splits on feature %d, the model has %d features", i, f, nf)
		}
		if !finite(t.Threshold[i]) {
			return 0, fmt.Errorf("node %d has a non-finite threshold", i)
		}
		if it.depth+1 > MaxTreeDepth {
			return 0, fmt.Errorf("deeper than %d levels", MaxTreeDepth)
		}
		for _, c := range [2]int32{left, right} {
			if c <= 0 || int(c) >= n {
				return 0, fmt.Errorf("node %d has child %d, out of range 1..%d", i, c, n-1)
			}
			if seen[c] {
				return 0, fmt.Errorf("node %d is reached twice (a cycle or a shared subtree)", c)
			}
			seen[c] = true
			stack = append(stack, item{c, it.depth + 1})
		}
	}
	if visited != n {
		return 0, fmt.Errorf("%d of %d nodes are not reachable from the root", n-visited, n)
	}
	return depth, nil
}

// addComplete appends t padded to a complete tree of the given depth (see walkComplete).
func (e *ensemble) addComplete(t *skTree, depth int, scale float64) {
	n := 1 << depth // nodes 1..n-1, leaves n..2n-1 (as positions)
	ref := treeRef{depth: int32(depth), nodeOff: int32(len(e.cnodes)), leafOff: int32(len(e.leaves))}
	e.cnodes = append(e.cnodes, make([]cnode, n)...)
	e.leaves = append(e.leaves, make([]float64, n)...)
	nodes := e.cnodes[ref.nodeOff:]
	leaves := e.leaves[ref.leafOff:]
	// Walk positions of the complete tree; orig maps each to the original node.
	// A leaf above full depth fills its whole subtree; its dummy splits
	// (threshold +Inf) may go either way, both sides end in the same leaf.
	type item struct{ pos, orig int32 }
	stack := []item{{1, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if int(it.pos) >= n {
			leaves[int(it.pos)-n] = float64(scale * t.Value[it.orig])
			continue
		}
		o := it.orig
		l, r := o, o
		if t.ChildrenLeft[o] == -1 {
			nodes[it.pos].thr = float32(math.Inf(1))
		} else {
			nodes[it.pos] = cnode{thr: floorFloat32(t.Threshold[o]), off: uint32(t.Feature[o]) * uint32(e.stride)}
			l, r = t.ChildrenLeft[o], t.ChildrenRight[o]
		}
		stack = append(stack, item{2 * it.pos, l}, item{2*it.pos + 1, r})
	}
	e.trees = append(e.trees, ref)
}

// addGeneric appends t in its own shape (node indices made absolute).
func (e *ensemble) addGeneric(t *skTree, scale float64) {
	off := int32(len(e.gnodes))
	for i := range t.ChildrenLeft {
		if t.ChildrenLeft[i] == -1 {
			e.gnodes = append(e.gnodes, gnode{off: -1, left: int32(len(e.leaves))})
			e.leaves = append(e.leaves, float64(scale*t.Value[i]))
			continue
		}
		e.gnodes = append(e.gnodes, gnode{
			thr:   floorFloat32(t.Threshold[i]),
			off:   t.Feature[i] * int32(e.stride),
			left:  off + t.ChildrenLeft[i],
			right: off + t.ChildrenRight[i],
		})
	}
	e.trees = append(e.trees, treeRef{depth: -1, nodeOff: off})
}

// floorFloat32 returns the largest float32 not above t. For a float32 x,
// float64(x) <= t exactly when x <= floorFloat32(t): scikit-learn's
// float32-input, float64-threshold comparison done entirely in float32.
func floorFloat32(t float64) float32 {
	switch {
	case t >= math.MaxFloat32:
		return math.MaxFloat32
	case t < -math.MaxFloat32:
		return float32(math.Inf(-1))
	}
	f := float32(t)
	if float64(f) > t {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// predict's block loop is also xgbEnsemble.predict's (xgboost.go), which
// sums in float32 as XGBoost does.
func (e *ensemble) predict(x []float64, n int, out []float64) {
	nf, stride := e.nf, e.stride
	var stackBuf [scratchFloats]float32
	var accBuf [maxBlock]float64
	buf := stackBuf[:]
	if nf*stride > scratchFloats {
		buf = make([]float32, nf*stride)
	}
	for start := 0; start < n; start += stride {
		rows := min(stride, n-start)
		loadBlock(buf, x[start*nf:], nf, stride, rows, e.nanFill)
		acc := accBuf[:rows]
		for i := range acc {
			acc[i] = e.base
		}
		for _, t := range e.trees {
			if t.depth >= 0 {
				d := int(t.depth)
				nodes := e.cnodes[t.nodeOff : int(t.nodeOff)+1<<d]
				leaves := e.leaves[t.leafOff : int(t.leafOff)+1<<d]
				walkComplete(nodes, leaves, d, &stackBuf, acc)
			} else {
				e.walkGeneric(t.nodeOff, buf, acc)
			}
		}
		o := out[start : start+rows]
		if e.mean {
			for i, s := range acc {
				o[i] = s / e.divisor
			}
		} else {
			copy(o, acc)
		}
	}
}

// walkComplete adds one complete-layout tree's output to acc for each row of
// the block. Eight rows go down the tree together, their node indices in
// registers: the rows' steps are independent, so the CPU overlaps eight
// chains of load, compare and index instead of waiting on each in turn.
// (obliviousShallow in oblivious.go is the oblivious-tree counterpart.)
//
// Nodes are numbered from 1 (the root) with children 2i and 2i+1; slot 0 is
// unused, so len(nodes) = 2^depth and after depth steps i - 2^depth is the
// leaf. Masking with len(nodes)-1 changes no index (they are in range by
// construction) but lets the compiler drop bounds checks.
func walkComplete(nodes []cnode, leaves []float64, depth int, xT *[scratchFloats]float32, acc []float64) {
	nMask := uint(len(nodes) - 1)
	leaves = leaves[:len(nodes)]
	r := 0
	for ; r+8 <= len(acc); r += 8 {
		x := xT[r:]
		i0, i1, i2, i3, i4, i5, i6, i7 := uint(1), uint(1), uint(1), uint(1), uint(1), uint(1), uint(1), uint(1)
		for range depth {
			i0 = step(nodes[i0&nMask], x, 0, i0)
			i1 = step(nodes[i1&nMask], x, 1, i1)
			i2 = step(nodes[i2&nMask], x, 2, i2)
			i3 = step(nodes[i3&nMask], x, 3, i3)
			i4 = step(nodes[i4&nMask], x, 4, i4)
			i5 = step(nodes[i5&nMask], x, 5, i5)
			i6 = step(nodes[i6&nMask], x, 6, i6)
			i7 = step(nodes[i7&nMask], x, 7, i7)
		}
		a := acc[r : r+8 : r+8]
		a[0] += leaves[i0&nMask]
		a[1] += leaves[i1&nMask]
		a[2] += leaves[i2&nMask]
		a[3] += leaves[i3&nMask]
		a[4] += leaves[i4&nMask]
		a[5] += leaves[i5&nMask]
		a[6] += leaves[i6&nMask]
		a[7] += leaves[i7&nMask]
	}
	for ; r < len(acc); r++ {
		x := xT[r:]
		i := uint(1)
		for range depth {
			i = step(nodes[i&nMask], x, 0, i)
		}
		acc[r] += leaves[i&nMask]
	}
}

// step is one level for row j of x at node nd (reached as index i): the
// child's index, 2i or 2i+1.
func step(nd cnode, x []float32, j int, i uint) uint {
	return 2*i + uint(right(x[int(nd.off)+j], nd.thr))
}

// right is 1 when a split sends x to the right child. The block holds no NaN
// (loadBlock made it +Inf), so x > thr is exactly not x <= thr.
func right(x, thr float32) uint32 {
	if x > thr {
		return 1
	}
	return 0
}

func (e *ensemble) walkGeneric(root int32, xT []float32, acc []float64) {
	g := e.gnodes
	for r := range acc {
		i := root
		for {
			nd := &g[i]
			if nd.off < 0 {
				acc[r] += e.leaves[nd.left]
				break
			}
			if xT[int(nd.off)+r] <= nd.thr {
				i = nd.left
			} else {
				i = nd.right
			}
		}
	}
}
