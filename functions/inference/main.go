// Command inference is the state machine's Inference task: it runs a
// prediction's model and writes its result and CSV (Service.RunPrediction).
// It carries the built-in model files.
package main

import (
	"mlsvc/catalog"
	"mlsvc/pkg/lambdafn"
	"mlsvc/pkg/stepfn"
)

func main() {
	lambdafn.Start(lambdafn.Options{Blobs: lambdafn.S3, Builtin: catalog.Files}, func(d lambdafn.Deps) any {
		return stepfn.Inference(d.Worker)
	})
}
