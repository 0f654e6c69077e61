package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"mlsvc/catalog"
	"mlsvc/pkg/dynamo"
	"mlsvc/pkg/local"
	"mlsvc/pkg/mlsvc"
)

// errMismatch is the audit's finding: main exits 1, not 2.
var errMismatch = errors.New("the audit found mismatches")

// storeFlags are the flags that choose the store of an operator's command:
// the local data directory, or a deployed stack's tables (--aws).
type storeFlags struct {
	dataDir                               *string
	onAWS                                 *bool
	users, usernames, predictions, ledger *string
	needUsernames, needPredictions        bool
}

func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	return &storeFlags{
		dataDir:     fs.String("data", env("MLSVC_DATA_DIR", ".data"), "data directory of the local service (MLSVC_DATA_DIR)"),
		onAWS:       fs.Bool("aws", false, "use a deployed stack's tables instead (AWS credentials and region from the usual AWS environment)"),
		users:       fs.String("users-table", "", "with --aws: the stack's UsersTableName output"),
		usernames:   fs.String("usernames-table", "", "with --aws: the stack's UsernamesTableName output"),
		predictions: fs.String("predictions-table", "", "with --aws: the stack's PredictionsTableName output"),
		ledger:      fs.String("ledger-table", "", "with --aws: the stack's LedgerTableName output"),
	}
}

// open returns the Service and Store the flags name, and a function that
// closes them.
func (f *storeFlags) open(ctx context.Context, cmd string, stderr io.Writer) (*mlsvc.Service, mlsvc.Store, func(), error) {
	if *f.onAWS {
		tables := dynamo.Tables{Users: *f.users, Usernames: *f.usernames, Predictions: *f.predictions, Ledger: *f.ledger}
		if tables.Users == "" || tables.Ledger == "" || f.needUsernames && tables.Usernames == "" || f.needPredictions && tables.Predictions == "" {
			fmt.Fprintf(stderr, "mlsvc %s --aws: the stack's table names are required (--users-table, --ledger-table%s%s)\n", cmd,
				map[bool]string{true: ", --usernames-table"}[f.needUsernames], map[bool]string{true: ", --predictions-table"}[f.needPredictions])
			return nil, nil, nil, errUsage
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("AWS configuration: %w", err)
		}
		store := dynamo.NewStore(dynamodb.NewFromConfig(cfg), tables)
		return mlsvc.New(mlsvc.Config{Store: store}), store, func() {}, nil
	}
	entries, err := catalog.Entries()
	if err != nil {
		return nil, nil, nil, err
	}
	app, err := local.Open(ctx, local.Config{DataDir: *f.dataDir, Catalog: entries, Builtin: catalog.Files, Admin: true})
	if err != nil {
		return nil, nil, nil, err
	}
	return app.Service, app.Store, func() { app.Close() }, nil
}

func (f *storeFlags) where() string {
	if *f.onAWS {
		return "in table " + *f.users
	}
	return "locally in " + *f.dataDir
}

// runCredit is `mlsvc credit --user NAME --amount X`: an operator's credit,
// a ledger entry of type credit.
func runCredit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("credit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "username to credit (required)")
	amount := fs.String("amount", "", "amount, e.g. 25.00 (required)")
	sf := addStoreFlags(fs)
	sf.needUsernames = true
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *user == "" || *amount == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: mlsvc credit --user NAME --amount X [--data DIR | --aws --users-table T --usernames-table T --ledger-table T]")
		return errUsage
	}
	cents, err := mlsvc.ParseAmount("--amount", *amount, mlsvc.MaxTopUp)
	if err != nil {
		return fmt.Errorf("%s", mlsvc.ErrorMessage(err))
	}
	svc, _, done, err := sf.open(ctx, "credit", stderr)
	if err != nil {
		return err
	}
	defer done()
	u, bal, err := svc.Credit(ctx, *user, cents)
	if err != nil {
		if mlsvc.ErrorCode(err) == mlsvc.EInternal {
			return err
		}
		return fmt.Errorf("%s", mlsvc.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "credited %s to %s (%s) %s: balance %s\n", cents, u.Username, u.ID, sf.where(), bal)
	return nil
}

// runAudit is `mlsvc audit`: every balance against its ledger, every
// charge against its prediction. Exit 0 when clean, 1 with the list of
// mismatches otherwise.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	sf.needPredictions = true
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	_, store, done, err := sf.open(ctx, "audit", stderr)
	if err != nil {
		return err
	}
	defer done()
	users, err := store.Users(ctx)
	if err != nil {
		return err
	}
	ms, err := mlsvc.Audit(ctx, store)
	if err != nil {
		return err
	}
	for _, m := range ms {
		fmt.Fprintln(stdout, "MISMATCH", m)
	}
	if len(ms) > 0 {
		fmt.Fprintf(stdout, "audit %s: %d mismatches in %d users\n", sf.where(), len(ms), len(users))
		return errMismatch
	}
	fmt.Fprintf(stdout, "audit %s: %d users, every balance equals its ledger\n", sf.where(), len(users))
	return nil
}
