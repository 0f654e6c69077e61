package mlsvc

import (
	"math"
	"strconv"
	"strings"
)

// Cents is an amount of money in hundredths of the currency unit. Money is
// never held in binary floating point.
type Cents int64

// MaxTopUp bounds a single top-up: 1,000,000.00.
const MaxTopUp Cents = 1_000_000_00

// String formats c as a plain decimal: 10, 10.5, 10.25, -3.07.
func (c Cents) String() string {
	sign := ""
	u := int64(c)
	if u < 0 {
		sign = "-"
		if u == math.MinInt64 {
			return "-92233720368547758.08"
		}
		u = -u
	}
	whole, frac := u/100, u%100
	s := sign + strconv.FormatInt(whole, 10)
	switch {
	case frac == 0:
		return s
	case frac%10 == 0:
		return s + "." + strconv.FormatInt(frac/10, 10)
	default:
		return s + "." + strconv.FormatInt(frac/10, 10) + strconv.FormatInt(frac%10, 10)
	}
}

// MarshalJSON writes c as an exact JSON number (10.25, not 10.250000001).
func (c Cents) MarshalJSON() ([]byte, error) { return []byte(c.String()), nil }

// ParseAmount parses a positive decimal amount with at most two decimals, as
// written in JSON ("12", "12.5", "12.34"), into cents, exactly. It rejects
// signs, exponents, more decimals and values above max. field names the
// input in error messages.
func ParseAmount(field, s string, max Cents) (Cents, error) {
	bad := func(why string) (Cents, error) {
		return 0, Errorf(EInvalid, "%s %s", field, why)
	}
	if s == "" {
		return bad("is required")
	}
	if strings.HasPrefix(s, "-") {
		return bad("must be positive")
	}
	if strings.ContainsAny(s, "eE") {
		// An exponent is valid JSON; accept it only if it is an exact small decimal.
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || f > float64(max)/100 {
			return bad("is too large: at most " + max.String())
		}
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return bad("must be a number")
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return bad("must have at most 2 decimal places")
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 15 {
		return bad("is too large: at most " + max.String())
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	c := Cents(w*100 + f)
	if c <= 0 {
		return bad("must be positive")
	}
	if c > max {
		return bad("is too large: at most " + max.String())
	}
	return c, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
