package stepfn_test

import (
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

func TestReadyAt(t *testing.T) {
	created := time.Date(2026, 12, 1, 5, 59, 50, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		created time.Time
		delay   time.Duration
		want    string
	}{
		{created, 12 * time.Second, "2026-12-01T05:00:02Z"},
		{created, 0, "2026-12-01T04:59:50Z"},
		{created, -time.Second, "2026-12-01T04:59:50Z"},
		// Rounded up: the wait is never shorter than asked.
		{created.Add(250 * time.Millisecond), 10 * time.Second, "2026-12-01T05:00:01Z"},
		{created, 10*time.Second + time.Nanosecond, "2026-12-01T05:00:01Z"},
	}
	for _, tt := range tests {
		got := stepfn.ReadyAt(&mlsvc.Prediction{CreatedAt: tt.created, Delay: tt.delay})
		if got != tt.want {
			t.Errorf("ReadyAt(created %v, delay %v) = %s, want %s", tt.created, tt.delay, got, tt.want)
		}
	}
}
