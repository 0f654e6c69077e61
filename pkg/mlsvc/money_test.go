package mlsvc

import (
	"math/big"
	"strings"
	"testing"
)

func TestCentsString(t *testing.T) {
	tests := []struct {
		c    Cents
		want string
	}{
		{0, "0"}, {1, "0.01"}, {10, "0.1"}, {1000, "10"}, {1050, "10.5"}, {1025, "10.25"},
		{-307, "-3.07"}, {100000000, "1000000"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Cents(%d).String() = %q, want %q", int64(tt.c), got, tt.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	ok := []struct {
		in   string
		want Cents
	}{
		{"1", 100}, {"0.01", 1}, {"12.5", 1250}, {"12.50", 1250}, {"12.340", 1234}, {"007", 700},
		{"1000000", MaxTopUp}, {"0.1", 10},
		// Exponents are exact decimals.
		{"1e2", 10000}, {"1E2", 10000}, {"1e+2", 10000}, {"2.5E1", 2500}, {"1.5e1", 1500},
		{"1e-2", 1}, {"1e0", 100}, {"10e-3", 1}, {"0.0100e0", 1}, {"12345e-2", 12345}, {"1.234e1", 1234},
		{"0.000001e6", 100}, {"1e000000000000000000000002", 10000}, {"1e6", MaxTopUp},
		{"1000000.00e0", MaxTopUp}, {"100000000e-2", MaxTopUp}, {"0.01000000000000000000000000", 1},
	}
	for _, tt := range ok {
		got, err := ParseAmount("amount", tt.in, MaxTopUp)
		if err != nil || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "amount is required"},
		{"0", "must be positive"}, {"0.00", "must be positive"}, {"0e5", "must be positive"},
		{"0e999999999999", "must be positive"},
		{"-1", "must be positive"}, {"-0.5", "must be positive"}, {"-1e2", "must be positive"},
		{"1.005", "at most 2 decimal places"}, {"0.001", "at most 2 decimal places"},
		{"1e-3", "at most 2 decimal places"}, {"0.0099999e0", "at most 2 decimal places"},
		{"9.99999e-1", "at most 2 decimal places"}, {"1e-999999999", "at most 2 decimal places"},
		{"1e-99999999999999999999", "at most 2 decimal places"}, {"123.45e-2", "at most 2 decimal places"},
		{"1000000.01", "too large"}, {"1e7", "too large"}, {"1e400", "too large"},
		{"1e999999999", "too large"}, {"1e99999999999999999999", "too large"},
		{"99999999999999999999", "too large"}, {"1.00000001e6", "too large"},
		{"1000000.1e0", "too large"}, {"12345678901234567890e-2", "too large"},
		{"abc", "must be a number"}, {"1.", "must be a number"}, {".5", "must be a number"},
		{"1..2", "must be a number"}, {"+1", "must be a number"}, {" 1", "must be a number"},
		{"NaN", "must be a number"}, {"Infinity", "must be a number"}, {"0x10", "must be a number"},
		{"1e", "must be a number"}, {"1e+", "must be a number"}, {"1e-", "must be a number"},
		{"e2", "must be a number"}, {"1e2e3", "must be a number"}, {"1e2E3", "must be a number"},
		{"1E2.5", "must be a number"}, {"1e--2", "must be a number"}, {"1_000", "must be a number"},
		{"١", "must be a number"},
	}
	for _, tt := range bad {
		got, err := ParseAmount("amount", tt.in, MaxTopUp)
		if err == nil || ErrorCode(err) != EInvalid || !strings.Contains(ErrorMessage(err), tt.want) {
			t.Errorf("ParseAmount(%q) = %d, %v; want an invalid error containing %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseAmountHugeExponentAllocatesNothingForTheExponent(t *testing.T) {
	in := "1e" + strings.Repeat("9", 1<<20)
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := ParseAmount("amount", in, MaxTopUp); err == nil {
			t.Fatal("no error")
		}
	})
	// The error value and its message; nothing proportional to the exponent.
	if allocs > 10 {
		t.Errorf("ParseAmount of a 1 MiB exponent: %v allocations, want at most 10", allocs)
	}
}

// FuzzParseAmount checks ParseAmount against math/big's exact rationals:
// whatever it accepts is exactly the input times 100, positive and at most
// the maximum; whatever such value it refuses is refused for a reason.
func FuzzParseAmount(f *testing.F) {
	for _, seed := range []string{
		"1", "0.01", "12.340", "1e2", "1.5e1", "1e-2", "0.0099999e0", "1e999999999", "1e-999999999",
		"-1", "+1", "1.", ".5", "1e", "0e5", "1000000.01", "NaN", "0x10", "00000.0100e00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAmount("amount", s, MaxTopUp)
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("ParseAmount(%q): error %v is not EInvalid", s, err)
			}
		} else if got <= 0 || got > MaxTopUp {
			t.Fatalf("ParseAmount(%q) = %d, out of range", s, got)
		}
		// Cross-check when math/big can afford it and s is in the accepted grammar.
		if len(s) > 40 || strings.ContainsAny(s, "+-") && !strings.ContainsAny(s, "eE") || s == "" ||
			s[0] < '0' || s[0] > '9' || strings.HasSuffix(s, ".") || strings.Contains(s, ".e") ||
			strings.Contains(s, ".E") || strings.ContainsAny(s, "_xXpPiInN ") {
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			if err == nil {
				t.Fatalf("ParseAmount(%q) = %d, but it is not a number", s, got)
			}
			return
		}
		cents := new(big.Rat).Mul(r, big.NewRat(100, 1))
		valid := cents.IsInt() && cents.Sign() > 0 && cents.Num().Cmp(big.NewInt(int64(MaxTopUp))) <= 0
		switch {
		case valid && err != nil:
			t.Fatalf("ParseAmount(%q): %v, want %s cents", s, err, cents.Num())
		case valid && big.NewInt(int64(got)).Cmp(cents.Num()) != 0:
			t.Fatalf("ParseAmount(%q) = %d, want %s", s, got, cents.Num())
		case !valid && err == nil:
			t.Fatalf("ParseAmount(%q) = %d, want an error (exact value %s cents)", s, got, cents.RatString())
		}
	})
}

func TestErrorHelpers(t *testing.T) {
	err := Errorf(EConflict, "taken")
	if ErrorCode(err) != EConflict || ErrorMessage(err) != "taken" {
		t.Errorf("got %q %q", ErrorCode(err), ErrorMessage(err))
	}
	wrapped := &Error{Code: EInternal, Message: "db said no", Err: err}
	if ErrorMessage(wrapped) != "internal error" {
		t.Errorf("internal message leaked: %q", ErrorMessage(wrapped))
	}
	if ErrorCode(nil) != "" {
		t.Error("ErrorCode(nil) should be empty")
	}
}
