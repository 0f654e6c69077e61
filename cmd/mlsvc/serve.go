package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"mlsvc/catalog"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
	"mlsvc/pkg/stripepay"
	"mlsvc/web"
)

// env returns the environment variable name, or def when it is unset or empty.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("MLSVC_ADDR", "127.0.0.1:8000"), "listen address (MLSVC_ADDR)")
	dataDir := fs.String("data", env("MLSVC_DATA_DIR", ".data"), "database and blob directory (MLSVC_DATA_DIR)")
	delay := fs.String("delay", env("MLSVC_DELAY", mlsvc.DefaultDelay), "workflow wait, a range or a fixed duration (MLSVC_DELAY)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	d, err := mlsvc.ParseDelay(*delay)
	if err != nil {
		return err
	}
	cost, err := mlsvc.ParseBcryptCost(os.Getenv("MLSVC_BCRYPT_COST"))
	if err != nil {
		return fmt.Errorf("MLSVC_BCRYPT_COST: %w", err)
	}
	addressLimit, err := mlsvc.ParseRate(os.Getenv("MLSVC_ADDRESS_LIMIT"), mlsvc.DefaultAddressLimit)
	if err != nil {
		return fmt.Errorf("MLSVC_ADDRESS_LIMIT: %w", err)
	}
	rateLimit, err := mlsvc.ParseRate(os.Getenv("MLSVC_RATE_LIMIT"), mlsvc.DefaultRateLimit)
	if err != nil {
		return fmt.Errorf("MLSVC_RATE_LIMIT: %w", err)
	}
	topUp, err := mlsvc.ParseTopUpMode(os.Getenv("MLSVC_TOPUP"))
	if err != nil {
		return fmt.Errorf("MLSVC_TOPUP: %s", mlsvc.ErrorMessage(err))
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	entries, err := catalog.Entries()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	baseURL := env("MLSVC_PUBLIC_URL", "http://"+ln.Addr().String())
	payments, err := stripePayments(topUp, baseURL)
	if err != nil {
		return err
	}
	app, err := local.Open(ctx, local.Config{
		TopUpMode: topUp, Payments: payments,
		DataDir: *dataDir, Delay: d, Catalog: entries, Builtin: catalog.Files,
		BaseURL: baseURL, Web: web.Handler(), Logger: log,
		BcryptCost: cost, AddressLimit: addressLimit, RateLimit: rateLimit,
		// Tests only: webhooks to loopback and private addresses, and http.
		WebhookAllowPrivate: os.Getenv("MLSVC_WEBHOOK_ALLOW_PRIVATE") == "1",
	})
	if err != nil {
		return err
	}
	defer app.Close()
	stopPprof, err := startPprof(stderr)
	if err != nil {
		return err
	}
	defer stopPprof()

	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	log.Info("serving", "url", "http://"+ln.Addr().String(), "data_dir", *dataDir, "delay", *delay)
	fmt.Fprintf(stderr, "ML Service on http://%s (data in %s)\n", ln.Addr(), *dataDir)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stripePayments configures Stripe in stripe mode from MLSVC_STRIPE_SECRET_KEY,
// MLSVC_STRIPE_WEBHOOK_SECRET and MLSVC_STRIPE_API_URL; nil in other modes.
func stripePayments(mode, baseURL string) (mlsvc.Payments, error) {
	if mode != mlsvc.TopUpStripe {
		return nil, nil
	}
	p, err := stripepay.New(stripepay.Config{
		SecretKey:     os.Getenv("MLSVC_STRIPE_SECRET_KEY"),
		WebhookSecret: os.Getenv("MLSVC_STRIPE_WEBHOOK_SECRET"),
		APIURL:        os.Getenv("MLSVC_STRIPE_API_URL"),
		SuccessURL:    stripepay.SuccessURL(baseURL),
		CancelURL:     stripepay.CancelURL(baseURL),
	})
	if err != nil {
		return nil, fmt.Errorf("MLSVC_TOPUP=stripe: %w (set MLSVC_STRIPE_SECRET_KEY and MLSVC_STRIPE_WEBHOOK_SECRET)", err)
	}
	return p, nil
}
