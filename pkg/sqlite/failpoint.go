package sqlite

import "context"

// failpointKey is the context key of a failpoint function.
type failpointKey struct{}

// WithFailpoint returns a context under which the store calls f between the
// steps of its write transactions, naming the step about to run
// ("charge", "prediction", "input", "refund", "ledger", "commit", and "committed"
// after the commit, as if the answer were lost); an error from f
// fails the transaction there, as a crash or I/O error would. It is for
// tests that prove a failure between any two steps leaves the money whole.
func WithFailpoint(ctx context.Context, f func(step string) error) context.Context {
	return context.WithValue(ctx, failpointKey{}, f)
}

func failpoint(ctx context.Context, step string) error {
	if f, ok := ctx.Value(failpointKey{}).(func(string) error); ok {
		return f(step)
	}
	return nil
}
