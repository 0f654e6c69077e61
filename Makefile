# ML Service. `make run` starts the service locally; `make test` runs every test.
SHELL := /bin/bash
GO ?= go

.PHONY: run test test-go test-node test-e2e lint build bench-models bench-models-smoke aws-setup test-aws bench-coldstart bench-api bench-api-smoke

run:
	$(GO) run ./cmd/mlsvc serve

# Every test. With Java and Node.js present (CI has them), the Go tests run
# inside DynamoDB Local's loopback-only network namespace with the Lambda
# runtime emulator, so the AWS adapters and the real bootstraps are tested
# too; without them those suites skip with a message (and fail under CI=true).
test: lint test-go test-node test-e2e bench-models-smoke bench-api-smoke

test-go:
	@if command -v java >/dev/null && command -v node >/dev/null; then \
		$(MAKE) --no-print-directory aws-setup && \
		MLSVC_RIE=$$(scripts/lambda-rie.sh path) MLSVC_LAMBDA_BIN=$(LAMBDA_HOST_BIN) \
			scripts/dynamodb-local.sh run -- $(GO) test -count=1 ./...; \
	else \
		echo "java or node missing: the DynamoDB Local and Lambda emulator suites skip"; \
		$(GO) test -count=1 ./...; \
	fi

# The state machine under asl-validator and aws-local-stepfunctions, and the
# web UI's unit tests.
test-node:
	cd infra && npm ci --no-audit --no-fund && npm test
	cd e2e && npm ci --no-audit --no-fund && node --test unit/

# The web UI end to end in Debian's Chromium against `mlsvc serve`.
test-e2e:
	cd e2e && npm ci --no-audit --no-fund && node run.mjs

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	scripts/check-deps.sh
	scripts/actionlint.sh
	bash -n scripts/smoke.sh

# Model runtime speed: Go's Predict per format vs scikit-learn's and XGBoost's
# predict on the same rows, one thread each, with RATIO lines against the goals.
bench-models:
	GO=$(GO) ./tools/bench_models.sh

# The same script end to end in seconds (tiny durations): checks that it runs
# and prints its BENCH and RATIO lines; asserts no timing goal.
bench-models-smoke:
	GO=$(GO) ./tools/bench_models.sh --smoke
# Local POST /predict throughput and latency against a bare net/http JSON
# handler under wrk (Debian package wrk), at 1, 8, 32, 64 and 128
# connections: "BENCH conns=… mlsvc_rps=… bare_rps=… ratio=… …" lines.
# BENCH_DURATION (seconds, default 10) and BENCH_CONNS change the runs.
bench-api:
	GO=$(GO) ./tools/bench_api.sh

# bench-api end to end in a few seconds: two connection counts of 1 s each
# must print their BENCH lines with accepted requests and no errors (the
# performance goals are not checked here).
bench-api-smoke:
	@if ! command -v wrk >/dev/null; then \
		if [ "$$CI" = true ] || [ "$$MLSVC_STRICT" = 1 ]; then echo "bench-api-smoke: wrk is required (apt-get install wrk)" >&2; exit 1; fi; \
		echo "bench-api-smoke: wrk missing (apt-get install wrk): skipped"; exit 0; \
	fi
	@mkdir -p $(CURDIR)/.cache
	@set -o pipefail; GO=$(GO) BENCH_DURATION=1 BENCH_CONNS="1 8" ./tools/bench_api.sh | tee $(CURDIR)/.cache/bench-api-smoke.log
	@test "$$(grep -cE '^BENCH conns=[0-9]+ mlsvc_rps=[1-9][0-9]* bare_rps=[1-9][0-9]* .* errors=0 ' $(CURDIR)/.cache/bench-api-smoke.log)" = 2 \
		|| { echo "bench-api-smoke: want 2 BENCH lines with accepted requests and errors=0" >&2; exit 1; }

# --- AWS Lambda -------------------------------------------------------------
# One bootstrap per directory of functions/, deployed by template.yaml. `sam
# build` runs `make build-<LogicalId>` with ARTIFACTS_DIR set; `make build`
# builds them all into bin/<name>/bootstrap and prints their sizes.
LAMBDA_FUNCTIONS := register me topup models predict prediction download predictions web inference failure sweeper token password createkey apikeys deletekey transactions stripewebhook cancel webhooksecret webhookrotate webhooks
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_GOFLAGS)
LAMBDA_MAX_BYTES := 12582912 # 12 MiB per stripped arm64 bootstrap

build:
	$(GO) build ./...
	@for f in $(LAMBDA_FUNCTIONS); do \
		$(LAMBDA_BUILD) -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
		size=$$(stat -c %s bin/$$f/bootstrap); \
		awk -v f="bin/$$f/bootstrap" -v s=$$size 'BEGIN { printf "%-26s %9d bytes  %5.2f MiB\n", f, s, s / 1048576 }'; \
		if [ $$size -gt $(LAMBDA_MAX_BYTES) ]; then echo "bin/$$f/bootstrap is over $(LAMBDA_MAX_BYTES) bytes" >&2; exit 1; fi; \
	done

build-TokenFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/token
build-PasswordFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/password
build-CreateKeyFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/createkey
build-ApiKeysFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/apikeys
build-DeleteKeyFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/deletekey
build-RegisterFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/register
build-MeFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/me
build-TopUpFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/topup
build-ModelsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/models
build-PredictFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/predict
build-PredictionFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/prediction
build-DownloadFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/download
build-PredictionsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/predictions
build-StripeWebhookFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/stripewebhook
build-TransactionsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/transactions
build-CancelFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/cancel
build-WebhookSecretFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhooksecret
build-WebhookRotateFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhookrotate
build-WebFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/web
build-InferenceFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/inference
build-FailureFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/failure
build-SweeperFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweeper
build-WebhooksFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhooks

# The real bootstraps, built for this machine, under aws-lambda-rie against
# DynamoDB Local (in its loopback-only network namespace, with the tests),
# an in-process S3 and the state machine; plus the DynamoDB store's suite.
LAMBDA_HOST_BIN := $(CURDIR)/.cache/lambda-host
aws-setup:
	cd infra && npm ci --no-audit --no-fund
	scripts/dynamodb-local.sh install
	scripts/lambda-rie.sh install >/dev/null
	GOBIN=$(CURDIR)/.cache/bin $(GO) install github.com/stripe/stripe-mock@v0.203.0 # pkg/local's Stripe tests
	@for f in $(LAMBDA_FUNCTIONS); do \
		CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -o $(LAMBDA_HOST_BIN)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

test-aws: aws-setup
	MLSVC_RIE=$$(scripts/lambda-rie.sh path) MLSVC_LAMBDA_BIN=$(LAMBDA_HOST_BIN) \
		scripts/dynamodb-local.sh run -- $(GO) test -count=1 ./test/aws/ ./pkg/dynamo/

# Each bootstrap's init time (cold start) and warm handler duration under
# aws-lambda-rie, as "COLDSTART <name> init_ms=<x>" and "WARM <name>
# median_ms=<x> p90_ms=<y>" lines (docs/COST.md uses them).
bench-coldstart: aws-setup
	@set -o pipefail; MLSVC_BENCH=1 MLSVC_RIE=$$(scripts/lambda-rie.sh path) MLSVC_LAMBDA_BIN=$(LAMBDA_HOST_BIN) \
		scripts/dynamodb-local.sh run -- $(GO) test -count=1 -run '^(TestColdStart|TestWarmDuration)$$' -v ./test/aws/ \
		| tee $(CURDIR)/.cache/coldstart.log | grep -E '^(COLDSTART|WARM|--- FAIL|FAIL|ok)'
