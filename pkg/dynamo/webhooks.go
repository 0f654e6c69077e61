package dynamo

import (
	"context"

	"mlsvc/pkg/mlsvc"
)

// A user's webhook signing secret is the attribute webhook_secret of its
// item in the users table.

// WebhookSecret implements mlsvc.Store: one conditional update keeps the
// first secret stored, so two first calls at once agree.
func (s *Store) WebhookSecret(ctx context.Context, userID, candidate string) (string, error) {
	attrs, ok, err := s.updateUser(ctx, userID, "SET webhook_secret = if_not_exists(webhook_secret, :candidate)", "",
		item{":candidate": str(candidate)})
	if err != nil {
		return "", wrap(err, "webhook secret")
	}
	if !ok {
		return "", mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", userID)
	}
	var d decoder
	secret := d.str(attrs, "webhook_secret")
	return secret, d.err("webhook secret")
}

// SetWebhookSecret implements mlsvc.Store.
func (s *Store) SetWebhookSecret(ctx context.Context, userID, secret string) error {
	_, ok, err := s.updateUser(ctx, userID, "SET webhook_secret = :secret", "", item{":secret": str(secret)})
	if err != nil {
		return wrap(err, "set webhook secret")
	}
	if !ok {
		return mlsvc.Errorf(mlsvc.ENotFound, "user %s not found", userID)
	}
	return nil
}
