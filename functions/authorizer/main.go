// Command authorizer is the Lambda REQUEST authorizer of the HTTP API
// (payload 2.0, simple responses): it checks the Basic credentials and
// passes the user id to the routes' functions in its context.
package main

import (
	"log/slog"

	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/mlsvc"
)

func main() {
	lambdafn.Start(lambdafn.Options{}, func(svc *mlsvc.Service, log *slog.Logger) any {
		return lambdafn.Authorizer(svc, log)
	})
}
