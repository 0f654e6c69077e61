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
// written in JSON ("12", "12.5", "12.34", "1e2", "1.5E1", "1e-2"), into
// cents, exactly: the digits and the exponent are combined as a decimal,
// never through a binary float, so "0.0099999e0" has five decimals and is
// refused rather than rounded to a cent. It rejects signs, more than two
// significant decimals and values above max; an exponent of any length is
// judged from its digits without allocating. field names the input in error
// messages.
func ParseAmount(field, s string, max Cents) (Cents, error) {
	bad := func(why string) (Cents, error) {
		return 0, Errorf(EInvalid, "%s %s", field, why)
	}
	tooLarge := func() (Cents, error) { return bad("is too large: at most " + max.String()) }
	if s == "" {
		return bad("is required")
	}
	if s[0] == '-' {
		return bad("must be positive")
	}
	mant, exp, hasExp := strings.Cut(s, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(s, "E")
	}
	whole, frac, hasDot := strings.Cut(mant, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return bad("must be a number")
	}
	// The exponent: an optional sign and at least one digit.
	expNeg := false
	if hasExp {
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			expNeg = exp[0] == '-'
			exp = exp[1:]
		}
		if exp == "" || !allDigits(exp) {
			return bad("must be a number")
		}
	}
	// value = digits × 10^e, with digits = whole‖frac without leading or
	// trailing zeros. Zeros are counted, not copied.
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return bad("must be positive")
	}
	trimmed := strings.TrimRight(digits, "0")
	e := int64(len(digits)-len(trimmed)) - int64(len(frac))
	digits = trimmed
	// |exponent| beyond 9 digits cannot yield a valid amount: too large or
	// too many decimals, decided by its sign.
	exp = strings.TrimLeft(exp, "0")
	if len(exp) > 9 {
		if expNeg {
			return bad("must have at most 2 decimal places")
		}
		return tooLarge()
	}
	x, _ := strconv.ParseInt("0"+exp, 10, 64)
	if expNeg {
		x = -x
	}
	e += x
	// cents = digits × 10^(e+2)
	scale := e + 2
	if scale < 0 {
		return bad("must have at most 2 decimal places")
	}
	if int64(len(digits))+scale > 18 {
		return tooLarge()
	}
	c, _ := strconv.ParseInt(digits, 10, 64)
	for ; scale > 0; scale-- {
		c *= 10
	}
	if Cents(c) > max {
		return tooLarge()
	}
	return Cents(c), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
