// Package webhooktest is a webhook endpoint for tests, shared by the local
// and the AWS suites: it records the deliveries it receives, answers with
// the statuses a test scripts, and checks a delivery's Standard Webhooks
// signature as a receiver would.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Delivery is one POST a Receiver received.
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Receiver is a webhook endpoint on loopback. It answers the statuses of
// its script in turn, then the status Answer set (204 unless set).
type Receiver struct {
	URL string

	mu     sync.Mutex
	got    []Delivery
	script []int
	status int
}

// NewReceiver starts a Receiver, closed when the test ends.
func NewReceiver(t testing.TB, script ...int) *Receiver {
	rc := &Receiver{script: script, status: http.StatusNoContent}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, Delivery{r.Header.Clone(), body})
		status := rc.status
		if len(rc.script) > 0 {
			status, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Answer sets the status of the answers after the script.
func (rc *Receiver) Answer(status int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

// Deliveries returns what the Receiver received so far, in order.
func (rc *Receiver) Deliveries() []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Delivery(nil), rc.got...)
}

// Verify checks a delivery's signature with the user's secret, as a
// receiver would: one of the webhook-signature values is "v1," and the
// base64 of HMAC-SHA256(key, id + "." + timestamp + "." + body), the key
// being the base64 after "whsec_". It returns the webhook-id.
func Verify(t testing.TB, d Delivery, secret string) string {
	t.Helper()
	id, ts, sigs := d.Header.Get("webhook-id"), d.Header.Get("webhook-timestamp"), d.Header.Get("webhook-signature")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, d.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if id == "" || ts == "" || !strings.Contains(" "+sigs+" ", " "+want+" ") {
		t.Errorf("delivery headers id %q, timestamp %q, signature %q; want the signature %q", id, ts, sigs, want)
	}
	return id
}
