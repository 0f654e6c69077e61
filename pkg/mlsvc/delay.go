package mlsvc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultDelay is the workflow's wait unless configured (MLSVC_DELAY on both
// runtimes): the product's 10–25 s of processing.
const DefaultDelay = "10s-25s"

// Delay is the workflow's wait before inference: a fixed duration or a
// uniform random one in [Min, Max].
type Delay struct{ Min, Max time.Duration }

// ParseDelay reads "10s-25s", "1s-2s" or a fixed "0s"; "" is DefaultDelay.
func ParseDelay(s string) (Delay, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultDelay
	}
	bad := fmt.Errorf("delay %q: want a duration like 10s or a range like 10s-25s", s)
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	minimum, err := time.ParseDuration(lo)
	if err != nil {
		return Delay{}, bad
	}
	maximum := minimum
	if isRange {
		if maximum, err = time.ParseDuration(hi); err != nil {
			return Delay{}, bad
		}
	}
	if minimum < 0 || maximum < minimum {
		return Delay{}, fmt.Errorf("delay %q: the range must be non-negative and ascending", s)
	}
	return Delay{minimum, maximum}, nil
}

// Pick returns a delay in the range, in whole seconds as Step Functions'
// Wait state counts them. A range under one second (tests, demos) is kept
// as it is, so "200ms" waits 200 ms locally.
func (d Delay) Pick() time.Duration {
	v := d.Min
	if d.Max > d.Min {
		v += rand.N(d.Max - d.Min + 1)
	}
	if d.Max >= time.Second {
		v = v.Round(time.Second)
	}
	return v
}

// String is the setting that parses back to d.
func (d Delay) String() string {
	if d.Min == d.Max {
		return d.Min.String()
	}
	return d.Min.String() + "-" + d.Max.String()
}
