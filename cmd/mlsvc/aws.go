package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/s3blob"
)

// awsAdmin returns a Service that publishes models to a deployed stack:
// the model record to its models table, the file to its bucket.
func awsAdmin(ctx context.Context, modelsTable, bucket string, pathStyle bool) (*mlsvc.Service, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	return mlsvc.New(mlsvc.Config{
		Store: dynamo.NewStore(dynamodb.NewFromConfig(cfg), dynamo.Tables{Models: modelsTable}),
		Blobs: s3blob.New(client, s3.NewPresignClient(client), bucket),
	}), nil
}
