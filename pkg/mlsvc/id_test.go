package mlsvc_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// NewID makes RFC 9562 version 7 UUIDs: the creation time in milliseconds,
// then random bits. Ids of later milliseconds sort after earlier ones.
func TestNewIDIsTimeOrderedUUIDv7(t *testing.T) {
	before := time.Now().UnixMilli()
	first := mlsvc.NewID()
	after := time.Now().UnixMilli()
	if !uuidV7.MatchString(first) {
		t.Fatalf("NewID() = %q, want a version 7 UUID", first)
	}
	ms, err := strconv.ParseInt(strings.ReplaceAll(first[:13], "-", ""), 16, 64)
	if err != nil || ms < before || ms > after {
		t.Fatalf("NewID() = %q: time %d ms, want within [%d, %d]", first, ms, before, after)
	}
	seen := map[string]bool{first: true}
	prev := first
	for range 2000 {
		id := mlsvc.NewID()
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
		if id[:13] < prev[:13] {
			t.Fatalf("NewID() = %q after %q: its time went back", id, prev)
		}
		prev = id
	}
	time.Sleep(2 * time.Millisecond)
	if later := mlsvc.NewID(); later <= first {
		t.Fatalf("an id made 2 ms later (%q) sorts before %q", later, first)
	}
}
