package localblob

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"mlsvc/pkg/mlsvc"
)

func TestStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := New(dir, "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	mux := http.NewServeMux()
	mux.Handle("/blobs/", http.StripPrefix("/blobs/", s.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if err := s.Put(ctx, "predictions/p1/result.csv", "text/csv", strings.NewReader("a,b\n1,2\n")); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(ctx, "predictions/p1/result.csv")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "a,b\n1,2\n" {
		t.Errorf("Get = %q", data)
	}
	if _, err := s.Get(ctx, "predictions/none"); mlsvc.ErrorCode(err) != mlsvc.ENotFound {
		t.Errorf("Get(absent) error = %v, want not found", err)
	}
	for _, key := range []string{"../etc/passwd", "/abs", "a/../../b", "", ".signing-key"} {
		if err := s.Put(ctx, key, "", strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want refused", key)
		}
	}

	u, err := s.URL(ctx, "predictions/p1/result.csv", "prediction-p1.csv", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	if exp := parsed.Query().Get("exp"); exp != "1800000900" {
		t.Errorf("exp = %s, want capped at 15 minutes (1800000900)", exp)
	}
	resp := fetch(t, srv.URL+u)
	if resp.StatusCode != 200 || resp.body != "a,b\n1,2\n" {
		t.Fatalf("signed URL: %d %q", resp.StatusCode, resp.body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=prediction-p1.csv` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q", ct)
	}

	tampered := []string{
		strings.Replace(u, "p1", "p2", 1),                  // another key
		strings.Replace(u, "exp=18", "exp=19", 1),          // a later expiry
		strings.Replace(u, "name=prediction", "name=x", 1), // another file name
		strings.Split(u, "&sig=")[0],                       // no signature
	}
	for _, bad := range tampered {
		if r := fetch(t, srv.URL+bad); r.StatusCode != 403 {
			t.Errorf("tampered URL %s: %d, want 403", bad, r.StatusCode)
		}
	}
	now = now.Add(16 * time.Minute)
	if r := fetch(t, srv.URL+u); r.StatusCode != 403 || !strings.Contains(r.body, "expired") {
		t.Errorf("expired URL: %d %s, want 403 expired", r.StatusCode, r.body)
	}

	// The key survives a restart, so URLs do too.
	s2, err := New(dir, "/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	if string(s2.key) != string(s.key) {
		t.Error("signing key changed across reopen")
	}
}

type response struct {
	*http.Response
	body string
}

func fetch(t *testing.T, u string) response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}
