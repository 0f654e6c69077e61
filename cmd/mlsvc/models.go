package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mlsvc/catalog"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
)

func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(stderr, "usage: mlsvc models add --name NAME --cost COST --description TEXT --file MODEL.json [--id ID]\n")
		return errUsage
	}
	fs := flag.NewFlagSet("models add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "model id used in POST /predict (default: from the file name)")
	name := fs.String("name", "", "display name (required)")
	cost := fs.String("cost", "", "price per prediction, e.g. 12.50 (required)")
	description := fs.String("description", "", "what the model predicts")
	file := fs.String("file", "", "model file: an mlsvc linear / tree_ensemble JSON, a CatBoost JSON export or an XGBoost JSON model (required)")
	dataDir := fs.String("data", env("MLSVC_DATA_DIR", ".data"), "data directory of the local service (MLSVC_DATA_DIR)")
	onAWS := fs.Bool("aws", false, "publish to a deployed stack instead (AWS credentials and region from the usual AWS environment)")
	table := fs.String("models-table", "", "with --aws: the stack's ModelsTableName output")
	bucket := fs.String("bucket", "", "with --aws: the stack's BucketName output")
	pathStyle := fs.Bool("s3-path-style", false, "with --aws: path-style S3 addressing, for S3-compatible endpoints (AWS_ENDPOINT_URL_S3)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *name == "" || *cost == "" || *file == "" {
		fmt.Fprintln(stderr, "mlsvc models add: --name, --cost and --file are required")
		return errUsage
	}
	price, err := mlsvc.ParseAmount("--cost", *cost, mlsvc.MaxTopUp)
	if err != nil {
		return fmt.Errorf("%s", mlsvc.ErrorMessage(err))
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	if *id == "" {
		*id = strings.TrimSuffix(filepath.Base(*file), filepath.Ext(*file))
	}
	var svc *mlsvc.Service
	if *onAWS {
		if *table == "" || *bucket == "" {
			fmt.Fprintln(stderr, "mlsvc models add --aws: --models-table and --bucket are required (the stack's outputs)")
			return errUsage
		}
		if svc, err = awsAdmin(ctx, *table, *bucket, *pathStyle); err != nil {
			return err
		}
	} else {
		entries, err := catalog.Entries()
		if err != nil {
			return err
		}
		app, err := local.Open(ctx, local.Config{DataDir: *dataDir, Catalog: entries, Builtin: catalog.Files, Admin: true})
		if err != nil {
			return err
		}
		defer app.Close()
		svc = app.Service
	}
	m, err := svc.PublishModel(ctx, *id, *name, price, *description, data)
	if err != nil {
		if mlsvc.ErrorCode(err) == mlsvc.EInternal {
			return err
		}
		return fmt.Errorf("%s", mlsvc.ErrorMessage(err))
	}
	where := "locally in " + *dataDir
	if *onAWS {
		where = "to table " + *table
	}
	fmt.Fprintf(stdout, "published %s: model %q (%s, %s per prediction, features %s)\n", where, m.ID, m.Name, m.Cost, strings.Join(m.Features, ","))
	return nil
}
