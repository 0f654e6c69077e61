package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeTB records how a helper stopped the test. Like testing.T, its Fatalf
// and Skip end the calling goroutine, so code after them never runs.
type fakeTB struct {
	testing.TB
	fatal, skipped bool
	msg            string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any) {
	f.skipped, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// call runs fn(f) on its own goroutine, as testing runs a test, and reports
// whether fn returned normally (rather than being stopped).
func call(f *fakeTB, fn func(testing.TB)) (returned bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
		returned = true
	}()
	<-done
	return returned
}

func setStrict(t *testing.T, ci, strict string) {
	t.Setenv("CI", ci)
	t.Setenv("MLSVC_STRICT", strict)
}

func TestStrict(t *testing.T) {
	tests := []struct {
		ci, strict string
		want       bool
	}{
		{"", "", false},
		{"true", "", true},
		{"", "1", true},
		{"true", "1", true},
		{"false", "0", false},
		{"1", "", false}, // only CI=true, as CI systems set it
		{"", "true", false},
	}
	for _, tt := range tests {
		setStrict(t, tt.ci, tt.strict)
		if got := Strict(); got != tt.want {
			t.Errorf("CI=%q MLSVC_STRICT=%q: Strict() = %v, want %v", tt.ci, tt.strict, got, tt.want)
		}
	}
}

func TestNeed(t *testing.T) {
	tests := []struct {
		name              string
		ci, strict        string
		ok                bool
		wantFatal, wantSk bool
	}{
		{"ok on a laptop", "", "", true, false, false},
		{"ok under CI", "true", "", true, false, false},
		{"missing on a laptop skips", "", "", false, false, true},
		{"missing under CI fails", "true", "", false, true, false},
		{"missing with MLSVC_STRICT fails", "", "1", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setStrict(t, tt.ci, tt.strict)
			f := &fakeTB{}
			returned := call(f, func(tb testing.TB) { Need(tb, tt.ok, "no emulator at %s", "127.0.0.1:1") })
			if f.fatal != tt.wantFatal || f.skipped != tt.wantSk {
				t.Fatalf("fatal=%v skipped=%v, want fatal=%v skipped=%v (%q)", f.fatal, f.skipped, tt.wantFatal, tt.wantSk, f.msg)
			}
			if returned != tt.ok {
				t.Errorf("Need returned = %v, want %v", returned, tt.ok)
			}
			switch {
			case tt.wantFatal:
				if want := "no emulator at 127.0.0.1:1 " + StrictHint; f.msg != want {
					t.Errorf("message %q, want %q", f.msg, want)
				}
			case tt.wantSk:
				if want := "no emulator at 127.0.0.1:1"; f.msg != want {
					t.Errorf("message %q, want %q", f.msg, want)
				}
			}
		})
	}
}

// TestNeedWithRealT runs a test that calls Need in a child test binary, to
// show that go test reports it as SKIP on a laptop and as FAIL under CI.
func TestNeedWithRealT(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Need(t, false, "child needs something missing")
		t.Log("unreachable: Need did not stop the test")
		return
	}
	for _, tt := range []struct {
		env      []string
		wantFail bool
		want     string
	}{
		{[]string{"CI=", "MLSVC_STRICT="}, false, "--- SKIP: TestNeedWithRealT"},
		{[]string{"CI=true", "MLSVC_STRICT="}, true, "--- FAIL: TestNeedWithRealT"},
		{[]string{"CI=", "MLSVC_STRICT=1"}, true, "--- FAIL: TestNeedWithRealT"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeedWithRealT$", "-test.v")
		cmd.Env = append(append(os.Environ(), "TESTENV_CHILD=1"), tt.env...)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tt.wantFail {
			t.Errorf("%v: child failed = %v (%v), want %v\n%s", tt.env, failed, err, tt.wantFail, out)
		}
		if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "child needs something missing") {
			t.Errorf("%v: output lacks %q and the message:\n%s", tt.env, tt.want, out)
		}
		if strings.Contains(string(out), "unreachable") {
			t.Errorf("%v: the test went on after Need:\n%s", tt.env, out)
		}
	}
}

// mustReturn runs fn with a fake TB and fails t if fn stopped it.
func mustReturn(t *testing.T, fn func(tb testing.TB)) {
	t.Helper()
	f := &fakeTB{}
	if !call(f, fn) || f.fatal {
		t.Fatalf("stopped: %q", f.msg)
	}
}

func TestEventually(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		interval time.Duration
		trueAt   int // the call of cond that returns true
	}{
		{"true at once", time.Second, time.Hour, 1},
		{"true after a few polls", 5 * time.Second, time.Millisecond, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			mustReturn(t, func(tb testing.TB) {
				Eventually(tb, tc.timeout, tc.interval, func() bool { n++; return n == tc.trueAt }, "never")
			})
			if n != tc.trueAt {
				t.Errorf("cond called %d times, want %d", n, tc.trueAt)
			}
		})
	}
	t.Run("times out", func(t *testing.T) {
		f := &fakeTB{}
		n := 0
		start := time.Now()
		returned := call(f, func(tb testing.TB) {
			Eventually(tb, 50*time.Millisecond, 10*time.Millisecond, func() bool { n++; return false }, "status %q", "pending")
		})
		elapsed := time.Since(start)
		if returned || !f.fatal {
			t.Fatalf("returned=%v fatal=%v, want a failure", returned, f.fatal)
		}
		if want := `after 50ms: status "pending"`; f.msg != want {
			t.Errorf("message %q, want %q", f.msg, want)
		}
		if elapsed < 50*time.Millisecond || elapsed > 5*time.Second {
			t.Errorf("failed after %v, want about 50ms", elapsed)
		}
		if n < 2 {
			t.Errorf("cond called %d times, want it polled", n)
		}
	})
	t.Run("WaitFor reports the last error", func(t *testing.T) {
		f := &fakeTB{}
		n := 0
		returned := call(f, func(tb testing.TB) {
			WaitFor(tb, 30*time.Millisecond, 5*time.Millisecond, func() error { n++; return fmt.Errorf("try %d", n) })
		})
		if returned || !f.fatal {
			t.Fatalf("returned=%v fatal=%v, want a failure", returned, f.fatal)
		}
		if want := fmt.Sprintf("after 30ms: try %d", n); f.msg != want {
			t.Errorf("message %q, want %q (the last error)", f.msg, want)
		}
	})
	t.Run("WaitFor stops at nil", func(t *testing.T) {
		n := 0
		mustReturn(t, func(tb testing.TB) {
			WaitFor(tb, 5*time.Second, time.Millisecond, func() error {
				if n++; n < 3 {
					return fmt.Errorf("try %d", n)
				}
				return nil
			})
		})
		if n != 3 {
			t.Errorf("try called %d times, want 3", n)
		}
	})
	t.Run("checked again at the deadline", func(t *testing.T) {
		// An interval longer than the timeout still gets a last look.
		start := time.Now()
		mustReturn(t, func(tb testing.TB) {
			Eventually(tb, 30*time.Millisecond, time.Hour, func() bool { return time.Since(start) >= 30*time.Millisecond }, "never")
		})
	})
}
