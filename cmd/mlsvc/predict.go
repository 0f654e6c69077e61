package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mlsvc/pkg/model"
	"mlsvc/pkg/rowio"
)

const predictUsage = `usage: mlsvc predict --model MODEL.json --input ROWS.csv|ROWS.json [--format csv|json]

Scores rows offline with a model file (an mlsvc envelope or a CatBoost JSON
export) and writes CSV to stdout: the input columns plus "prediction".
CSV input needs a header row naming every feature; JSON input is an object or
an array of objects. --input - reads stdin (CSV unless --format json).

flags:
`

// runPredict is "mlsvc predict": offline scoring of a file of rows.
func runPredict(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model file (JSON)")
	inputPath := fs.String("input", "", "rows to score: .csv or .json file, or - for stdin")
	format := fs.String("format", "", "input format, csv or json (default: from the --input extension)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), predictUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage // the flag package has printed the problem and the usage
	}
	if fs.NArg() > 0 || *modelPath == "" || *inputPath == "" {
		fmt.Fprintln(stderr, "mlsvc predict: --model and --input are required (and nothing else)")
		fs.Usage()
		return errUsage
	}
	inFormat, err := inputFormat(*format, *inputPath)
	if err != nil {
		return err
	}

	m, err := loadModelFile(*modelPath)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	in := stdin
	if *inputPath != "-" {
		f, err := os.Open(*inputPath)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var rows *rowio.Rows
	if inFormat == "csv" {
		rows, err = rowio.ParseCSV(bufio.NewReader(in), m.Features(), 0)
	} else {
		var data []byte
		if data, err = io.ReadAll(in); err == nil {
			rows, err = rowio.ParseJSON(data, m.Features(), 0)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *inputPath, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	preds := rowio.Predict(m, rows)
	w := bufio.NewWriterSize(stdout, 64<<10)
	if err := rowio.WriteCSV(w, rows, preds); err != nil {
		return err
	}
	return w.Flush()
}

func inputFormat(flagValue, path string) (string, error) {
	f := strings.ToLower(flagValue)
	if f == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".json":
			f = "json"
		case ".csv", "":
			f = "csv"
		default:
			return "", fmt.Errorf("cannot tell the format of %s from its extension: use --format csv or --format json", path)
		}
	}
	if f != "csv" && f != "json" {
		return "", fmt.Errorf("--format must be csv or json, not %q", flagValue)
	}
	return f, nil
}

// loadModelFile reads and parses a model file, refusing files over the size limit
// before reading them.
func loadModelFile(path string) (*model.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, model.MaxModelSize+1))
	if err != nil {
		return nil, err
	}
	m, err := model.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
