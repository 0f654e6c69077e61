package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"mlsvc/internal/testenv"
)

// The test binary doubles as the server: with MLSVC_TEST_SERVE=1 it runs
// `mlsvc serve` instead of the tests, so a test can kill it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("MLSVC_TEST_SERVE") == "1" {
		if err := run(context.Background(), []string{"serve"}, os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type server struct {
	cmd  *exec.Cmd
	base string
}

func startServer(t *testing.T, dir, delay string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "MLSVC_TEST_SERVE=1", "MLSVC_ADDR="+addr, "MLSVC_DATA_DIR="+dir, "MLSVC_DELAY="+delay)
	cmd.Stderr = io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	t.Cleanup(func() { s.kill() })
	testenv.WaitFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		resp, err := http.Get(s.base + "/healthz")
		if err != nil {
			return fmt.Errorf("server on %s did not become healthy: %w", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("server on %s did not become healthy: %s", addr, resp.Status)
		}
		return nil
	})
	return s
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

func (s *server) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return s.callType(t, method, path, "application/json", body, out)
}

func (s *server) callType(t *testing.T, method, path, contentType, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth("kim", "kill-nine-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestKillNineResumes: a prediction pending when the server dies by SIGKILL
// completes after the next start, and is charged once.
func TestKillNineResumes(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "2s")
	if code := s.call(t, "POST", "/users", `{"firstname":"Kim","username":"kim","password":"kill-nine-test"}`, nil); code != 201 {
		t.Fatalf("register: %d", code)
	}
	s.call(t, "POST", "/account/topup", `{"amount":20}`, nil)
	var accepted struct {
		PredictionID string `json:"prediction_id"`
	}
	row := `{"feature_0":0.5,"feature_1":0.1,"feature_2":0.9,"feature_3":0.3,"feature_4":0.7}`
	if code := s.call(t, "POST", "/predict", `{"model_id":"cb","input_data":`+row+`}`, &accepted); code != 202 {
		t.Fatalf("predict: %d", code)
	}
	s.kill()

	s = startServer(t, dir, "0s")
	var p struct {
		Status string
		Error  string
	}
	testenv.WaitFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		s.call(t, "GET", "/predict/"+accepted.PredictionID, "", &p)
		if p.Status == "failed" {
			t.Fatalf("after restart: failed: %s", p.Error)
		}
		if p.Status != "completed" {
			return fmt.Errorf("after restart: status %q, want completed", p.Status)
		}
		return nil
	})
	var me struct{ Balance json.Number }
	s.call(t, "GET", "/users/me", "", &me)
	if me.Balance.String() != "0" {
		t.Errorf("balance = %s, want 0 (20 minus one charge of 20)", me.Balance)
	}
	s.kill()
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"audit", "--data", dir}, nil, &out, &errOut); err != nil {
		t.Errorf("mlsvc audit after kill -9 and restart: %v\n%s%s", err, out.String(), errOut.String())
	}
}
