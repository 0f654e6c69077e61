package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
)

// cbFile is the part of a CatBoost JSON export (save_model(path, format="json"))
// that prediction needs. Other keys (model_info.params, training logs, ...) are
// skipped without being kept.
type cbFile struct {
	FeaturesInfo   cbFeaturesInfo `json:"features_info"`
	ObliviousTrees cbTrees        `json:"oblivious_trees"`
	ScaleAndBias   *cbScaleBias   `json:"scale_and_bias"`
	ModelInfo      cbModelInfo    `json:"model_info"`
	CtrData        nonEmpty       `json:"ctr_data"`
}

// The cb* structs below declare the keys this package reads from CatBoost's
// JSON, one field a key: alike in shape (cbFloatFeature, cbSplit), as the
// declarations of a file format are.
type cbFeaturesInfo struct {
	FloatFeatures       cbFloatFeatures `json:"float_features"`
	CategoricalFeatures nonEmpty        `json:"categorical_features"`
	TextFeatures        nonEmpty        `json:"text_features"`
	EmbeddingFeatures   nonEmpty        `json:"embedding_features"`
}

// cbFloatFeature leaves out "borders": the splits carry their own borders.
type cbFloatFeature struct {
	FeatureIndex      *int   `json:"feature_index"`
	FlatFeatureIndex  *int   `json:"flat_feature_index"`
	FeatureID         string `json:"feature_id"`
	NanValueTreatment string `json:"nan_value_treatment"`
}

type cbTree struct {
	LeafValues float64s `json:"leaf_values"`
	Splits     cbSplits `json:"splits"`
}

// cbSplit is one split of an oblivious tree, declared like cbFloatFeature:
// a field a key read.
type cbSplit struct {
	Border            *float64 `json:"border"`
	FloatFeatureIndex *int     `json:"float_feature_index"`
	SplitType         string   `json:"split_type"`
}

// nonEmpty records that a key holds something other than null, [] or {}.
type nonEmpty bool

func (p *nonEmpty) UnmarshalJSON(raw []byte) error {
	s := string(bytes.Join(bytes.Fields(raw), nil))
	*p = s != "null" && s != "[]" && s != "{}"
	return nil
}

// cbSplits and cbFloatFeatures stop decoding at their limits, so a long list
// of tiny hostile objects cannot take memory out of proportion to the file.
type cbSplits []cbSplit

func (s *cbSplits) UnmarshalJSON(raw []byte) (err error) {
	*s, err = streamList[cbSplit](raw, MaxObliviousSize, "splits", false, nil)
	return err
}

type cbFloatFeatures []cbFloatFeature

func (s *cbFloatFeatures) UnmarshalJSON(raw []byte) (err error) {
	*s, err = streamList[cbFloatFeature](raw, MaxFeatures, "float_features", false, nil)
	return err
}

// cbTrees checks each tree's size as it is decoded.
type cbTrees []cbTree

func (ts *cbTrees) UnmarshalJSON(raw []byte) (err error) {
	nodes := nodeBudget{unit: "leaves and splits"}
	*ts, err = streamList(raw, MaxTrees, "oblivious_trees", false, func(t *cbTree) error {
		if len(t.Splits) > MaxObliviousSize {
			return fmt.Errorf("depth %d, the limit is %d", len(t.Splits), MaxObliviousSize)
		}
		return nodes.add(len(t.LeafValues) + len(t.Splits))
	})
	return err
}

// cbScaleBias is [scale, [bias]] (current CatBoost) or [scale, bias].
type cbScaleBias struct {
	scale, bias float64
}

func (sb *cbScaleBias) UnmarshalJSON(raw []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) != 2 {
		return errors.New("scale_and_bias must be [scale, [bias]]")
	}
	if err := json.Unmarshal(parts[0], &sb.scale); err != nil {
		return errors.New("scale_and_bias: scale must be a number")
	}
	var biases []float64
	if err := json.Unmarshal(parts[1], &biases); err != nil {
		var b float64
		if err := json.Unmarshal(parts[1], &b); err != nil {
			return errors.New("scale_and_bias: bias must be a number or a list of one number")
		}
		biases = []float64{b}
	}
	switch len(biases) {
	case 0:
		sb.bias = 0
	case 1:
		sb.bias = biases[0]
	default:
		return fmt.Errorf("unsupported CatBoost model: %d-dimensional output (multiclass or multi-target); only one output is supported", len(biases))
	}
	return nil
}

// cbModelInfo holds the model_info keys we read. CatBoost keeps user metadata
// (model.set_params / metadata) here as string values; mlsvc adds
// mlsvc_name, mlsvc_metric and mlsvc_metric_value.
type cbModelInfo struct {
	CatBoostVersionInfo scalar `json:"catboost_version_info"`
	Name                scalar `json:"mlsvc_name"`
	Library             scalar `json:"mlsvc_library"`
	LibraryVersion      scalar `json:"mlsvc_library_version"`
	Metric              scalar `json:"mlsvc_metric"`
	MetricValue         scalar `json:"mlsvc_metric_value"`
}

// scalar is a JSON string or number as text; other JSON values read as "".
type scalar string

func (s *scalar) UnmarshalJSON(raw []byte) error {
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		*s = scalar(str)
		return nil
	}
	var num json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&num); err == nil {
		*s = scalar(num)
	}
	return nil
}

var catboostVersion = regexp.MustCompile(`tags/v([0-9][0-9A-Za-z.\-]*)`)

func parseCatBoost(data []byte) (*Model, error) {
	var f cbFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("CatBoost model: %w", jsonError(err))
	}
	fi := &f.FeaturesInfo
	switch {
	case bool(fi.CategoricalFeatures || f.CtrData):
		return nil, errors.New("unsupported CatBoost model: categorical features; only float features are supported")
	case bool(fi.TextFeatures || fi.EmbeddingFeatures):
		return nil, errors.New("unsupported CatBoost model: text or embedding features; only float features are supported")
	case len(f.ObliviousTrees) == 0:
		return nil, errors.New("CatBoost model: no oblivious_trees")
	case len(fi.FloatFeatures) == 0:
		return nil, errors.New("CatBoost model: no features_info.float_features")
	case len(fi.FloatFeatures) > MaxFeatures:
		return nil, fmt.Errorf("CatBoost model: %d features, the limit is %d", len(fi.FloatFeatures), MaxFeatures)
	}

	// Input columns follow flat_feature_index; splits name float_feature_index
	// (the feature's index among float features).
	ffs := fi.FloatFeatures
	order := make([]int, len(ffs))
	for i := range order {
		order[i] = i
	}
	flat := func(i int) int {
		if p := ffs[i].FlatFeatureIndex; p != nil {
			return *p
		}
		return i
	}
	sort.SliceStable(order, func(a, b int) bool { return flat(order[a]) < flat(order[b]) })
	nf := len(ffs)
	names := make([]string, nf)
	nanTrue := make([]bool, nf)
	colOf := make(map[int]int32, nf) // float_feature_index -> input column
	seen := make(map[string]bool, nf)
	for col, i := range order {
		ff := &ffs[i]
		idx := i
		if ff.FeatureIndex != nil {
			idx = *ff.FeatureIndex
		}
		if _, dup := colOf[idx]; dup || idx < 0 {
			return nil, fmt.Errorf("CatBoost model: float_features[%d]: bad or duplicate feature_index %d", i, idx)
		}
		colOf[idx] = int32(col)
		name := ff.FeatureID
		if name == "" {
			name = "feature_" + strconv.Itoa(flat(i))
		}
		if len(name) > MaxNameLen || seen[name] {
			return nil, fmt.Errorf("CatBoost model: float_features[%d]: bad or duplicate feature name %q", i, truncate(name))
		}
		seen[name] = true
		names[col] = name
		switch ff.NanValueTreatment {
		case "AsTrue":
			nanTrue[col] = true
		case "AsFalse", "AsIs", "": // AsIs: NaN > border is false
		default:
			return nil, fmt.Errorf("CatBoost model: float_features[%d]: unknown nan_value_treatment %q", i, truncate(ff.NanValueTreatment))
		}
	}

	spec := obliviousSpec{nf: nf, nanTrue: nanTrue, scale: 1}
	if sb := f.ScaleAndBias; sb != nil {
		if !finite(sb.scale) || !finite(sb.bias) {
			return nil, errors.New("CatBoost model: scale_and_bias must be finite")
		}
		spec.scale, spec.bias = sb.scale, sb.bias
	}
	nLeaves, nSplits := 0, 0
	for _, t := range f.ObliviousTrees {
		nLeaves += len(t.LeafValues)
		nSplits += len(t.Splits)
	}
	spec.depths = make([]int, 0, len(f.ObliviousTrees))
	spec.splits = make([]obliviousSplit, 0, nSplits)
	spec.leaves = make([]float64, 0, nLeaves)
	for ti := range f.ObliviousTrees {
		t := &f.ObliviousTrees[ti]
		depth := len(t.Splits)
		if len(t.LeafValues) != 1<<depth {
			if len(t.LeafValues) > 1<<depth && len(t.LeafValues)%(1<<depth) == 0 {
				return nil, fmt.Errorf("unsupported CatBoost model: tree %d has %d leaf values for depth %d (multi-dimensional output); only one output is supported",
					ti, len(t.LeafValues), depth)
			}
			return nil, fmt.Errorf("CatBoost model: tree %d has %d leaf values, depth %d needs %d", ti, len(t.LeafValues), depth, 1<<depth)
		}
		for si, s := range t.Splits {
			if s.SplitType != "FloatFeature" {
				return nil, fmt.Errorf("unsupported CatBoost model: tree %d split %d has split_type %q; only FloatFeature splits are supported",
					ti, si, truncate(s.SplitType))
			}
			if s.FloatFeatureIndex == nil || s.Border == nil {
				return nil, fmt.Errorf("CatBoost model: tree %d split %d lacks float_feature_index or border", ti, si)
			}
			col, ok := colOf[*s.FloatFeatureIndex]
			if !ok {
				return nil, fmt.Errorf("CatBoost model: tree %d split %d uses float feature %d, which features_info does not list", ti, si, *s.FloatFeatureIndex)
			}
			b := *s.Border
			if !finite(b) || math.Abs(b) > math.MaxFloat32 {
				return nil, fmt.Errorf("CatBoost model: tree %d split %d has border %v outside float32 range", ti, si, b)
			}
			spec.splits = append(spec.splits, obliviousSplit{col: col, border: float32(b)})
		}
		for _, v := range t.LeafValues {
			if !finite(v) {
				return nil, fmt.Errorf("CatBoost model: tree %d has a non-finite leaf value", ti)
			}
		}
		spec.leaves = append(spec.leaves, t.LeafValues...)
		spec.depths = append(spec.depths, depth)
		*t = cbTree{} // only the compiled form is kept
	}

	mi := &f.ModelInfo
	info := Info{
		Name:           string(mi.Name),
		Format:         FormatCatBoost,
		Library:        "catboost",
		LibraryVersion: string(mi.LibraryVersion),
		Estimator:      "CatBoost oblivious trees",
	}
	if m := catboostVersion.FindStringSubmatch(string(mi.CatBoostVersionInfo)); m != nil && info.LibraryVersion == "" {
		info.LibraryVersion = m[1]
	}
	if mi.Library != "" {
		info.Library = string(mi.Library)
	}
	if mi.Metric != "" {
		v, err := strconv.ParseFloat(string(mi.MetricValue), 64)
		if err != nil || !finite(v) {
			return nil, fmt.Errorf("CatBoost model: model_info.mlsvc_metric_value %q is not a finite number", truncate(string(mi.MetricValue)))
		}
		info.Quality = &Quality{Metric: string(mi.Metric), Value: v}
	}
	// model_info is free-form: keep what we show within the metadata limit.
	for _, s := range []*string{&info.Name, &info.Library, &info.LibraryVersion} {
		*s = clip(*s)
	}
	if info.Quality != nil {
		info.Quality.Metric = clip(info.Quality.Metric)
	}
	return &Model{info: info, features: names, eval: newOblivious(&spec)}, nil
}
