// Package stripemock runs stripe-mock, Stripe's fake of its API, for the
// top-up tests of both runtimes (pkg/local and test/aws).
package stripemock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mlsvc/internal/testenv"
)

// Start runs stripe-mock on a free loopback port until t ends and returns
// its URL. It skips t without stripe-mock (fails under CI=true or
// MLSVC_STRICT=1). Its output is logged if t fails.
func Start(t testing.TB) string {
	t.Helper()
	bin := binary()
	if bin == "" {
		testenv.Skip(t, "stripe-mock not installed: go install github.com/stripe/stripe-mock@v0.203.0 (make aws-setup does, into .cache/bin)")
		return ""
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(t.TempDir(), "stripe-mock.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-http-addr", addr)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- output of stripe-mock:\n%s", b)
		}
	})
	testenv.WaitFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return fmt.Errorf("stripe-mock on %s: %w", addr, err)
		}
		c.Close()
		return nil
	})
	return "http://" + addr
}

// binary finds stripe-mock: in the repository's .cache/bin (where make
// aws-setup installs it), on PATH, or in GOPATH/bin; "" if nowhere.
func binary() string {
	if root, err := repoRoot(); err == nil {
		if bin := filepath.Join(root, ".cache", "bin", "stripe-mock"); isFile(bin) {
			return bin
		}
	}
	if bin, err := exec.LookPath("stripe-mock"); err == nil {
		return bin
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		if bin := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "stripe-mock"); isFile(bin) {
			return bin
		}
	}
	return ""
}

// repoRoot is the nearest directory above the working directory (a test's
// package directory) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}
