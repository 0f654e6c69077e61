package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"mlsvc/internal/testenv"
	"mlsvc/pkg/httpapi"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/rowio"
)

// worstRows is the worst well-formed input the limits allow: MaxRows rows,
// every one with the published features and a share of MaxExtraColumns
// distinct extra keys, filling the body limit.
func worstRows(csv bool) string {
	var b bytes.Buffer
	perRow := (httpapi.MaxBodyBytes - 100) / mlsvc.MaxRows
	if csv {
		b.WriteString("feature_0,feature_1,feature_2,feature_3,feature_4")
		for k := range rowio.MaxExtraColumns {
			fmt.Fprintf(&b, ",x%02d", k)
		}
		b.WriteString("\n")
		for i := range mlsvc.MaxRows {
			start := b.Len()
			fmt.Fprintf(&b, "0.%d,1.5,-2,3.25,%d", i, i)
			for k := 0; k < rowio.MaxExtraColumns; k++ {
				if b.Len()-start < perRow-8 {
					fmt.Fprintf(&b, ",v%03d", k) // short cells: the most JSON per CSV byte
				} else {
					b.WriteString(",")
				}
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	b.WriteString(`{"model_id":"rf","input_data":[`)
	for i := range mlsvc.MaxRows {
		if i > 0 {
			b.WriteString(",")
		}
		start := b.Len()
		fmt.Fprintf(&b, `{"feature_0":0.%d,"feature_1":1.5,"feature_2":-2,"feature_3":3.25,"feature_4":%d`, i, i)
		for k := i; b.Len()-start < perRow-20; k++ {
			fmt.Fprintf(&b, `,"x%02d":"v"`, k%rowio.MaxExtraColumns)
			if (k+1)%rowio.MaxExtraColumns == i%rowio.MaxExtraColumns {
				break // every extra key once per row
			}
		}
		b.WriteString("}")
	}
	b.WriteString("]}")
	return b.String()
}

// peakRSS is the server's peak resident set (VmHWM), in bytes.
func (s *server) peakRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	testenv.Need(t, err == nil, "reading the server's /proc status: %v", err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestWorstRequestMemory serves the worst requests the limits allow, as
// JSON and as CSV, through the charge, the inference and the result CSV,
// and checks the server's peak resident memory stays under 256 MB.
func TestWorstRequestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 12 MB of requests")
	}
	t.Setenv("MLSVC_BCRYPT_COST", "4")
	s := startServer(t, t.TempDir(), "0s")
	if code := s.call(t, "POST", "/users", `{"firstname":"Kim","username":"kim","password":"kill-nine-test"}`, nil); code != 201 {
		t.Fatalf("register: %d", code)
	}
	s.call(t, "POST", "/account/topup", `{"amount":100}`, nil)
	idle := s.peakRSS(t)
	for _, csv := range []bool{false, true} {
		body := worstRows(csv)
		if len(body) > httpapi.MaxBodyBytes {
			t.Fatalf("the worst input is %d bytes, over the limit", len(body))
		}
		var accepted struct {
			PredictionID string `json:"prediction_id"`
		}
		var code int
		if csv {
			code = s.callType(t, "POST", "/predict?model_id=rf", "text/csv", body, &accepted)
		} else {
			code = s.call(t, "POST", "/predict", body, &accepted)
		}
		if code != 202 {
			t.Fatalf("worst request (csv %v, %d bytes): %d", csv, len(body), code)
		}
		testenv.WaitFor(t, 60*time.Second, 100*time.Millisecond, func() error {
			var p struct{ Status, Error string }
			s.call(t, "GET", "/predict/"+accepted.PredictionID, "", &p)
			if p.Status != "completed" {
				return fmt.Errorf("worst request (csv %v): %s %s", csv, p.Status, p.Error)
			}
			return nil
		})
	}
	peak := s.peakRSS(t)
	t.Logf("MEMORY peak RSS %.1f MB (idle %.1f MB) serving the worst JSON and CSV requests", float64(peak)/1e6, float64(idle)/1e6)
	if peak > 256<<20 {
		t.Errorf("peak RSS %d bytes, over 256 MB", peak)
	}
}
