package mlsvc

import (
	"context"
)

// Stopper is a Workflow that can stop a prediction's run early: the
// runner cancels its timer, Step Functions stops the execution. Stopping
// is an optimisation: a run that is not stopped finds the prediction
// final and changes nothing.
type Stopper interface {
	// Stop stops the run of prediction id; a run that does not exist or
	// has ended is not an error.
	Stop(ctx context.Context, id string) error
}

// CancelPrediction cancels the user's pending prediction and refunds its
// charge, exactly once, and returns it. Someone else's is ENotFound; one
// that is no longer pending (even if it just ended) is EConflict. The
// store's conditional update decides a race with the workflow: the
// prediction ends completed, failed or canceled, never two of them. The
// workflow is then stopped if it can be, but the refund does not depend
// on it.
func (s *Service) CancelPrediction(ctx context.Context, userID, id string) (*Prediction, error) {
	p, err := s.own(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusPending {
		return nil, Errorf(EConflict, "prediction %s is %s: only a pending prediction can be canceled", id, p.Status)
	}
	err = s.store.CancelPrediction(ctx, id, s.now().UTC())
	if ErrorCode(err) == EConflict {
		if p, rerr := s.store.Prediction(ctx, id); rerr == nil {
			return nil, Errorf(EConflict, "prediction %s is %s: only a pending prediction can be canceled", id, p.Status)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "prediction canceled and refunded", "prediction_id", id, "user_id", userID, "cost", p.Cost.String())
	s.metrics.PredictionFinished(ctx, p.ModelID, StatusCanceled, p.Cost, 0)
	s.finished(ctx, id)
	if st, ok := s.workflow.(Stopper); ok {
		if err := st.Stop(context.WithoutCancel(ctx), id); err != nil {
			s.log.WarnContext(ctx, "stopping the workflow of a canceled prediction", "prediction_id", id, "err", err)
		}
	}
	return s.store.Prediction(context.WithoutCancel(ctx), id)
}
