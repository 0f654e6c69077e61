// Command inference is the state machine's Inference task: it runs a
// prediction's model and writes its result and CSV (Service.RunPrediction).
// It carries the built-in model files.
package main

import (
	"log/slog"

	"mlsvc/models"
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stepfn"
)

func main() {
	lambdafn.Start(lambdafn.Options{Blobs: lambdafn.S3, Builtin: models.Files}, func(svc *mlsvc.Service, log *slog.Logger) any {
		return stepfn.Inference(svc)
	})
}
