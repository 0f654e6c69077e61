// Package s3blob stores the service's blobs (prediction inputs, results,
// CSVs, model files) in one S3 bucket and hands out presigned download URLs.
//
// The bucket is private; its default encryption applies to every object, so
// Put sets no encryption header. Downloads never go through the service: a
// URL is a presigned GET that expires in at most mlsvc.MaxURLTTL (15 minutes).
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"mlsvc/pkg/mlsvc"
)

// Store is an mlsvc.Blobs in an S3 bucket.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

var _ mlsvc.Blobs = (*Store)(nil)

// New returns a Store for bucket. presign signs download URLs; it is usually
// s3.NewPresignClient(client).
func New(client *s3.Client, presign *s3.PresignClient, bucket string) *Store {
	return &Store{client: client, presign: presign, bucket: bucket}
}

// Put stores body under key with the given content type, replacing any
// object there.
func (s *Store) Put(ctx context.Context, key, contentType string, body io.Reader) error {
	// A body the SDK cannot seek cannot be signed or retried over plain
	// HTTP; blobs are small (a request is at most 6 MB), so buffer them.
	rs, ok := body.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(body)
		if err != nil {
			return fmt.Errorf("s3blob: read %s: %w", key, err)
		}
		rs = bytes.NewReader(b)
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(key),
		Body:        rs,
		ContentType: aws.String(contentType),
	})
	if err != nil {
		return wrap("put", key, err)
	}
	return nil
}

// Get opens the object at key. An absent key is mlsvc.ENotFound.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, &mlsvc.Error{Code: mlsvc.ENotFound, Message: fmt.Sprintf("blob %s not found", key), Err: err}
		}
		return nil, wrap("get", key, err)
	}
	return out.Body, nil
}

// Delete removes the object at key. S3 answers 204 for an absent key too.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		return wrap("delete", key, err)
	}
	return nil
}

// wrap adds context to a failed call of op on key, and marks the failures
// of S3 itself (after the SDK's retries) as mlsvc.EUnavailable: throttling
// (429, SlowDown), server errors (5xx) and requests that never got an
// answer (connection refused or reset, timeouts). Anything else, such as
// a missing bucket or a denied request, is an internal error.
func wrap(op, key string, err error) error {
	err = fmt.Errorf("s3blob: %s %s: %w", op, key, err)
	if unavailable(err) {
		return &mlsvc.Error{Code: mlsvc.EUnavailable, Message: "blob storage is unavailable", Err: err}
	}
	return err
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; S3 may be fine
	}
	// No answer at all: the request could not be sent (connection refused
	// or reset) or its answer never came. The SDK reports these as a
	// response error of status 0 wrapping a RequestSendError.
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &send) || errors.As(err, &netErr) {
		return true
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		code := resp.HTTPStatusCode()
		return code == http.StatusTooManyRequests || code >= 500
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "ServiceUnavailable", "InternalError":
			return true
		}
	}
	return false
}

// isNotFound reports whether err says the key does not exist. A missing
// bucket (NoSuchBucket) is a configuration error, not a missing blob.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

// URL returns a presigned GET of key that downloads it as an attachment
// named filename. It expires after ttl; a ttl <= 0 or above
// mlsvc.MaxURLTTL is mlsvc.MaxURLTTL, as in localblob. The object need not
// exist yet.
func (s *Store) URL(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > mlsvc.MaxURLTTL {
		ttl = mlsvc.MaxURLTTL
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     aws.String(s.bucket),
		Key:                        aws.String(key),
		ResponseContentDisposition: aws.String(ContentDisposition(filename)),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3blob: presign %s: %w", key, err)
	}
	return req.URL, nil
}

// ContentDisposition returns `attachment; filename="…"` for filename, with
// the characters that could break the quoted string or the header (quotes,
// backslashes, control and non-ASCII characters) replaced by '_'.
func ContentDisposition(filename string) string {
	safe := strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, filename)
	if safe == "" {
		safe = "download"
	}
	return `attachment; filename="` + safe + `"`
}
