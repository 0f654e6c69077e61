package mlsvc

import "context"

// A request's memo of the user it read.
//
// Serving a prediction request read the caller's record twice: once to
// authenticate (is the password still the one verified?) and once to
// refuse a request the balance cannot pay before parsing its rows. The
// second read is a pre-check only (the charge checks the balance again,
// atomically), so the record read moments before in the same request is
// as good, and a database read is a tenth of the request's CPU. An HTTP
// layer makes a context with WithUserMemo per request; Service.User
// remembers in it the user it returns, and the pre-check uses it.

type userMemoKey struct{}

type userMemo struct{ u *User }

// WithUserMemo returns a context in which Service.User remembers the user
// it read, for the rest of one request.
func WithUserMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, userMemoKey{}, &userMemo{})
}

// remember keeps u in ctx's memo, if it has one.
func remember(ctx context.Context, u *User) {
	if m, ok := ctx.Value(userMemoKey{}).(*userMemo); ok {
		m.u = u
	}
}

// remembered returns the user with id read earlier in this request, or nil.
func remembered(ctx context.Context, id string) *User {
	if m, ok := ctx.Value(userMemoKey{}).(*userMemo); ok && m.u != nil && m.u.ID == id {
		return m.u
	}
	return nil
}
