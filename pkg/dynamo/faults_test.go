package dynamo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/storetest"
)

// faultyTransport sits in front of DynamoDB Local. Armed with k, it fails
// the operation's request (k+1)/2: before sending it when k is odd, and
// after DynamoDB applied it (the answer lost) when k is even.
type faultyTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	k, n int
	hit  bool
}

func (f *faultyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	armed := f.k > 0 && !f.hit
	f.n++
	req2, k := f.n, f.k
	if armed && (k+1)/2 == req2 {
		f.hit = true
	} else {
		armed = false
	}
	f.mu.Unlock()
	if armed && k%2 == 1 {
		return nil, errors.New("injected fault: request lost before DynamoDB")
	}
	resp, err := f.base.RoundTrip(req)
	if armed && err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("injected fault: DynamoDB's answer lost")
	}
	return resp, err
}

// TestFaults fails every money operation at each of its DynamoDB requests,
// before and after it is applied; the audit stays clean.
func TestFaults(t *testing.T) {
	base := newClient(t) // skips without DynamoDB Local
	storetest.RunFaults(t, func(t *testing.T) (mlsvc.Store, storetest.Arm) {
		ft := &faultyTransport{base: http.DefaultTransport}
		client := dynamodb.New(dynamodb.Options{
			Region:                          "us-east-1",
			Credentials:                     credentials.NewStaticCredentialsProvider("mlsvctest", "mlsvctest", ""),
			BaseEndpoint:                    base.Options().BaseEndpoint,
			DisableValidateResponseChecksum: true,
			HTTPClient:                      &http.Client{Transport: ft},
			RetryMaxAttempts:                1, // the fault is the answer, not retried away
		})
		store := dynamo.NewStore(client, newTables(t, client))
		arm := func(k int) (context.Context, func() bool) {
			ft.mu.Lock()
			ft.k, ft.n, ft.hit = k, 0, false
			ft.mu.Unlock()
			return context.Background(), func() bool {
				ft.mu.Lock()
				defer ft.mu.Unlock()
				hit := ft.hit
				ft.k = 0
				return hit
			}
		}
		return store, arm
	})
}
