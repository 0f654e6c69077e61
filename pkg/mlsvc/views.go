package mlsvc

import (
	"context"
	"encoding/json"
	"fmt"
)

// View is a prediction as its owner sees it.
type View struct {
	*Prediction
	Input json.RawMessage // the rows as submitted; nil when InputOmitted
	// InputOmitted says the rows are larger than the caller wanted inline
	// (the CSV has them) or no longer kept.
	InputOmitted bool
	// FilesExpired says the rows and results are no longer kept.
	FilesExpired bool
	Output       *Output // once completed
	CSVURL       string  // once completed
	// Webhook is the delivery to the prediction's webhook, if it has one.
	Webhook *WebhookDelivery
}

// Prediction returns the user's prediction with its input if it is at most
// maxInput bytes, and once completed its output and a download URL.
// Someone else's is ENotFound.
func (s *Service) Prediction(ctx context.Context, userID, id string, maxInput int64) (*View, error) {
	p, err := s.own(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	v := &View{Prediction: p}
	if v.Webhook, err = s.webhookOf(ctx, p); err != nil {
		return nil, fmt.Errorf("read webhook delivery: %w", err)
	}
	if p.InputBytes > maxInput {
		v.InputOmitted = true // the record knows the size: no need to read it
	} else {
		// Files may be gone (the bucket expires them): the record still shows.
		v.Input, err = readInput(ctx, s.store, s.blobs, id)
		switch {
		case ErrorCode(err) == ENotFound:
			v.Input, v.InputOmitted, v.FilesExpired = nil, true, true
		case err != nil:
			return nil, fmt.Errorf("read input: %w", err)
		case int64(len(v.Input)) > maxInput: // a record from before sizes were kept
			v.Input, v.InputOmitted = nil, true
		}
	}
	if p.Status != StatusCompleted {
		return v, nil
	}
	raw, err := readBlob(ctx, s.blobs, ResultKey(id))
	if ErrorCode(err) == ENotFound {
		v.FilesExpired = true
		return v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	v.Output = new(Output)
	if err := json.Unmarshal(raw, v.Output); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	if v.CSVURL, err = s.downloadURL(ctx, p); err != nil {
		return nil, err
	}
	return v, nil
}

// DownloadURL returns a short-lived URL of a completed prediction's CSV.
// EConflict while it is not completed, EGone once its files are past their
// retention.
func (s *Service) DownloadURL(ctx context.Context, userID, id string) (string, error) {
	p, err := s.own(ctx, userID, id)
	if err != nil {
		return "", err
	}
	switch p.Status {
	case StatusPending:
		return "", Errorf(EConflict, "prediction %s is still pending", id)
	case StatusFailed:
		return "", Errorf(EConflict, "prediction %s failed: %s", id, p.Error)
	case StatusCanceled:
		return "", Errorf(EConflict, "prediction %s was canceled", id)
	}
	// A signed URL of a file past its retention would lead to the storage's
	// own error (S3's XML): answer EGone here instead. Opening the object
	// and closing it at once reads nothing of it.
	rc, err := s.blobs.Get(ctx, CSVKey(p.ID))
	if ErrorCode(err) == ENotFound {
		return "", Errorf(EGone, "the files of prediction %s are no longer kept", id)
	}
	if err != nil {
		return "", fmt.Errorf("check download %s: %w", id, err)
	}
	rc.Close()
	return s.downloadURL(ctx, p)
}

func (s *Service) downloadURL(ctx context.Context, p *Prediction) (string, error) {
	u, err := s.blobs.URL(ctx, CSVKey(p.ID), "prediction-"+p.ID+".csv", DownloadURLTTL)
	if err != nil {
		return "", fmt.Errorf("sign download url: %w", err)
	}
	return u, nil
}

// Predictions lists the user's predictions, newest first, a page at a time
// (Page.Size) with the cursor of the next page.
func (s *Service) Predictions(ctx context.Context, userID string, page Page) ([]*Prediction, string, error) {
	page.Limit = page.Size()
	return s.store.Predictions(ctx, userID, page)
}

func (s *Service) own(ctx context.Context, userID, id string) (*Prediction, error) {
	p, err := s.store.Prediction(ctx, id)
	if ErrorCode(err) == ENotFound || err == nil && p.UserID != userID {
		return nil, Errorf(ENotFound, "prediction %s not found", id)
	}
	return p, err
}
