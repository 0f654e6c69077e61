// Package testenv holds the two helpers every test package here needs and
// used to copy: the rule "skip on a laptop, fail under CI" for tests that
// need something from outside the repository (an emulator, a binary,
// third-party fixtures), and a polling wait with a deadline.
//
// A test that needs DynamoDB Local, say, begins with
//
//	endpoint := os.Getenv("MLSVC_DYNAMODB_ENDPOINT")
//	testenv.Need(t, endpoint != "", "MLSVC_DYNAMODB_ENDPOINT is not set: make test sets it")
//
// which skips the test on a laptop without the emulator and fails it when
// CI=true or MLSVC_STRICT=1, where nothing may be silently skipped. A test
// that waits for something asynchronous writes
//
//	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
//		return done()
//	}, "prediction %s still pending", id)
//
// instead of a hand-rolled deadline loop; WaitFor does the same with a
// func() error and reports the last error, for a message that shows the
// last state seen ("status pending", "connection refused").
package testenv

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// StrictHint is appended to the message of a test that Need fails.
const StrictHint = "(required when CI=true or MLSVC_STRICT=1)"

// Strict reports whether tests must not skip for a missing dependency:
// under CI (CI=true, as GitHub Actions and most CI systems set) or when a
// developer asks for it with MLSVC_STRICT=1.
func Strict() bool {
	return os.Getenv("CI") == "true" || os.Getenv("MLSVC_STRICT") == "1"
}

// Need does nothing when ok. Otherwise it stops t: with t.Skipf and the
// formatted message on a laptop, with t.Fatalf, the message and StrictHint
// when Strict. Call it like t.Skipf, from the test's goroutine.
func Need(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	Skip(t, format, args...)
}

// Skip stops t because something it needs is missing: t.Skipf on a laptop,
// t.Fatalf (with StrictHint) when Strict. It is Need(t, false, …), for a
// test that has already found out.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("%s %s", msg, StrictHint)
		return
	}
	t.Skip(msg)
}

// Eventually calls cond every interval until it returns true, and fails t
// with t.Fatalf and the formatted message if it has not after timeout.
// cond is always called at least once, and once more at the deadline, so
// a slow machine cannot fail a condition that became true while sleeping.
// cond runs on the caller's goroutine, so it may call t.Fatal itself (to
// stop early on a state that can never turn good).
//
// The message's args are evaluated once, before polling; to report the
// last state seen, use WaitFor.
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	WaitFor(t, timeout, interval, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf(format, args...)
	})
}

// WaitFor calls try every interval until it returns nil, and fails t with
// t.Fatalf and try's last error if it has not after timeout. Like
// Eventually, it tries at least once and once more at the deadline.
func WaitFor(t testing.TB, timeout, interval time.Duration, try func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := try()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
			return
		}
		time.Sleep(min(interval, max(time.Until(deadline), time.Millisecond)))
	}
}
