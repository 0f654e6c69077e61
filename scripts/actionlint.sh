#!/usr/bin/env bash
# actionlint.sh checks .github/workflows with actionlint, a pinned version
# `go install`ed into the repo's cache (.cache/bin), so CI and a fresh
# machine get the same one.
#
#   scripts/actionlint.sh [actionlint flags]
set -euo pipefail
# The install steps are lambda-rie.sh's: each script pins and installs its
# own tool, so either runs alone.
readonly MODULE="github.com/rhysd/actionlint"
readonly VERSION="v1.7.12"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${ACTIONLINT_DIR:-$ROOT/.cache/bin}"
BIN="$DIR/actionlint"

installed_version() {
	go version -m "$BIN" 2>/dev/null | awk -v m="$MODULE" '$1 == "mod" && $2 == m { print $3 }'
}

if [[ ! -x "$BIN" || "$(installed_version)" != "$VERSION" ]]; then
	echo "actionlint: installing $MODULE/cmd/actionlint@$VERSION into $DIR" >&2
	GOBIN="$DIR" go install "$MODULE/cmd/actionlint@$VERSION"
fi
cd "$ROOT"
exec "$BIN" "$@"
