package lambdafn

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"mlsvc/pkg/mlsvc"
)

// tokenKeys returns the keyset of session tokens: MLSVC_TOKEN_KEYS if set
// (sam local, tests), else the secret TOKEN_SECRET_ARN, read once per cold
// start. template.yaml's secret starts as one random string (one key);
// to rotate, store the keyset JSON with the new key current and the old
// one previous (mlsvc.Keyset): tokens signed by either keep working.
func tokenKeys(ctx context.Context, cfg aws.Config, env Env) (*mlsvc.Keyset, error) {
	switch {
	case env.TokenKeys != "":
		return mlsvc.ParseKeyset([]byte(env.TokenKeys))
	case env.TokenSecretARN != "":
		ctx, cancel := context.WithTimeout(ctx, coldStartTimeout)
		defer cancel()
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
			SecretId: aws.String(env.TokenSecretARN),
		})
		if err != nil {
			return nil, fmt.Errorf("lambdafn: read the token keys: %w", err)
		}
		return mlsvc.ParseKeyset([]byte(aws.ToString(out.SecretString)))
	}
	return nil, errors.New("lambdafn: set TOKEN_SECRET_ARN (or MLSVC_TOKEN_KEYS): this function checks session tokens")
}
