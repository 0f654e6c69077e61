// Command sweeper runs on a schedule: it fails and refunds predictions left
// pending long past their wait, whose workflow was lost
// (Service.SettleStale), so no charge stays without a result.
package main

import (
	"context"
	"log/slog"

	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/mlsvc"
)

type result struct {
	Settled int `json:"settled"`
}

func main() {
	lambdafn.Start(lambdafn.Options{}, func(svc *mlsvc.Service, log *slog.Logger) any {
		return func(ctx context.Context) (result, error) {
			n, err := svc.SettleStale(ctx)
			if n > 0 {
				log.Warn("settled stale predictions", "count", n)
			}
			return result{n}, err
		}
	})
}
