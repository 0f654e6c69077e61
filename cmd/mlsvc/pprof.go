package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// startPprof serves Go's profiles (/debug/pprof/) on MLSVC_PPROF_ADDR, a
// loopback address such as 127.0.0.1:6060, for measuring the server under
// load (go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10).
// Unset (the default): no listener. The profiles are unauthenticated, so
// any other address is refused. It returns a function that stops the
// listener.
func startPprof(stderr io.Writer) (stop func(), err error) {
	addr := os.Getenv("MLSVC_PPROF_ADDR")
	if addr == "" {
		return func() {}, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("MLSVC_PPROF_ADDR: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("MLSVC_PPROF_ADDR: %q is not a loopback address (such as 127.0.0.1:6060)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("MLSVC_PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stderr, "pprof on http://%s/debug/pprof/\n", ln.Addr())
	return func() { srv.Close() }, nil
}
