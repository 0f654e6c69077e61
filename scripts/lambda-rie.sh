#!/usr/bin/env bash
# lambda-rie.sh installs the AWS Lambda Runtime Interface Emulator, which runs
# a real `bootstrap` behind the Lambda invoke API on this machine.
#
#   scripts/lambda-rie.sh install
#       `go install` aws-lambda-rie (a pinned version) into the cache dir and
#       print its path. Idempotent: an installed binary of that version is kept.
#
#   scripts/lambda-rie.sh path
#       Print the path it installs to.
#
# Run a bootstrap with it on loopback only (the default invoke address is
# 0.0.0.0:8080, so always pass both addresses):
#   aws-lambda-rie --runtime-interface-emulator-address 127.0.0.1:P \
#                  --runtime-api-address 127.0.0.1:Q ./bootstrap
#   curl -d @events/me.json http://127.0.0.1:P/2015-03-31/functions/function/invocations
#
# Environment:
#   LAMBDA_RIE_DIR   directory of the binary (default: <repo>/.cache/bin)
set -euo pipefail

# The install steps are actionlint.sh's: each script pins and installs its
# own tool, so either runs alone.
readonly MODULE="github.com/aws/aws-lambda-runtime-interface-emulator"
readonly VERSION="v0.0.0-20261030222936-bef5c4ba774d"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${LAMBDA_RIE_DIR:-$ROOT/.cache/bin}"
BIN="$DIR/aws-lambda-rie"

log() { echo "lambda-rie: $*" >&2; }

installed_version() {
	go version -m "$BIN" 2>/dev/null | awk -v m="$MODULE" '$1 == "mod" && $2 == m { print $3 }'
}

install() {
	command -v go >/dev/null || { log "go is required"; exit 1; }
	if [[ -x "$BIN" && "$(installed_version)" == "$VERSION" ]]; then
		echo "$BIN"
		return 0
	fi
	log "installing $MODULE/cmd/aws-lambda-rie@$VERSION into $DIR"
	mkdir -p "$DIR"
	GOBIN="$DIR" go install "$MODULE/cmd/aws-lambda-rie@$VERSION"
	echo "$BIN"
}

case "${1:-}" in
install) install ;;
path) echo "$BIN" ;;
*)
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
