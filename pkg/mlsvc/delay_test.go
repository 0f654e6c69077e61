package mlsvc_test

import (
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

func TestDelay(t *testing.T) {
	for _, c := range []struct {
		in        string
		min, max  time.Duration
		wholeSecs bool
	}{
		{"0s", 0, 0, true},
		{"12s", 12 * time.Second, 12 * time.Second, true},
		{" 10s-25s ", 10 * time.Second, 25 * time.Second, true},
		{"", 10 * time.Second, 25 * time.Second, true}, // the default
		{"100ms-300ms", 100 * time.Millisecond, 300 * time.Millisecond, false},
	} {
		d, err := mlsvc.ParseDelay(c.in)
		if err != nil || d.Min != c.min || d.Max != c.max {
			t.Errorf("ParseDelay(%q) = %+v, %v; want %v-%v", c.in, d, err, c.min, c.max)
		}
		for range 50 {
			p := d.Pick()
			if p < c.min || p > c.max || c.wholeSecs && p%time.Second != 0 {
				t.Fatalf("%+v.Pick() = %v, want in [%v, %v] (whole seconds: %v)", d, p, c.min, c.max, c.wholeSecs)
			}
		}
		if back, err := mlsvc.ParseDelay(d.String()); err != nil || back != d {
			t.Errorf("ParseDelay(%q.String() = %q) = %+v, %v", c.in, d.String(), back, err)
		}
	}
	for _, bad := range []string{"ten", "10s-", "-5s", "3s-1s"} {
		if _, err := mlsvc.ParseDelay(bad); err == nil {
			t.Errorf("ParseDelay(%q): no error", bad)
		}
	}
}

func TestParseBcryptCost(t *testing.T) {
	for in, want := range map[string]int{"": mlsvc.DefaultBcryptCost, "4": 4, "12": 12} {
		if got, err := mlsvc.ParseBcryptCost(in); err != nil || got != want {
			t.Errorf("ParseBcryptCost(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"3", "32", "ten", "-1"} {
		if _, err := mlsvc.ParseBcryptCost(bad); err == nil {
			t.Errorf("ParseBcryptCost(%q): no error", bad)
		}
	}
}

func TestPageSize(t *testing.T) {
	for limit, want := range map[int]int{-1: mlsvc.DefaultPageLimit, 0: mlsvc.DefaultPageLimit, 1: 1, 500: 500, mlsvc.MaxPageLimit + 1: mlsvc.MaxPageLimit} {
		if got := (mlsvc.Page{Limit: limit}).Size(); got != want {
			t.Errorf("Page{Limit: %d}.Size() = %d, want %d", limit, got, want)
		}
	}
}

func TestUsernameKey(t *testing.T) {
	for in, want := range map[string]string{"Ann.B-2@x": "ann.b-2@x", "ann": "ann", "K": "k"} {
		if got := mlsvc.UsernameKey(in); got != want {
			t.Errorf("UsernameKey(%q) = %q, want %q", in, got, want)
		}
	}
	// The Kelvin sign folds to k under Unicode rules, not under ours.
	if got := mlsvc.UsernameKey("\u212a"); got == "k" {
		t.Errorf("UsernameKey(Kelvin sign) = %q: a look-alike must not fold onto a name", got)
	}
}
