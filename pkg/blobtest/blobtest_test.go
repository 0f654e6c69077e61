package blobtest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mlsvc/pkg/blobtest"
	"mlsvc/pkg/mlsvc"
)

// memBlobs is a reference mlsvc.Blobs in memory. bug, when set, breaks one
// rule of the contract, to show that the suite notices.
type memBlobs struct {
	mu   sync.Mutex
	m    map[string][]byte
	down bool
	bug  string
}

func (b *memBlobs) fail() error {
	if b.down {
		code := mlsvc.EUnavailable
		if b.bug == "unavailable-internal" {
			code = mlsvc.EInternal
		}
		return mlsvc.Errorf(code, "blob storage is unavailable")
	}
	return nil
}

func (b *memBlobs) Put(_ context.Context, key, _ string, body io.Reader) error {
	if err := b.fail(); err != nil {
		return err
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bug == "overwrite-appends" {
		data = append(b.m[key], data...)
	}
	b.m[key] = data
	return nil
}

func (b *memBlobs) Get(_ context.Context, key string) (io.ReadCloser, error) {
	if err := b.fail(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[key]
	if !ok {
		if b.bug == "notfound-internal" {
			return nil, fmt.Errorf("no such key %s", key)
		}
		return nil, mlsvc.Errorf(mlsvc.ENotFound, "blob %s not found", key)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *memBlobs) Delete(_ context.Context, key string) error {
	if err := b.fail(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[key]; !ok && b.bug == "delete-absent-errors" {
		return mlsvc.Errorf(mlsvc.ENotFound, "blob %s not found", key)
	}
	delete(b.m, key)
	return nil
}

func (b *memBlobs) URL(_ context.Context, key, _ string, ttl time.Duration) (string, error) {
	if ttl > mlsvc.MaxURLTTL || ttl <= 0 && b.bug != "no-clamp-zero" {
		ttl = mlsvc.MaxURLTTL
	}
	return "mem:///" + url.PathEscape(key) + "?ttl=" + strconv.Itoa(int(ttl.Seconds())), nil
}

func run(t *testing.T, bug string) {
	newBlobs := func(t *testing.T) mlsvc.Blobs { return &memBlobs{m: map[string][]byte{}, bug: bug} }
	blobtest.Run(t, newBlobs, blobtest.Options{
		URLTTL: func(t *testing.T, raw string) time.Duration {
			return time.Duration(blobtest.QueryInt(t, raw, "ttl")) * time.Second
		},
		Down: map[string]func(t *testing.T) mlsvc.Blobs{
			"down": func(t *testing.T) mlsvc.Blobs { return &memBlobs{m: map[string][]byte{}, down: true, bug: bug} },
		},
	})
}

// TestReference: a correct implementation passes the suite.
func TestReference(t *testing.T) {
	if bug := os.Getenv("BLOBTEST_BUG"); bug != "" {
		run(t, bug) // in the child of TestSuiteCatchesBugs
		return
	}
	run(t, "")
}

// TestSuiteCatchesBugs runs the suite, in a child test binary, on
// implementations that each break one rule, and checks that the suite
// fails in the subtest about that rule.
func TestSuiteCatchesBugs(t *testing.T) {
	tests := []struct{ bug, subtest string }{
		{"overwrite-appends", "Overwrite"},
		{"notfound-internal", "NotFound"},
		{"delete-absent-errors", "Delete"},
		{"no-clamp-zero", "URLTTL"},
		{"unavailable-internal", "Unavailable/down"},
	}
	for _, tt := range tests {
		t.Run(tt.bug, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestReference$", "-test.v")
			cmd.Env = append(os.Environ(), "BLOBTEST_BUG="+tt.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed an implementation with bug %s:\n%s", tt.bug, out)
			}
			if want := "--- FAIL: TestReference/" + tt.subtest + " "; !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
