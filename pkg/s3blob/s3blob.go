// Package s3blob stores the service's blobs (prediction inputs, results,
// CSVs, model files) in one S3 bucket and hands out presigned download URLs.
//
// The bucket is private; its default encryption applies to every object, so
// Put sets no encryption header. Downloads never go through the service: a
// URL is a presigned GET that expires in at most 15 minutes.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"mlsvc/pkg/mlsvc"
)

// MaxURLTTL is the longest lifetime of a presigned URL.
const MaxURLTTL = 15 * time.Minute

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
		return fmt.Errorf("s3blob: put %s: %w", key, err)
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
		return nil, fmt.Errorf("s3blob: get %s: %w", key, err)
	}
	return out.Body, nil
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
// named filename. It expires after ttl, at most MaxURLTTL. The object need
// not exist yet.
func (s *Store) URL(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("s3blob: url %s: ttl %v is not positive", key, ttl)
	}
	ttl = min(ttl, MaxURLTTL)
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
