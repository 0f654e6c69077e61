// Package awstest checks the AWS deployment of the ML Service without an AWS
// account: template.yaml against the code it deploys, and the real Lambda
// bootstraps end to end under aws-lambda-rie, against DynamoDB Local, an
// in-process S3 (gofakes3) and the state machine run by
// infra/test/run-workflow.mjs.
//
// The template tests need nothing. The end-to-end tests need
// MLSVC_DYNAMODB_ENDPOINT (scripts/dynamodb-local.sh run sets it),
// aws-lambda-rie (scripts/lambda-rie.sh install; MLSVC_RIE names it) and
// Node with infra/node_modules (npm ci in infra/); without them they skip,
// except when CI=true or MLSVC_STRICT=1, where they fail. `make test-aws`
// installs all of it and runs them in DynamoDB Local's network namespace.
package awstest
