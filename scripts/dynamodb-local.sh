#!/usr/bin/env bash
# dynamodb-local.sh installs Amazon's DynamoDB Local and runs a command with it.
#
#   scripts/dynamodb-local.sh install
#       Fetch DynamoDBLocal.jar (v1.25.1, shipped inside the npm package
#       amplify-dynamodb-simulator@2.9.30) into the cache dir. Idempotent.
#
#   scripts/dynamodb-local.sh run [--] COMMAND [ARGS...]
#       Install if needed, start DynamoDB Local in memory, export
#       MLSVC_DYNAMODB_ENDPOINT=http://127.0.0.1:PORT, run COMMAND, stop the
#       server (by its PID) and exit with COMMAND's status.
#       e.g. scripts/dynamodb-local.sh run -- go test ./pkg/dynamo/
#
# DynamoDB Local has no host flag: it listens on every interface. On Linux,
# when `unshare -n` is permitted (root), the server and COMMAND run in a
# private, loopback-only network namespace, so nothing outside the machine can
# reach the server. That namespace has no network at all, so the script fills
# the Go module cache first (`go mod download`) and sets GOPROXY=off inside.
# Without unshare it falls back to a plain run and warns.
#
# Environment:
#   DYNAMODB_LOCAL_DIR   cache dir (default: <repo>/.cache/dynamodb-local)
#   DYNAMODB_LOCAL_PORT  port (default: 8001)
set -euo pipefail

readonly PKG="amplify-dynamodb-simulator@2.9.30"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${DYNAMODB_LOCAL_DIR:-$ROOT/.cache/dynamodb-local}"
PORT="${DYNAMODB_LOCAL_PORT:-8001}"
SELF="$ROOT/scripts/$(basename "${BASH_SOURCE[0]}")"

log() { echo "dynamodb-local: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
	sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
}

install() {
	if [[ -f "$DIR/DynamoDBLocal.jar" && -d "$DIR/DynamoDBLocal_lib" ]]; then
		return 0
	fi
	command -v npm >/dev/null || die "npm is required to fetch $PKG"
	command -v tar >/dev/null || die "tar is required"
	local tmp
	tmp="$(mktemp -d)"
	log "fetching $PKG into $DIR"
	if ! fetch "$tmp"; then
		rm -rf "$tmp"
		die "could not fetch $PKG"
	fi
	rm -rf "$tmp"
	log "installed $DIR/DynamoDBLocal.jar"
}

fetch() {
	local tmp=$1
	# npm pack only downloads the tarball: nothing of the package is installed or run.
	(cd "$tmp" && npm pack --silent "$PKG" >/dev/null) || return 1
	tar -xzf "$tmp"/amplify-dynamodb-simulator-*.tgz -C "$tmp" package/emulator
	[[ -f "$tmp/package/emulator/DynamoDBLocal.jar" ]] || { log "$PKG has no emulator/DynamoDBLocal.jar"; return 1; }
	mkdir -p "$(dirname "$DIR")"
	rm -rf "$DIR"
	mv "$tmp/package/emulator" "$DIR"
}

check_java() {
	command -v java >/dev/null || die "java is required (Java 17: apt-get install openjdk-17-jre-headless)"
	local v
	v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
	[[ -n "$v" && "$v" -ge 11 ]] || die "DynamoDB Local needs Java 11 or newer; java -version says: $(java -version 2>&1 | head -n1)"
}

# serve starts DynamoDB Local, runs "$@" with MLSVC_DYNAMODB_ENDPOINT set and
# stops the server. It runs inside the network namespace when there is one.
serve() {
	local logfile pid status
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
		die "port $PORT is already in use: set DYNAMODB_LOCAL_PORT to a free port"
	fi
	logfile="$(mktemp -t dynamodb-local.XXXXXX.log)"
	(cd "$DIR" && exec java -Djava.library.path="$DIR/DynamoDBLocal_lib" -jar "$DIR/DynamoDBLocal.jar" \
		-inMemory -port "$PORT" -disableTelemetry) >"$logfile" 2>&1 &
	pid=$!
	# shellcheck disable=SC2064 # expand pid and logfile now
	trap "kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f '$logfile'" EXIT
	trap 'exit 130' INT TERM

	local deadline=$((SECONDS + 60))
	until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$logfile" >&2
			die "DynamoDB Local exited before answering on port $PORT"
		fi
		if ((SECONDS > deadline)); then
			cat "$logfile" >&2
			die "DynamoDB Local did not answer on port $PORT within 60s"
		fi
		sleep 0.2
	done
	log "DynamoDB Local (pid $pid) answers on 127.0.0.1:$PORT"

	export MLSVC_DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT"
	status=0
	"$@" || status=$?
	return "$status"
}

run() {
	[[ "${1:-}" == "--" ]] && shift
	[[ $# -gt 0 ]] || usage
	install
	check_java

	if [[ "$(uname -s)" == Linux ]] && command -v unshare >/dev/null && command -v ip >/dev/null &&
		unshare -n true 2>/dev/null; then
		# No network inside: fetch every Go module the command may need now.
		if command -v go >/dev/null && [[ -f "$ROOT/go.mod" ]]; then
			(cd "$ROOT" && go mod download) || log "WARNING: go mod download failed; Go commands inside may not build"
		fi
		export DYNAMODB_LOCAL_DIR="$DIR" DYNAMODB_LOCAL_PORT="$PORT"
		exec unshare -n "$SELF" _netns -- "$@"
	fi

	log "WARNING: cannot create a private network namespace (needs Linux, root, unshare and ip);"
	log "WARNING: DynamoDB Local will listen on port $PORT on EVERY interface for the duration of the command."
	serve "$@"
}

# _netns runs inside `unshare -n`: bring loopback up, keep Go off the network.
netns() {
	[[ "${1:-}" == "--" ]] && shift
	ip link set lo up
	export GOPROXY=off
	serve "$@"
}

case "${1:-}" in
install) install ;;
run) shift; run "$@" ;;
_netns) shift; netns "$@" ;;
*) usage ;;
esac
