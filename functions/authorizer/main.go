// Command authorizer is the Lambda REQUEST authorizer of the HTTP API
// (payload 2.0, simple responses): it checks the Basic credentials and
// passes the user id to the routes' functions in its context.
package main

import (
	"mlsvc/pkg/lambdafn"
)

func main() {
	lambdafn.Start(lambdafn.Options{}, func(d lambdafn.Deps) any {
		return lambdafn.Authorizer(d.Service, d.Logger)
	})
}
