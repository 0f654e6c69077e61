package mlsvc

import "context"

// InputStore is an optional capability of a Store: keeping a prediction's
// input rows in the same atomic step as its charge, instead of as the blob
// InputKey(id). The local SQLite store has it; accepting a prediction then
// writes no file, and the input is exactly as durable as the charge. A
// Service whose Store has it stores inputs of at most MaxInlineInput bytes
// this way; larger ones, and every input with a Store without it (DynamoDB),
// go to Blobs. Readers of an input (views, the worker) look in the store
// first, then in Blobs.
type InputStore interface {
	// CreatePredictionWithInput is CreatePrediction that also stores input
	// as p's input rows, in the same atomic step: both or neither.
	CreatePredictionWithInput(ctx context.Context, p *Prediction, input []byte) error
	// PredictionInput returns the input rows stored with prediction id, or
	// ENotFound when there are none (its input is in Blobs, or it does not
	// exist).
	PredictionInput(ctx context.Context, id string) ([]byte, error)
	// MaxInlineInput is the size of the largest input worth keeping in the
	// store rather than in Blobs.
	MaxInlineInput() int
}

// inlineInputs returns store as an InputStore that takes an input of n
// bytes, or nil.
func inlineInputs(store Store, n int) InputStore {
	is, ok := store.(InputStore)
	if !ok || n > is.MaxInlineInput() {
		return nil
	}
	return is
}

// readInput reads prediction id's input rows: from the store if it keeps
// them (InputStore), else the blob InputKey(id). ENotFound when neither
// has them.
func readInput(ctx context.Context, store Store, blobs Blobs, id string) ([]byte, error) {
	if is, ok := store.(InputStore); ok {
		input, err := is.PredictionInput(ctx, id)
		if ErrorCode(err) != ENotFound {
			return input, err
		}
	}
	return readBlob(ctx, blobs, InputKey(id))
}
