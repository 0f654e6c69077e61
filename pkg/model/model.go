// Package model loads portable model files and evaluates them in pure Go.
//
// Three kinds of file are read (see Parse):
//
//   - the mlsvc envelope with format "linear" (scikit-learn LinearRegression,
//     Ridge, Lasso, ElasticNet, ...);
//   - the mlsvc envelope with format "tree_ensemble" (scikit-learn
//     DecisionTreeRegressor, RandomForestRegressor, ExtraTreesRegressor,
//     GradientBoostingRegressor), written by tools/export_model.py;
//   - CatBoost's own JSON export (save_model(path, format="json")) with
//     oblivious (symmetric) trees over float features, read as is;
//   - XGBoost's own JSON model (Booster.save_model("m.json")) with a gbtree
//     booster and objective reg:squarederror or binary:logistic, read as is.
//
// Predictions reproduce the training library: tree ensembles bit for bit
// (inputs are cast to float32 before comparison, as scikit-learn, CatBoost and
// XGBoost do; XGBoost's float32 sums and sigmoid are reproduced), linear models
// to float rounding. A malformed or hostile file is an
// error, never a panic: sizes are bounded and tree structure is validated
// before a Model exists.
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Limits on what Parse accepts. They bound memory and time for hostile files
// while leaving room for real models several times larger than the published ones.
const (
	MaxModelSize     = 64 << 20  // bytes of a model file
	MaxFeatures      = 10_000    // input features of one model
	MaxNameLen       = 256       // bytes of a feature name or metadata string
	MaxTrees         = 100_000   // trees in one ensemble
	MaxNodes         = 4_000_000 // nodes (splits + leaves) summed over all trees
	MaxTreeDepth     = 256       // depth of one scikit-learn tree
	MaxObliviousSize = 16        // depth of one CatBoost oblivious tree (CatBoost's own limit)
)

// Format names as they appear in the envelope's "format" field and in Info.Format.
const (
	FormatLinear       = "linear"
	FormatTreeEnsemble = "tree_ensemble"
	FormatCatBoost     = "catboost_json"
	FormatXGBoost      = "xgboost_json"
)

// Model is a loaded, validated model. It is immutable and safe for concurrent use.
type Model struct {
	info     Info
	features []string
	eval     evaluator
}

// evaluator is one format's prediction loop over a row-major float64 matrix.
type evaluator interface {
	predict(x []float64, n int, out []float64)
}

// Info describes a model: where it came from and how good it is.
type Info struct {
	Name           string   `json:"name,omitempty"`
	Format         string   `json:"format"`
	Library        string   `json:"library,omitempty"`
	LibraryVersion string   `json:"library_version,omitempty"`
	Estimator      string   `json:"estimator,omitempty"` // e.g. "RandomForestRegressor"
	Quality        *Quality `json:"quality,omitempty"`
}

// Quality is a model's held-out quality metric, e.g. {"r2", 0.91}.
type Quality struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
}

// Features returns the model's input feature names in model order.
// The caller must not modify the slice.
func (m *Model) Features() []string { return m.features }

// Info returns the model's metadata.
func (m *Model) Info() Info {
	info := m.info
	if info.Quality != nil {
		q := *info.Quality
		info.Quality = &q
	}
	return info
}

// Predict writes the predictions for n rows of x into out. x is row-major:
// row i is x[i*F : (i+1)*F] with F = len(m.Features()), in model feature order.
// It does not allocate (except for models with more than a few thousand features)
// and panics if x or out is too short, like an out-of-range slice index.
func (m *Model) Predict(x []float64, n int, out []float64) {
	if n <= 0 {
		return
	}
	if len(x) < n*len(m.features) || len(out) < n {
		panic(fmt.Sprintf("model: Predict: %d rows need %d inputs and %d outputs, got %d and %d",
			n, n*len(m.features), n, len(x), len(out)))
	}
	m.eval.predict(x, n, out)
}

// header is the part of a model file read before its format is known.
type header struct {
	Format        *string `json:"format"`
	ObliviousTree present `json:"oblivious_trees"`
	Trees         present `json:"trees"`
	FeaturesInfo  present `json:"features_info"`
	Learner       present `json:"learner"`
}

// present records that a JSON key exists without keeping (or copying) its value.
type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

// Parse reads a model file: an mlsvc envelope ({"format": ..., "format_version": ...,
// "feature_names": [...], ...}), a CatBoost JSON export, detected by its
// "oblivious_trees"/"features_info" keys, or an XGBoost JSON model, detected by
// its top-level "learner" key.
func Parse(data []byte) (*Model, error) {
	if len(data) > MaxModelSize {
		return nil, fmt.Errorf("model file is %d bytes, the limit is %d", len(data), MaxModelSize)
	}
	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("model file is not a JSON object: %w", jsonError(err))
	}
	switch {
	case h.Format != nil:
		return parseEnvelope(data, *h.Format)
	case bool(h.Learner):
		return parseXGBoost(data)
	case bool(h.Trees && !h.ObliviousTree):
		return nil, errors.New("unsupported CatBoost model: non-symmetric trees (\"trees\", grow_policy Depthwise or Lossguide); " +
			"only oblivious trees are supported: retrain with grow_policy=\"SymmetricTree\"")
	case bool(h.ObliviousTree || h.FeaturesInfo):
		return parseCatBoost(data)
	default:
		return nil, errors.New("unknown model file: no \"format\" field (mlsvc envelope) and no \"oblivious_trees\" (CatBoost JSON), no \"learner\" (XGBoost JSON)")
	}
}

// envelopeHeader holds the metadata shared by every envelope format.
type envelopeHeader struct {
	Format         string   `json:"format"`
	FormatVersion  int      `json:"format_version"`
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	Library        string   `json:"library"`
	LibraryVersion string   `json:"library_version"`
	Estimator      string   `json:"estimator"`
	FeatureNames   names    `json:"feature_names"`
	Quality        *Quality `json:"quality"`
}

// formatVersion is the envelope version this package writes and reads.
const formatVersion = 1

func parseEnvelope(data []byte, format string) (*Model, error) {
	var f envelopeFile
	var what string
	switch format {
	case FormatLinear:
		f, what = &linearFile{}, "linear model"
	case FormatTreeEnsemble:
		f, what = &treeFile{}, "tree ensemble"
	default:
		return nil, fmt.Errorf("unknown model format %q (supported: %q, %q, or a CatBoost or XGBoost JSON model)",
			truncate(format), FormatLinear, FormatTreeEnsemble)
	}
	if err := decodeStrict(data, f); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	h := f.header()
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	eval, err := f.build(len(h.FeatureNames))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &Model{
		info: Info{
			Name:           h.Name,
			Format:         h.Format,
			Library:        h.Library,
			LibraryVersion: h.LibraryVersion,
			Estimator:      h.Estimator,
			Quality:        h.Quality,
		},
		features: h.FeatureNames,
		eval:     eval,
	}, nil
}

// envelopeFile is a model file of one of this package's own formats
// (linearFile, treeFile): an envelope header and what it evaluates.
type envelopeFile interface {
	header() *envelopeHeader
	build(nFeatures int) (evaluator, error)
}

func (h *envelopeHeader) header() *envelopeHeader { return h }

func (f *linearFile) build(nFeatures int) (evaluator, error) {
	return asEvaluator(newLinear(f, nFeatures))
}
func (f *treeFile) build(nFeatures int) (evaluator, error) {
	return asEvaluator(newEnsemble(f, nFeatures))
}

// asEvaluator returns e as an evaluator, or nil (not a nil *T) with err.
func asEvaluator[E evaluator](e E, err error) (evaluator, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (h *envelopeHeader) validate() error {
	if h.FormatVersion != formatVersion {
		return fmt.Errorf("unsupported format_version %d (this build reads %d)", h.FormatVersion, formatVersion)
	}
	for _, s := range []string{h.Name, h.Library, h.LibraryVersion, h.Estimator} {
		if len(s) > MaxNameLen {
			return fmt.Errorf("metadata string longer than %d bytes", MaxNameLen)
		}
	}
	if len(h.Description) > 16*MaxNameLen {
		return fmt.Errorf("description longer than %d bytes", 16*MaxNameLen)
	}
	if err := checkFeatureNames(h.FeatureNames); err != nil {
		return err
	}
	if q := h.Quality; q != nil {
		if q.Metric == "" || len(q.Metric) > MaxNameLen {
			return errors.New("quality.metric must be a non-empty name")
		}
		if !finite(q.Value) {
			return errors.New("quality.value must be a finite number")
		}
	}
	return nil
}

// names is a list of strings decoded one by one up to MaxFeatures, so a
// hostile list of millions of tiny strings is refused before it is built.
type names []string

func (n *names) UnmarshalJSON(raw []byte) (err error) {
	*n, err = streamList[string](raw, MaxFeatures, "feature_names", false, nil)
	return err
}

func checkFeatureNames(names []string) error {
	if len(names) == 0 {
		return errors.New("no feature_names")
	}
	if len(names) > MaxFeatures {
		return fmt.Errorf("%d features, the limit is %d", len(names), MaxFeatures)
	}
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		if name == "" || len(name) > MaxNameLen {
			return fmt.Errorf("feature_names[%d] must be 1 to %d bytes", i, MaxNameLen)
		}
		if seen[name] {
			return fmt.Errorf("duplicate feature name %q", name)
		}
		seen[name] = true
	}
	return nil
}

// jsonError turns encoding/json's errors into messages that name the field.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "top level"
		}
		return fmt.Errorf("field %s: JSON %s where %s expected", field, typeErr.Value, typeErr.Type)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	}
	return err
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// clip cuts a metadata string to MaxNameLen bytes (at a rune boundary).
func clip(s string) string {
	if len(s) <= MaxNameLen {
		return s
	}
	cut := MaxNameLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// truncate shortens a user-supplied string for an error message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
