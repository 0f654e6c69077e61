package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"mlsvc/pkg/sqlite"
)

// TestKillNineKeepsAcknowledgedInputs: the server dies by SIGKILL while
// predictions are being accepted, right after the last of a set of
// acknowledged ones; after a restart, every acknowledged (202) prediction
// is there, pending, charged once, with the exact input it was sent: small
// inputs kept in the database with their charge, and large ones (over
// sqlite.MaxInlineBytes) kept as files. The audit finds every balance equal
// to its ledger.
func TestKillNineKeepsAcknowledgedInputs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MLSVC_RATE_LIMIT", "off") // the server inherits the environment
	s := startServer(t, dir, "1h")
	if code := s.call(t, "POST", "/users", `{"firstname":"Kim","username":"kim","password":"kill-nine-test"}`, nil); code != 201 {
		t.Fatalf("register: %d", code)
	}
	if code := s.call(t, "POST", "/account/topup", `{"amount":1000000}`, nil); code != 200 {
		t.Fatalf("top-up: %d", code)
	}
	row := func(i int) string {
		return fmt.Sprintf(`{"feature_0":%d.5,"feature_1":0.1,"feature_2":0.9,"feature_3":0.3,"feature_4":0.7}`, i)
	}
	large := func(i int) string {
		var b strings.Builder
		b.WriteString("[")
		for b.Len() < sqlite.MaxInlineBytes+1000 {
			if b.Len() > 1 {
				b.WriteString(",")
			}
			b.WriteString(row(i))
		}
		b.WriteString("]")
		return b.String()
	}
	post := func(input string) (string, error) {
		req, _ := http.NewRequest("POST", s.base+"/predict", strings.NewReader(`{"model_id":"lr","input_data":`+input+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("kim", "kill-nine-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var out struct {
			PredictionID string `json:"prediction_id"`
		}
		if resp.StatusCode != http.StatusAccepted {
			return "", fmt.Errorf("predict: %s", resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return "", err
		}
		return out.PredictionID, nil
	}

	// Eight clients post predictions, every fifth one large, until the
	// server dies; it is killed as soon as 60 have been acknowledged, with
	// the others' requests in flight.
	const want = 60
	var (
		mu     sync.Mutex
		acked  = map[string]string{} // prediction id → input sent
		killed = make(chan struct{})
		once   sync.Once
		wg     sync.WaitGroup
	)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ; i += 8 {
				input := row(i)
				if i%5 == 0 {
					input = large(i)
				}
				id, err := post(input)
				select {
				case <-killed:
					return // an answer after the kill began: not counted
				default:
				}
				if err != nil {
					t.Errorf("before the kill: %v", err)
					return
				}
				mu.Lock()
				acked[id] = input
				n := len(acked)
				mu.Unlock()
				if n >= want {
					once.Do(func() {
						close(killed) // first: the failures the kill causes are expected
						s.kill()
					})
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	larges := 0
	for _, input := range acked {
		if len(input) > sqlite.MaxInlineBytes {
			larges++
		}
	}
	if larges == 0 {
		t.Fatalf("no large input among the %d acknowledged predictions", len(acked))
	}

	s = startServer(t, dir, "1h")
	for id, sent := range acked {
		var p struct {
			Status    string          `json:"status"`
			InputData json.RawMessage `json:"input_data"`
		}
		if code := s.call(t, "GET", "/predict/"+id, "", &p); code != 200 {
			t.Errorf("acknowledged prediction %s after kill -9: %d", id, code)
			continue
		}
		var got, want bytes.Buffer
		if err := json.Compact(&got, p.InputData); err != nil || json.Compact(&want, []byte(sent)) != nil || got.String() != want.String() {
			t.Errorf("prediction %s (%s): input of %d bytes after kill -9, want the %d bytes sent (%v)", id, p.Status, len(p.InputData), len(sent), err)
		}
		if p.Status != "pending" {
			t.Errorf("prediction %s: %s after kill -9, want pending", id, p.Status)
		}
	}
	t.Logf("%d acknowledged predictions (%d large) kept their inputs through kill -9", len(acked), larges)
	s.kill()
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"audit", "--data", dir}, nil, &out, &errOut); err != nil {
		t.Errorf("mlsvc audit after kill -9: %v\n%s%s", err, out.String(), errOut.String())
	}
}
