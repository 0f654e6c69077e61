package mlsvc

import "testing"

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
		{"1000000", MaxTopUp}, {"1e2", 10000}, {"2.5E1", 2500}, {"0.1", 10},
	}
	for _, tt := range ok {
		got, err := ParseAmount("amount", tt.in, MaxTopUp)
		if err != nil || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	bad := []string{"", "0", "0.00", "-1", "-0.5", "1.005", "0.001", "1000000.01", "1e7", "1e400",
		"abc", "1.", ".5", "1..2", "99999999999999999999", "1e-3", "+1", " 1", "NaN", "Infinity", "0x10"}
	for _, in := range bad {
		if got, err := ParseAmount("amount", in, MaxTopUp); err == nil || ErrorCode(err) != EInvalid {
			t.Errorf("ParseAmount(%q) = %d, %v; want an invalid error", in, got, err)
		}
	}
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
