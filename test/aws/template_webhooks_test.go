package awstest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/webhook"
)

// TestTemplateWebhooks: the webhooks function runs every minute and on the
// execution rule (TestTemplateRecovery), one pass at a time, with time for
// a pass's first batch of attempts; it queries only the index webhooks;
// and the test flag that allows private targets is set nowhere.
func TestTemplateWebhooks(t *testing.T) {
	tpl := loadTemplate(t)
	targets := buildTargets(t, tpl)
	fn := functionOf(t, targets, "webhooks")
	schedules := 0
	for _, ev := range tpl.events("Schedule") {
		if ev.function != fn {
			continue
		}
		schedules++
		if got := str(get(ev.props, "Schedule")); got != "rate(1 minute)" {
			t.Errorf("%s.%s: Schedule %q, want rate(1 minute): retries come due every 30 s at first", fn, ev.name, got)
		}
	}
	if schedules != 1 {
		t.Errorf("%s: %d Schedule events, want 1", fn, schedules)
	}
	if timeout := time.Duration(number(tpl.functionProperty(fn, "Timeout"))) * time.Second; timeout <= webhook.BatchTime {
		t.Errorf("%s: Timeout %v, want above webhook.BatchTime %v (a pass's first batch always runs)", fn, timeout, webhook.BatchTime)
	}
	if d := tpl.parameterDefault(t, "WebhooksReservedConcurrency"); d != "1" {
		t.Errorf("WebhooksReservedConcurrency defaults to %s, want 1: one pass at a time", d)
	}
	if max := get(map[string]any(tpl), "Parameters", "WebhooksReservedConcurrency", "MaxValue"); number(max) < 1 || number(max) > 2 {
		t.Errorf("WebhooksReservedConcurrency MaxValue %v, want 1 or 2: a flood of ended executions must not fan out", max)
	}

	// Query only of the index webhooks, on the table the code queries.
	for _, p := range list(get(tpl.resource(fn), "Properties", "Policies")) {
		for _, s := range list(get(p, "Statement")) {
			for _, a := range list(get(s, "Action")) {
				if str(a) != "dynamodb:Query" {
					continue
				}
				for _, r := range list(get(s, "Resource")) {
					if g, ok := parseResource(r); !ok || g.kind != "index" || g.name != "PredictionsTable" || g.index != dynamo.IndexWebhooks {
						t.Errorf("%s: dynamodb:Query on %v, want only %s's index %s", fn, r, "PredictionsTable", dynamo.IndexWebhooks)
					}
				}
			}
		}
	}

	// MLSVC_WEBHOOK_ALLOW_PRIVATE=1 is for tests: no deployment sets it.
	for _, file := range []string{"template.yaml", "env.json", "samconfig.toml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), file))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "MLSVC_WEBHOOK_ALLOW_PRIVATE") {
			t.Errorf("%s mentions MLSVC_WEBHOOK_ALLOW_PRIVATE: the test flag must stay out of deployments", file)
		}
	}
}
