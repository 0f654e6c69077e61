package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// xgbFile is the part of XGBoost's own JSON model (Booster.save_model("m.json"))
// that prediction needs: a gbtree booster of regression trees over numeric
// features. Keys not listed (loss_changes, sum_hessian, base_weights, ...) are
// skipped without being kept.
type xgbFile struct {
	Learner *xgbLearner `json:"learner"`
	Version []int       `json:"version"`
}

type xgbLearner struct {
	FeatureNames    names      `json:"feature_names"`
	GradientBooster xgbBooster `json:"gradient_booster"`
	ModelParam      struct {
		BaseScore  string `json:"base_score"`
		NumClass   string `json:"num_class"`
		NumFeature string `json:"num_feature"`
		NumTarget  string `json:"num_target"`
	} `json:"learner_model_param"`
	Objective struct {
		Name string `json:"name"`
	} `json:"objective"`
}

type xgbBooster struct {
	Name  string `json:"name"`
	Model struct {
		Trees xgbTrees `json:"trees"`
	} `json:"model"`
}

type xgbTree struct {
	LeftChildren    int32s   `json:"left_children"`
	RightChildren   int32s   `json:"right_children"`
	SplitIndices    int32s   `json:"split_indices"`
	SplitConditions float32s `json:"split_conditions"` // a leaf's value at a leaf
	DefaultLeft     int32s   `json:"default_left"`
	SplitType       int32s   `json:"split_type"`
	CategoriesNodes nonEmpty `json:"categories_nodes"`
	TreeParam       struct {
		SizeLeafVector string `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

// xgbTrees bounds the number of trees and of nodes in all as they are decoded.
type xgbTrees []xgbTree

func (ts *xgbTrees) UnmarshalJSON(raw []byte) (err error) {
	nodes := nodeBudget{unit: "nodes"}
	*ts, err = streamList(raw, MaxTrees, "trees", false, func(t *xgbTree) error {
		return nodes.add(len(t.LeftChildren))
	})
	return err
}

// Objectives read, with the transform from the summed margin to the output.
const (
	xgbSquaredError   = "reg:squarederror"
	xgbBinaryLogistic = "binary:logistic"
)

// xgbEnsemble evaluates XGBoost trees as XGBoost 1.7's CPU predictor does:
// the input is cast to float32; a node sends x left when x < split_condition
// (float32) and NaN to its default side; the leaves are summed in float32,
// in tree order, starting from the base margin; then the objective's
// transform, in float32.
type xgbEnsemble struct {
	nf       int
	roots    []int32
	nodes    []xgbNode
	margin   float32 // base_score as a margin
	logistic bool    // apply the sigmoid (binary:logistic)
	stride   int     // rows per block (see block.go)
	nanFill  []float32
}

// xgbNode is a split (off ≥ 0: feature·stride) or a leaf (off < 0, value in cond).
type xgbNode struct {
	cond        float32
	off         int32
	left, right int32 // absolute node indices
	defaultLeft bool
}

func parseXGBoost(data []byte) (*Model, error) {
	var f xgbFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("XGBoost model: %w", jsonError(err))
	}
	l := f.Learner
	if l == nil {
		return nil, errors.New("XGBoost model: no learner")
	}
	switch name := l.GradientBooster.Name; name {
	case "gbtree":
	case "dart", "gblinear":
		return nil, fmt.Errorf("unsupported XGBoost model: booster %q; only booster \"gbtree\" is supported", name)
	default:
		return nil, fmt.Errorf("unsupported XGBoost model: booster %q; only booster \"gbtree\" is supported", truncate(name))
	}
	mp := &l.ModelParam
	if n := mp.NumClass; n != "" && n != "0" {
		return nil, fmt.Errorf("unsupported XGBoost model: num_class %s (multiclass); only one output is supported", truncate(n))
	}
	if n := mp.NumTarget; n != "" && n != "1" {
		return nil, fmt.Errorf("unsupported XGBoost model: num_target %s; only one output is supported", truncate(n))
	}
	nf, err := strconv.Atoi(mp.NumFeature)
	if err != nil || nf < 1 || nf > MaxFeatures {
		return nil, fmt.Errorf("XGBoost model: learner_model_param.num_feature %q must be 1 to %d", truncate(mp.NumFeature), MaxFeatures)
	}
	// base_score is a float32 written as text ("5E-1"; "[5E-1]" in later versions).
	base, err := strconv.ParseFloat(strings.Trim(mp.BaseScore, "[]"), 32)
	if err != nil || !finite(base) {
		return nil, fmt.Errorf("XGBoost model: learner_model_param.base_score %q is not a finite number", truncate(mp.BaseScore))
	}
	e := &xgbEnsemble{nf: nf, stride: blockStride(nf), nanFill: make([]float32, nf)}
	for j := range e.nanFill {
		e.nanFill[j] = float32(math.NaN()) // kept: each node has its own default side
	}
	switch obj := l.Objective.Name; obj {
	case xgbSquaredError:
		e.margin = float32(base)
	case xgbBinaryLogistic:
		// XGBoost stores the probability; ProbToMargin is -logf(1/p - 1).
		p := float32(base)
		if !(p > 0 && p < 1) {
			return nil, fmt.Errorf("XGBoost model: base_score %v must be in (0, 1) for %s", base, obj)
		}
		e.margin = -float32(math.Log(float64(1/p - 1)))
		e.logistic = true
	default:
		return nil, fmt.Errorf("unsupported XGBoost model: objective %q; supported: %q, %q", truncate(obj), xgbSquaredError, xgbBinaryLogistic)
	}

	names := []string(l.FeatureNames)
	if len(names) == 0 {
		names = make([]string, nf)
		for j := range names {
			names[j] = "f" + strconv.Itoa(j)
		}
	}
	if len(names) != nf {
		return nil, fmt.Errorf("XGBoost model: %d feature_names for num_feature %d", len(names), nf)
	}
	if err := checkFeatureNames(names); err != nil {
		return nil, fmt.Errorf("XGBoost model: %w", err)
	}

	trees := l.GradientBooster.Model.Trees
	if len(trees) == 0 {
		return nil, errors.New("XGBoost model: no trees")
	}
	total := 0
	for _, t := range trees {
		total += len(t.LeftChildren)
	}
	e.nodes = make([]xgbNode, 0, total)
	e.roots = make([]int32, 0, len(trees))
	for i := range trees {
		if err := e.addTree(&trees[i]); err != nil {
			return nil, fmt.Errorf("XGBoost model: trees[%d]: %w", i, err)
		}
		trees[i] = xgbTree{} // only the compiled form is kept
	}

	info := Info{Format: FormatXGBoost, Library: "xgboost", Estimator: "XGBoost gbtree " + l.Objective.Name}
	if len(f.Version) == 3 {
		info.LibraryVersion = fmt.Sprintf("%d.%d.%d", f.Version[0], f.Version[1], f.Version[2])
	}
	return &Model{info: info, features: names, eval: e}, nil
}

// addTree validates t (a binary tree rooted at node 0, no node reached twice;
// nodes not reachable from the root are ignored, as XGBoost does with pruned
// ones) and appends it.
func (e *xgbEnsemble) addTree(t *xgbTree) error {
	n := len(t.LeftChildren)
	switch {
	case n == 0:
		return errors.New("no nodes")
	case len(t.RightChildren) != n || len(t.SplitIndices) != n || len(t.SplitConditions) != n || len(t.DefaultLeft) != n:
		return errors.New("left_children, right_children, split_indices, split_conditions and default_left must have the same length")
	case bool(t.CategoriesNodes):
		return errors.New("unsupported XGBoost model: categorical splits; only numerical splits are supported")
	case t.TreeParam.SizeLeafVector != "" && t.TreeParam.SizeLeafVector != "0":
		return errors.New("unsupported XGBoost model: vector leaves (multi-target trees); only one output is supported")
	}
	for _, st := range t.SplitType {
		if st != 0 {
			return errors.New("unsupported XGBoost model: categorical splits; only numerical splits are supported")
		}
	}
	off := int32(len(e.nodes))
	e.nodes = append(e.nodes, make([]xgbNode, n)...)
	nodes := e.nodes[off:]
	seen := make([]bool, n)
	seen[0] = true
	stack := []int32{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		left, right, cond := t.LeftChildren[i], t.RightChildren[i], t.SplitConditions[i]
		if !finite(float64(cond)) {
			return fmt.Errorf("node %d has a non-finite split condition or leaf value", i)
		}
		if left == -1 {
			if right != -1 {
				return fmt.Errorf("node %d has only one child", i)
			}
			nodes[i] = xgbNode{cond: cond, off: -1}
			continue
		}
		feat := t.SplitIndices[i]
		if feat < 0 || int(feat) >= e.nf {
			return fmt.Errorf("node %d splits on feature %d, the model has %d features", i, feat, e.nf)
		}
		for _, c := range [2]int32{left, right} {
			if c <= 0 || int(c) >= n {
				return fmt.Errorf("node %d has child %d, out of range 1..%d", i, c, n-1)
			}
			if seen[c] {
				return fmt.Errorf("node %d is reached twice (a cycle or a shared subtree)", c)
			}
			seen[c] = true
			stack = append(stack, c)
		}
		nodes[i] = xgbNode{
			cond:        cond,
			off:         feat * int32(e.stride),
			left:        off + left,
			right:       off + right,
			defaultLeft: t.DefaultLeft[i] != 0,
		}
	}
	e.roots = append(e.roots, off)
	return nil
}

// predict has ensemble.predict's block loop (ensemble.go), with XGBoost's
// float32 sums and transform instead of float64 sums.
func (e *xgbEnsemble) predict(x []float64, n int, out []float64) {
	nf, stride := e.nf, e.stride
	var stackBuf [scratchFloats]float32
	var accBuf [maxBlock]float32
	buf := stackBuf[:]
	if nf*stride > scratchFloats {
		buf = make([]float32, nf*stride)
	}
	for start := 0; start < n; start += stride {
		rows := min(stride, n-start)
		loadBlock(buf, x[start*nf:], nf, stride, rows, e.nanFill)
		acc := accBuf[:rows]
		for i := range acc {
			acc[i] = e.margin
		}
		for _, root := range e.roots {
			e.walk(root, buf, acc)
		}
		o := out[start : start+rows]
		for i, m := range acc {
			if e.logistic {
				m = sigmoid32(m)
			}
			o[i] = float64(m)
		}
	}
}

func (e *xgbEnsemble) walk(root int32, xT []float32, acc []float32) {
	g := e.nodes
	for r := range acc {
		i := root
		for {
			nd := &g[i]
			if nd.off < 0 {
				acc[r] += nd.cond
				break
			}
			x := xT[int(nd.off)+r]
			if x < nd.cond || (x != x && nd.defaultLeft) {
				i = nd.left
			} else {
				i = nd.right
			}
		}
	}
}

// sigmoid32 is XGBoost's common::Sigmoid: 1 / (1 + expf(min(-x, 88.7))) in
// float32 (its 1e-16 guard vanishes in float32 next to 1). expf is taken as
// float64 exp rounded to float32.
func sigmoid32(x float32) float32 {
	d := float32(math.Exp(float64(min(-x, 88.7)))) + 1
	return 1 / d
}
