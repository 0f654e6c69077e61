package model

import "errors"

// linearFile is the envelope of format "linear": y = Σ coef[j]·x[j] + intercept.
type linearFile struct {
	envelopeHeader
	Coef      []float64 `json:"coef"`
	Intercept *float64  `json:"intercept"`
}

type linear struct {
	coef      []float64
	intercept float64
}

func newLinear(f *linearFile, nFeatures int) (*linear, error) {
	if len(f.Coef) != nFeatures {
		return nil, errors.New("coef must have one number per feature name")
	}
	if f.Intercept == nil {
		return nil, errors.New("missing intercept")
	}
	for _, c := range f.Coef {
		if !finite(c) {
			return nil, errors.New("coef must be finite numbers")
		}
	}
	if !finite(*f.Intercept) {
		return nil, errors.New("intercept must be a finite number")
	}
	return &linear{coef: f.Coef, intercept: *f.Intercept}, nil
}

// predict computes the dot product in feature order, then adds the intercept,
// as scikit-learn does (X @ coef_ + intercept_). BLAS may sum in another order,
// so results agree to about one ulp per feature, not bit for bit. The explicit
// float64(...) conversions keep the compiler from fusing multiply-adds.
func (l *linear) predict(x []float64, n int, out []float64) {
	coef := l.coef
	nf := len(coef)
	i := 0
	// Four rows at a time: four independent add chains keep the FPU busy.
	for ; i+4 <= n; i += 4 {
		r0 := x[i*nf:][:len(coef)]
		r1 := x[(i+1)*nf:][:len(coef)]
		r2 := x[(i+2)*nf:][:len(coef)]
		r3 := x[(i+3)*nf:][:len(coef)]
		var s0, s1, s2, s3 float64
		for j, c := range coef {
			s0 += float64(c * r0[j])
			s1 += float64(c * r1[j])
			s2 += float64(c * r2[j])
			s3 += float64(c * r3[j])
		}
		o := out[i : i+4]
		o[0] = s0 + l.intercept
		o[1] = s1 + l.intercept
		o[2] = s2 + l.intercept
		o[3] = s3 + l.intercept
	}
	for ; i < n; i++ {
		row := x[i*nf:][:len(coef)]
		var s float64
		for j, c := range coef {
			s += float64(c * row[j])
		}
		out[i] = s + l.intercept
	}
}
