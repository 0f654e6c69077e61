package storetest

import (
	"fmt"
	"testing"

	"mlsvc/pkg/mlsvc"
)

// Webhooks: the URL kept on a prediction and each user's signing secret.

func testWebhookURLRoundTrip(t *testing.T, s mlsvc.Store) {
	createUser(t, s, "u1", "nina", 10_00)
	p := newPrediction("p1", "u1", 1_00, t0)
	p.WebhookURL = "https://hooks.example.com/ml?x=1"
	createPrediction(t, s, p)
	createPrediction(t, s, newPrediction("p2", "u1", 1_00, t0.Add(1)))
	if got := getPrediction(t, s, "p1").WebhookURL; got != p.WebhookURL {
		t.Errorf("WebhookURL = %q, want %q", got, p.WebhookURL)
	}
	if got := getPrediction(t, s, "p2").WebhookURL; got != "" {
		t.Errorf("WebhookURL of a prediction without one = %q", got)
	}
	if err := s.CompletePrediction(t.Context(), "p1", t0.Add(60)); err != nil {
		t.Fatal(err)
	}
	if got := getPrediction(t, s, "p1").WebhookURL; got != p.WebhookURL {
		t.Errorf("WebhookURL after completion = %q, want %q", got, p.WebhookURL)
	}
}

func testWebhookSecret(t *testing.T, s mlsvc.Store) {
	ctx := t.Context()
	createUser(t, s, "u1", "olga", 0)
	createUser(t, s, "u2", "pete", 0)
	got, err := s.WebhookSecret(ctx, "u1", "first")
	if err != nil || got != "first" {
		t.Fatalf("WebhookSecret (first use) = %q, %v; want the candidate", got, err)
	}
	if got, err := s.WebhookSecret(ctx, "u1", "second"); err != nil || got != "first" {
		t.Errorf("WebhookSecret (again) = %q, %v; want the first one kept", got, err)
	}
	if err := s.SetWebhookSecret(ctx, "u1", "rotated"); err != nil {
		t.Fatalf("SetWebhookSecret: %v", err)
	}
	if got, err := s.WebhookSecret(ctx, "u1", "third"); err != nil || got != "rotated" {
		t.Errorf("WebhookSecret after rotation = %q, %v; want rotated", got, err)
	}
	if got, _ := s.WebhookSecret(ctx, "u2", "other"); got != "other" {
		t.Errorf("another user's secret = %q, want their own", got)
	}
	_, err = s.WebhookSecret(ctx, "nobody", "x")
	wantCode(t, "WebhookSecret(absent user)", err, mlsvc.ENotFound)
	wantCode(t, "SetWebhookSecret(absent user)", s.SetWebhookSecret(ctx, "nobody", "x"), mlsvc.ENotFound)
	if u := getUserOrNil(t, s, "nobody"); u != nil {
		t.Errorf("a secret for an absent user created it: %+v", u)
	}
	wantBalance(t, s, "u1", 0)

	// First uses at once agree on one secret.
	createUser(t, s, "u3", "quinn", 0)
	secrets := make([]string, 10)
	errs := parallel(len(secrets), func(i int) error {
		var err error
		secrets[i], err = s.WebhookSecret(ctx, "u3", fmt.Sprintf("candidate %d", i))
		return err
	})
	if n := tally(errs); n[""] != len(secrets) {
		t.Fatalf("concurrent WebhookSecret: %v (%s)", n, firstErrors(errs))
	}
	for _, sec := range secrets {
		if sec != secrets[0] {
			t.Fatalf("concurrent first WebhookSecret calls returned %q: want one secret", secrets)
		}
	}
}

func getUserOrNil(t *testing.T, s mlsvc.Store, id string) *mlsvc.User {
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		return nil
	}
	return u
}
