// Command sweeper runs on a schedule: it fails and refunds predictions left
// pending long past their wait, whose workflow was lost
// (Service.SettleStale), so no charge stays without a result.
package main

import (
	"context"

	"mlsvc/pkg/lambdafn"
)

type result struct {
	Settled int `json:"settled"`
}

func main() {
	lambdafn.Start(lambdafn.Options{}, func(d lambdafn.Deps) any {
		return func(ctx context.Context) (result, error) {
			n, err := d.Worker.SettleStale(ctx)
			if n > 0 {
				d.Logger.Warn("settled stale predictions", "count", n)
			}
			return result{n}, err
		}
	})
}
