package lambdafn

import "testing"

// TestWebhookAllowPrivateEnv: private webhook targets are off unless
// MLSVC_WEBHOOK_ALLOW_PRIVATE is exactly 1 (tests set it; the template
// never does: test/aws's TestTemplateWebhooks).
func TestWebhookAllowPrivateEnv(t *testing.T) {
	tables := map[string]string{
		"TABLE_USERS": "u", "TABLE_USERNAMES": "n", "TABLE_MODELS": "m", "TABLE_PREDICTIONS": "p", "TABLE_ACCESS": "a", "TABLE_LEDGER": "l",
	}
	for value, want := range map[string]bool{"": false, "0": false, "true": false, "yes": false, "1": true} {
		e, err := ReadEnv(func(k string) string {
			if k == "MLSVC_WEBHOOK_ALLOW_PRIVATE" {
				return value
			}
			return tables[k]
		})
		if err != nil || e.WebhookAllowPrivate != want {
			t.Errorf("MLSVC_WEBHOOK_ALLOW_PRIVATE=%q: WebhookAllowPrivate %v, %v; want %v", value, e.WebhookAllowPrivate, err, want)
		}
	}
}
