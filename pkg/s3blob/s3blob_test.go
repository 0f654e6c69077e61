package s3blob_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"mlsvc/pkg/blobtest"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/s3blob"
)

const (
	bucket    = "mlsvc-test"
	region    = "us-east-1"
	accessKey = "AKIDEXAMPLE"
	secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// newClient returns an S3 client of an in-process gofakes3 server on
// 127.0.0.1 that holds an empty bucket, and the server's URL.
func newClient(t *testing.T) (*s3.Client, string) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, nil
		}),
	}), srv.URL
}

func newStore(t *testing.T) *s3blob.Store {
	client, _ := newClient(t)
	return s3blob.New(client, s3.NewPresignClient(client), bucket)
}

func read(t *testing.T, b mlsvc.Blobs, key string) string {
	t.Helper()
	return string(blobtest.ReadAll(t, b, key))
}

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	client, _ := newClient(t)
	s := s3blob.New(client, s3.NewPresignClient(client), bucket)

	bodies := []struct {
		name string
		body func(string) io.Reader
	}{
		{"seekable", func(s string) io.Reader { return strings.NewReader(s) }},
		{"buffer", func(s string) io.Reader { return bytes.NewBufferString(s) }},
		{"stream", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			key := "predictions/" + b.name + "/result.csv"
			want := "feature_0,prediction\n1,2.5\n"
			if err := s.Put(ctx, key, "text/csv", b.body(want)); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got := read(t, s, key); got != want {
				t.Errorf("Get = %q, want %q", got, want)
			}
			head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(head.ContentType); got != "text/csv" {
				t.Errorf("ContentType = %q, want text/csv", got)
			}
		})
	}

	t.Run("replace", func(t *testing.T) {
		key := "models/m.json"
		for _, v := range []string{`{"v":1}`, `{"v":2}`} {
			if err := s.Put(ctx, key, "application/json", strings.NewReader(v)); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := read(t, s, key), `{"v":2}`; got != want {
			t.Errorf("Get = %q, want %q", got, want)
		}
	})
}

func TestGetNotFound(t *testing.T) {
	s := newStore(t)
	_, err := s.Get(context.Background(), "predictions/nope/input.json")
	if got := mlsvc.ErrorCode(err); got != mlsvc.ENotFound {
		t.Errorf("Get(absent) code = %q (%v), want %q", got, err, mlsvc.ENotFound)
	}
}

func TestGetMissingBucketIsNotNotFound(t *testing.T) {
	client, _ := newClient(t)
	s := s3blob.New(client, s3.NewPresignClient(client), "no-such-bucket")
	_, err := s.Get(context.Background(), "k")
	if err == nil {
		t.Fatal("Get from a missing bucket succeeded")
	}
	if got := mlsvc.ErrorCode(err); got != mlsvc.EInternal {
		t.Errorf("Get(missing bucket) code = %q (%v), want %q", got, err, mlsvc.EInternal)
	}
}

// TestURLDownloads follows a presigned URL with a plain http.Get, as a browser does.
func TestURLDownloads(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	key := mlsvc.CSVKey("p-1")
	want := "feature_0,prediction\n1,2.5\n"
	if err := s.Put(ctx, key, "text/csv", strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	u, err := s.URL(ctx, key, "prediction-p-1.csv", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned URL: %s: %s", res.Status, body)
	}
	if string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if got, want := res.Header.Get("Content-Disposition"), `attachment; filename="prediction-p-1.csv"`; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
}

// TestBlobs runs the mlsvc.Blobs contract suite on the in-process S3
// emulator, and on S3 endpoints that are down in several ways.
func TestBlobs(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) mlsvc.Blobs { return newStore(t) }, blobtest.Options{
		URLTTL: func(t *testing.T, raw string) time.Duration {
			return time.Duration(blobtest.QueryInt(t, raw, "X-Amz-Expires")) * time.Second
		},
		Down: map[string]func(t *testing.T) mlsvc.Blobs{
			"closed endpoint": func(t *testing.T) mlsvc.Blobs {
				srv := httptest.NewServer(http.NotFoundHandler())
				srv.Close() // nothing listens there any more
				return storeAt(t, srv.URL)
			},
			"503 Service Unavailable": faulty(http.StatusServiceUnavailable, "ServiceUnavailable"),
			"503 SlowDown":            faulty(http.StatusServiceUnavailable, "SlowDown"),
			"500 InternalError":       faulty(http.StatusInternalServerError, "InternalError"),
			"429 Too Many Requests":   faulty(http.StatusTooManyRequests, "TooManyRequests"),
		},
	})
}

// faulty returns a store whose S3 is the emulator behind a fault-injecting
// handler. The store works through it first (a blob is put and read
// back); then the handler answers every request with status and an S3
// error code, as S3 does when it throttles or fails.
func faulty(status int, code string) func(t *testing.T) mlsvc.Blobs {
	return func(t *testing.T) mlsvc.Blobs {
		backend := s3mem.New()
		if err := backend.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
		emulator := gofakes3.New(backend).Server()
		var down atomic.Bool
		var faults atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !down.Load() {
				emulator.ServeHTTP(w, r)
				return
			}
			faults.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>injected</Message></Error>", code)
		}))
		t.Cleanup(func() {
			srv.Close()
			if faults.Load() == 0 {
				t.Errorf("%d %s: no request reached the fault injector", status, code)
			}
		})
		s := storeAt(t, srv.URL)
		key := "predictions/p-1/result.csv"
		if err := s.Put(context.Background(), key, "text/csv", strings.NewReader("a,b\n")); err != nil {
			t.Fatalf("Put before the fault: %v", err)
		}
		if got := read(t, s, key); got != "a,b\n" {
			t.Fatalf("Get before the fault = %q", got)
		}
		down.Store(true)
		return s
	}
}

// storeAt returns a Store of an S3 at endpoint, retrying as the SDK does
// by default but without its backoff of up to 20 s.
func storeAt(t *testing.T, endpoint string) *s3blob.Store {
	t.Helper()
	client := s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, nil
		}),
		Retryer: retry.AddWithMaxBackoffDelay(retry.NewStandard(), 10*time.Millisecond),
	})
	return s3blob.New(client, s3.NewPresignClient(client), bucket)
}

// TestNotFoundIsNotUnavailable: a 404 from S3 stays ENotFound, and a
// denied request (403) is not mistaken for an outage.
func TestNotFoundIsNotUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>AccessDenied</Code><Message>no</Message></Error>")
	}))
	defer srv.Close()
	_, err := storeAt(t, srv.URL).Get(context.Background(), "k")
	if got := mlsvc.ErrorCode(err); got != mlsvc.EInternal {
		t.Errorf("Get denied: code %q (%v), want %q", got, err, mlsvc.EInternal)
	}
}

// fixedClock presigns as the SDK's S3 presigner does, at a fixed time.
type fixedClock struct {
	signer *v4.Signer
	at     time.Time
}

func (c fixedClock) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request,
	payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions),
) (string, http.Header, error) {
	return c.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, c.at, optFns...)
}

// TestURLSignature recomputes the presigned URL's SigV4 signature by hand,
// from the SigV4 specification, since no S3 emulator checks it.
func TestURLSignature(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	client, endpoint := newClient(t)
	presign := s3.NewPresignClient(client, func(o *s3.PresignOptions) {
		o.Presigner = fixedClock{at: at, signer: v4.NewSigner(func(o *v4.SignerOptions) {
			o.DisableURIPathEscaping = true // as the S3 client's own signer
		})}
	})
	s := s3blob.New(client, presign, bucket)
	host := strings.TrimPrefix(endpoint, "http://")

	tests := []struct {
		key, filename string
		ttl           time.Duration
		wantExpires   int
	}{
		{mlsvc.CSVKey("0b7e8c1a-1d2f-4a5b-9c8d-7e6f5a4b3c2d"), "prediction-0b7e8c1a.csv", 10 * time.Minute, 600},
		{"predictions/p 1+2/result.csv", `weird "name"; x=1.csv`, time.Hour, 900}, // capped
		{"models/m.json", "m.json", 15 * time.Minute, 900},
		{"k", "k.csv", 90 * time.Second, 90},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			raw, err := s.URL(context.Background(), tt.key, tt.filename, tt.ttl)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()

			checks := []struct{ name, got, want string }{
				{"host", u.Host, host},
				{"path", u.EscapedPath(), "/" + bucket + "/" + uriEncode(tt.key, false)},
				{"X-Amz-Algorithm", q.Get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256"},
				{"X-Amz-Date", q.Get("X-Amz-Date"), "20250314T150926Z"},
				{"X-Amz-Credential", q.Get("X-Amz-Credential"), accessKey + "/20250314/" + region + "/s3/aws4_request"},
				{"X-Amz-Expires", q.Get("X-Amz-Expires"), strconv.Itoa(tt.wantExpires)},
				// Only host is signed: a browser's plain GET sends no other x-amz header.
				{"X-Amz-SignedHeaders", q.Get("X-Amz-SignedHeaders"), "host"},
				{"response-content-disposition", q.Get("response-content-disposition"), s3blob.ContentDisposition(tt.filename)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
			if n, _ := strconv.Atoi(q.Get("X-Amz-Expires")); n <= 0 || n > 900 {
				t.Errorf("X-Amz-Expires = %d, want 1..900", n)
			}

			sig := q.Get("X-Amz-Signature")
			if got := signature(u, secretKey); got != sig {
				t.Fatalf("recomputed signature %s, URL has %s", got, sig)
			}

			// Any change to a signed part gives another signature, so S3
			// would refuse the tampered URL.
			tamper := map[string]func(u *url.URL){
				"disposition": func(u *url.URL) { set(u, "response-content-disposition", "inline") },
				"expires":     func(u *url.URL) { set(u, "X-Amz-Expires", "604800") },
				"date":        func(u *url.URL) { set(u, "X-Amz-Date", "20250315T150926Z") },
				"key":         func(u *url.URL) { u.Path += "x"; u.RawPath = "" },
				"host":        func(u *url.URL) { u.Host = "127.0.0.2:1" },
			}
			for name, change := range tamper {
				v := *u
				change(&v)
				if got := signature(&v, secretKey); got == sig {
					t.Errorf("tampered %s: signature unchanged", name)
				}
			}
			if got := signature(u, "another secret"); got == sig {
				t.Error("another secret key gives the same signature")
			}
		})
	}
}

func set(u *url.URL, k, v string) {
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
}

// signature computes the SigV4 query-string signature of a presigned S3 GET
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html)
// from the URL's own parameters.
func signature(u *url.URL, secret string) string {
	q := u.Query()
	var params []string
	for k, vs := range q {
		if k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			params = append(params, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	sort.Strings(params)

	var headers strings.Builder
	for _, h := range strings.Split(q.Get("X-Amz-SignedHeaders"), ";") {
		if h != "host" {
			panic("unexpected signed header " + h)
		}
		fmt.Fprintf(&headers, "host:%s\n", u.Host)
	}
	canonical := strings.Join([]string{
		"GET",
		uriEncode(u.Path, false), // S3 encodes the path once
		strings.Join(params, "&"),
		headers.String(),
		q.Get("X-Amz-SignedHeaders"),
		"UNSIGNED-PAYLOAD",
	}, "\n")

	// Credential is AKID/date/region/service/aws4_request.
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(cred) != 5 {
		return "bad credential"
	}
	scope := strings.Join(cred[1:], "/")
	hash := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{q.Get("X-Amz-Algorithm"), q.Get("X-Amz-Date"), scope, hex.EncodeToString(hash[:])}, "\n")

	key := []byte("AWS4" + secret)
	for _, part := range cred[1:] {
		key = hmacSHA256(key, part)
	}
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode is SigV4's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ as
// %XX, and '/' too when encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ in, want string }{
		{"prediction-1.csv", `attachment; filename="prediction-1.csv"`},
		{`a"b\c.csv`, `attachment; filename="a_b_c.csv"`},
		{"x\r\nSet-Cookie: y.csv", `attachment; filename="x__Set-Cookie: y.csv"`},
		{"résultat.csv", `attachment; filename="r_sultat.csv"`},
		{"", `attachment; filename="download"`},
	}
	for _, tt := range tests {
		if got := s3blob.ContentDisposition(tt.in); got != tt.want {
			t.Errorf("ContentDisposition(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
