#!/usr/bin/env bash
# Keeps the dependencies pointing inward: the domain imports no AWS SDK, no
# Lambda runtime and no database; the HTTP handlers and the local-mode
# packages import no AWS; only the AWS adapters (dynamo, s3blob, stepfn,
# lambdafn) may import the AWS SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
forbid() { # package, pattern, why
  local bad
  bad=$(go list -deps "$1" | grep -vxF "$(go list "$1")" | grep -E "$2" || true)
  if [ -n "$bad" ]; then
    echo "check-deps: $1 must not import $3:"; echo "$bad" | head -3 | sed 's/^/  /'
    status=1
  fi
}
aws='^github.com/aws/|^github.com/awslabs/'
forbid ./pkg/mlsvc "$aws|^modernc.org/|^mlsvc/pkg/(sqlite|dynamo|localblob|s3blob|runner|stepfn|httpapi|local|lambdafn)$" "AWS, a database or an adapter"
forbid ./pkg/model "$aws|^modernc.org/|^mlsvc/" "anything of the service"
forbid ./pkg/rowio "$aws|^modernc.org/|^mlsvc/" "anything of the service"
for p in $(go list ./pkg/...); do
  case "$p" in
    */pkg/dynamo|*/pkg/s3blob|*/pkg/stepfn|*/pkg/lambdafn|*/pkg/lambdafn/payments) ;;
    *) forbid "$p" "$aws" "AWS (only the AWS adapters may)" ;;
  esac
done
exit $status
