package mlsvc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhooks: a prediction may name a URL that receives a POST of the
// prediction when it ends, signed per Standard Webhooks
// (https://www.standardwebhooks.com) with its owner's secret.

// MaxWebhookURL bounds a webhook URL's length.
const MaxWebhookURL = 2048

// WebhookBackoff is the wait before each retry of a failed delivery: the
// first attempt is at once, then 30 s, 2 min, 10 min, 1 h, then every 3 h,
// more than 24 h in all. After the last, the delivery is given up.
var WebhookBackoff = []time.Duration{
	30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 3 * time.Hour,
}

// WebhookEvent is the event a prediction's end sends: prediction.completed,
// prediction.failed or prediction.canceled.
func WebhookEvent(s Status) string { return "prediction." + string(s) }

// WebhookDelivery is the delivery of one prediction's end to its webhook,
// with its attempts so far.
type WebhookDelivery struct {
	PredictionID string
	UserID       string
	URL          string
	Event        string
	Attempts     int
	LastStatus   int    // HTTP status of the last attempt; 0 if none or no answer
	LastError    string // why the last attempt failed, if it did
	NextAt       time.Time
	Done         bool // delivered, or given up
	CreatedAt    time.Time
}

// WebhookQueue keeps deliveries until they succeed or are given up. The
// SQLite store queues one, in the transaction that ends a prediction with
// a webhook URL; the local runner delivers them.
type WebhookQueue interface {
	// DueWebhooks lists at most limit deliveries not done whose NextAt is
	// not after now, oldest first.
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]*WebhookDelivery, error)
	// RecordWebhookAttempt counts an attempt with its outcome and when to
	// try next (ignored when done).
	RecordWebhookAttempt(ctx context.Context, predictionID string, status int, errText string, next time.Time, done bool) error
	// WebhookDelivery returns a prediction's delivery, ENotFound if none.
	WebhookDelivery(ctx context.Context, predictionID string) (*WebhookDelivery, error)
}

// NewWebhookSecret returns a new signing secret: "whsec_" and the base64 of
// 32 random bytes.
func NewWebhookSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// SignWebhook returns the webhook-signature header of a message:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)), the
// key being the base64 after "whsec_" in secret.
func SignWebhook(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// nonPublic are the ranges PublicAddr refuses beyond those netip names.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fc00::/7"),        // unique local (IsPrivate too)
}

// PublicAddr reports whether a webhook may be sent to ip: not private,
// loopback, link-local (169.254.169.254, the cloud metadata service),
// CGNAT, multicast, unspecified, documentation or otherwise reserved. An
// IPv4-mapped IPv6 address is judged as its IPv4 address.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	if ip.Is4() && ip.As4()[0] == 0 { // 0.0.0.0/8: "this network"
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// ValidateWebhookURL checks a webhook URL when it is given: https (http
// too when allowPrivate, the test setting), at most MaxWebhookURL bytes, no
// credentials, and a host that is not a non-public IP address literal
// (hostnames are resolved and checked again at every delivery).
func ValidateWebhookURL(raw string, allowPrivate bool) error {
	bad := func(why string) error { return Errorf(EInvalid, "webhook_url %s", why) }
	if len(raw) > MaxWebhookURL {
		return bad(fmt.Sprintf("is longer than %d bytes", MaxWebhookURL))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return bad("must be an absolute https URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return bad("must use https")
	}
	if u.User != nil {
		return bad("must not contain a user name or password")
	}
	if u.Fragment != "" {
		return bad("must not contain a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return bad("has no host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("has an invalid port")
		}
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && !allowPrivate && !PublicAddr(ip) {
		return bad("must not point to a private, loopback, link-local or reserved address")
	}
	if !allowPrivate && (strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost")) {
		return bad("must not point to localhost")
	}
	return nil
}

// WebhookSecret returns the user's webhook signing secret, created on
// first use.
func (s *Service) WebhookSecret(ctx context.Context, userID string) (string, error) {
	return s.store.WebhookSecret(ctx, userID, NewWebhookSecret())
}

// RotateWebhookSecret replaces the user's secret with a new one, which it
// returns: deliveries from then on are signed with it.
func (s *Service) RotateWebhookSecret(ctx context.Context, userID string) (string, error) {
	secret := NewWebhookSecret()
	if err := s.store.SetWebhookSecret(ctx, userID, secret); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "webhook secret rotated", "user_id", userID)
	return secret, nil
}

// webhookOf returns the delivery of a prediction with a webhook, or nil
// where deliveries are not kept (or not made yet).
func (s *Service) webhookOf(ctx context.Context, p *Prediction) (*WebhookDelivery, error) {
	q, ok := s.store.(WebhookQueue)
	if p.WebhookURL == "" || !ok {
		return nil, nil
	}
	d, err := q.WebhookDelivery(ctx, p.ID)
	if ErrorCode(err) == ENotFound {
		return &WebhookDelivery{PredictionID: p.ID, URL: p.WebhookURL}, nil
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}
