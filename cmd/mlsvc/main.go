// Command mlsvc is the ML Service's one command: the local server (serve),
// offline scoring of a model file (predict) and model publishing (models add).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: mlsvc <command> [flags]

commands:
  serve        run the whole service locally (MLSVC_ADDR, MLSVC_DATA_DIR, MLSVC_DELAY)
  predict      score rows offline: mlsvc predict --model MODEL.json --input ROWS.csv|ROWS.json
  models add   publish a model: mlsvc models add --name N --cost C --description D --file MODEL.json
  credit       an operator's credit: mlsvc credit --user NAME --amount X [--aws ...]
  audit        check every balance against its ledger (exit 1 on a mismatch) [--aws ...]
`

// errUsage marks an error whose message is already the whole story for the user.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errMismatch) {
		os.Exit(1)
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "mlsvc:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "predict":
		return runPredict(ctx, args[1:], stdin, stdout, stderr)
	case "models":
		return runModels(ctx, args[1:], stdout, stderr)
	case "credit":
		return runCredit(ctx, args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "mlsvc: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}
