package httpapi

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestPreferWait(t *testing.T) {
	tests := []struct {
		prefer []string
		want   time.Duration
		ok     bool
	}{
		{nil, 0, false},
		{[]string{"wait=5"}, 5 * time.Second, true},
		{[]string{"respond-async, wait=10"}, 10 * time.Second, true},
		{[]string{"respond-async", "Wait=3"}, 3 * time.Second, true},
		{[]string{` wait = "7" `}, 7 * time.Second, true},
		{[]string{"wait=7; foo=bar"}, 7 * time.Second, true},
		{[]string{"wait=1000"}, 60 * time.Second, true}, // clamped to the maximum
		{[]string{"wait=99999999999999999999"}, 0, false},
		{[]string{"wait=0"}, 0, false},
		{[]string{"wait=-1"}, 0, false},
		{[]string{"wait=1.5"}, 0, false},
		{[]string{"wait=abc"}, 0, false},
		{[]string{"wait"}, 0, false},
		{[]string{"waiting=5"}, 0, false},
		{[]string{"return=minimal"}, 0, false},
	}
	api := New(nil, nil, nil).WithMaxWait(MaxWaitLocal)
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/predict/x", nil)
		for _, v := range tt.prefer {
			r.Header.Add("Prefer", v)
		}
		got, ok := api.preferWait(r)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Prefer %q: %v, %v; want %v, %v", tt.prefer, got, ok, tt.want, tt.ok)
		}
	}
	r := httptest.NewRequest("GET", "/predict/x", nil)
	r.Header.Set("Prefer", "wait=30")
	if got, _ := New(nil, nil, nil).WithMaxWait(MaxWaitLambda).preferWait(r); got != 20*time.Second {
		t.Errorf("wait=30 on Lambda: %v, want 20s", got)
	}
	if _, ok := New(nil, nil, nil).preferWait(r); ok {
		t.Error("an API without WithMaxWait honours Prefer: wait")
	}
}
