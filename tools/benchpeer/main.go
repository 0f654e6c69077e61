// Command benchpeer is the bare peer of `make bench-api`: a plain net/http
// server whose POST /predict decodes a JSON body of the shape mlsvc's takes
// and answers 202 with a JSON body of the shape mlsvc's gives, doing
// nothing else — the ceiling the service's accepted predictions per second
// are compared with. It prints its URL on stdout and serves until killed.
package main

import (
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /predict", predict)
	fmt.Printf("benchpeer on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

func predict(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ModelID   string            `json:"model_id"`
		InputData []json.RawMessage `json:"input_data"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&body); err != nil || body.ModelID == "" || len(body.InputData) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, `{"detail":"bad request"}`)
		return
	}
	rows := make([]map[string]float64, 0, len(body.InputData))
	for _, raw := range body.InputData {
		var row map[string]float64
		if err := json.Unmarshal(raw, &row); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintln(w, `{"detail":"bad row"}`)
			return
		}
		rows = append(rows, row)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(struct {
		PredictionID string  `json:"prediction_id"`
		Status       string  `json:"status"`
		Message      string  `json:"message"`
		Rows         int     `json:"rows"`
		Cost         string  `json:"cost"`
		DelaySeconds float64 `json:"delay_seconds"`
	}{rand.Text(), "pending", fmt.Sprintf("prediction accepted: %d rows", len(rows)), len(rows), "10.00", 3600})
}
