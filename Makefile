# ML Service. `make run` starts the service locally; `make test` runs every test.
SHELL := /bin/bash
GO ?= go

.PHONY: run test test-unit lint build bench-models test-infra

run:
	$(GO) run ./cmd/mlsvc serve

test: lint test-unit

test-unit:
	$(GO) test ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# The state machine: asl-validator and executions under aws-local-stepfunctions
# with stub Lambdas; then with the Go handlers, and end to end with the real
# inference and failure bootstraps, under aws-lambda-rie on DynamoDB Local.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
test-infra:
	cd infra && npm ci --no-audit --no-fund && npm test
	GOBIN=$(CURDIR)/.cache/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	MLSVC_RIE=$(CURDIR)/.cache/bin/aws-lambda-rie scripts/dynamodb-local.sh run -- \
		$(GO) test -count=1 -run '^(TestWorkflowUnderRIE|TestEndToEnd)$$' ./pkg/stepfn/

# Model runtime speed: Go's Predict per format vs scikit-learn's predict (same rows).
bench-models:
	GO=$(GO) ./tools/bench_models.sh
