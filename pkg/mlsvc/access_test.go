package mlsvc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

func TestParseRate(t *testing.T) {
	def := mlsvc.Rate{N: 7, Per: time.Minute}
	for _, c := range []struct {
		in   string
		want mlsvc.Rate
		err  bool
	}{
		{"", def, false},
		{"off", mlsvc.Rate{}, false},
		{"20/s", mlsvc.Rate{N: 20, Per: time.Second}, false},
		{"30/min", mlsvc.Rate{N: 30, Per: time.Minute}, false},
		{"100/h", mlsvc.Rate{N: 100, Per: time.Hour}, false},
		{"0/s", mlsvc.Rate{}, true},
		{"-1/s", mlsvc.Rate{}, true},
		{"20", mlsvc.Rate{}, true},
		{"20/day", mlsvc.Rate{}, true},
		{"x/s", mlsvc.Rate{}, true},
	} {
		got, err := mlsvc.ParseRate(c.in, def)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
	if s := (mlsvc.Rate{N: 30, Per: time.Minute}).String(); s != "30/min" {
		t.Errorf("String = %q", s)
	}
}

func TestBucketLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := mlsvc.NewBucketLimiter(mlsvc.Rate{N: 4, Per: time.Second}, func() time.Time { return now })
	ctx := context.Background()
	for i := range 4 {
		if err := l.Allow(ctx, "a"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	err := l.Allow(ctx, "a")
	var e *mlsvc.Error
	if mlsvc.ErrorCode(err) != mlsvc.EThrottled || !errors.As(err, &e) || e.RetryAfter <= 0 {
		t.Fatalf("5th request: %v, want EThrottled with RetryAfter", err)
	}
	if err := l.Allow(ctx, "b"); err != nil {
		t.Errorf("another caller: %v", err)
	}
	now = now.Add(250 * time.Millisecond) // one token back
	if err := l.Allow(ctx, "a"); err != nil {
		t.Errorf("after a refill: %v", err)
	}
	if err := l.Allow(ctx, "a"); err == nil {
		t.Error("only one token came back")
	}
	if err := mlsvc.NewBucketLimiter(mlsvc.Rate{}, nil).Allow(ctx, "a"); err != nil {
		t.Errorf("off: %v", err)
	}
}

func TestParseKeyset(t *testing.T) {
	k := mlsvc.NewKeyset().Rotate()
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := mlsvc.ParseKeyset(b)
	if err != nil || got.Current.ID != k.Current.ID || len(got.Previous) != 1 || got.Previous[0].ID != k.Previous[0].ID {
		t.Errorf("ParseKeyset(MarshalJSON) = %+v, %v", got, err)
	}
	// Secrets Manager's generated string: one key named by its hash.
	raw := strings.Repeat("s3cr3t-", 8)
	one, err := mlsvc.ParseKeyset([]byte(raw))
	if err != nil || string(one.Current.Secret) != raw || one.Current.ID == "" {
		t.Errorf("ParseKeyset(raw) = %+v, %v", one, err)
	}
	for _, bad := range []string{"short", `{"current":{"kid":"a","secret":"c2hvcnQ="}}`, `{"current":{"secret":"` + strings.Repeat("A", 64) + `"}}`, `{`} {
		if _, err := mlsvc.ParseKeyset([]byte(bad)); err == nil {
			t.Errorf("ParseKeyset(%q): no error", bad)
		}
	}
}
