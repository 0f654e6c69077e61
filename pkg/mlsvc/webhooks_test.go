package mlsvc_test

import (
	"net/netip"
	"strings"
	"testing"

	"mlsvc/pkg/mlsvc"
)

// TestSignWebhook checks the signature against the example of the
// Standard Webhooks reference libraries.
func TestSignWebhook(t *testing.T) {
	got, err := mlsvc.SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Errorf("SignWebhook = %q, %v; want %q", got, err, want)
	}
	s := mlsvc.NewWebhookSecret()
	if !strings.HasPrefix(s, "whsec_") || len(s) < len("whsec_")+32 || s == mlsvc.NewWebhookSecret() {
		t.Errorf("NewWebhookSecret = %q", s)
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "8.8.8.8": true, "2606:4700::1111": true,
		"127.0.0.1": false, "127.8.9.10": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false,
		"192.168.1.1": false, "169.254.169.254": false, "100.64.0.1": false, "100.127.255.254": false,
		"0.0.0.0": false, "0.1.2.3": false, "::": false, "224.0.0.1": false, "255.255.255.255": false,
		"fe80::1": false, "fd00:ec2::254": false, "::ffff:127.0.0.1": false, "::ffff:169.254.169.254": false,
		"192.0.2.1": false, "198.18.0.1": false, "ff02::1": false,
	} {
		if got := mlsvc.PublicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestValidateWebhookURL(t *testing.T) {
	for _, u := range []string{"https://hooks.example.com/x?y=1", "https://93.184.216.34:8443/hook", "https://[2606:4700::1111]/"} {
		if err := mlsvc.ValidateWebhookURL(u, false); err != nil {
			t.Errorf("ValidateWebhookURL(%q): %v", u, err)
		}
	}
	for _, u := range []string{
		"http://hooks.example.com/", "ftp://example.com/", "hooks.example.com/x", "/relative", "https://",
		"https://user:pw@example.com/", "https://user@example.com/", "https://127.0.0.1/", "https://10.0.0.5/",
		"https://169.254.169.254/latest/meta-data/", "https://[::1]/", "https://100.64.1.1/", "https://0.0.0.0/",
		"https://localhost/", "https://api.localhost/", "https://example.com:0/", "https://example.com:99999/",
		"https://example.com/" + strings.Repeat("a", mlsvc.MaxWebhookURL), "https://[::ffff:10.0.0.1]/",
	} {
		err := mlsvc.ValidateWebhookURL(u, false)
		if mlsvc.ErrorCode(err) != mlsvc.EInvalid || !strings.Contains(mlsvc.ErrorMessage(err), "webhook_url") {
			t.Errorf("ValidateWebhookURL(%.80q) = %v, want invalid, naming webhook_url", u, err)
		}
	}
	// The test setting allows loopback and http, nothing else.
	for u, ok := range map[string]bool{"http://127.0.0.1:8080/": true, "https://localhost/": true, "ftp://127.0.0.1/": false, "http://u:p@127.0.0.1/": false} {
		if err := mlsvc.ValidateWebhookURL(u, true); (err == nil) != ok {
			t.Errorf("ValidateWebhookURL(%q, allowPrivate) = %v, want ok %v", u, err, ok)
		}
	}
}
