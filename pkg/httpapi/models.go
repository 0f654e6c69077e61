package httpapi

import (
	"mlsvc/pkg/mlsvc"
	"net/http"
)

type modelResponse struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Cost        mlsvc.Cents    `json:"cost"`
	Description string         `json:"description"`
	Format      string         `json:"format,omitempty"`
	Features    []string       `json:"features"`
	Quality     *mlsvc.Quality `json:"quality,omitempty"`
}

func (a *API) models(w http.ResponseWriter, r *http.Request, _ string) error {
	ms, err := a.svc.Models(r.Context())
	if err != nil {
		return err
	}
	out := make([]modelResponse, 0, len(ms))
	for _, m := range ms {
		mr := modelResponse{ID: m.ID, Name: m.Name, Cost: m.Cost, Description: m.Description, Format: m.Format, Features: m.Features}
		if m.Metric != "" {
			mr.Quality = &mlsvc.Quality{Metric: m.Metric, Value: m.Score}
		}
		out = append(out, mr)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
