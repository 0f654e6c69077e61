#!/usr/bin/env bash
# smoke.sh walks the README's journey against a running ML Service:
# register, top up, list the models, request a prediction, poll until it
# completes, download its CSV. It needs bash, curl and python3 (for JSON),
# and leaves a user named smoke-<random> behind.
#
#   scripts/smoke.sh https://abc123.execute-api.us-east-1.amazonaws.com/
#   scripts/smoke.sh http://127.0.0.1:8000
#
# Environment:
#   SMOKE_TIMEOUT   seconds to wait for the prediction (default 120)
#   SMOKE_MODEL     model id to use (default: the cheapest published)
#   SMOKE_USER, SMOKE_PASSWORD
#                   an existing user with a balance, for deployments whose
#                   top-up is not self-service (stripe, operator): no
#                   registration or top-up then
# Exit status 0 when every step passed; otherwise the failing step is printed.
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
	echo "usage: $0 BASE_URL" >&2
	exit 2
fi
BASE="${1%/}"
TIMEOUT="${SMOKE_TIMEOUT:-120}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

step() { printf '%s smoke: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() {
	printf 'smoke: FAIL: %s\n' "$*" >&2
	exit 1
}

# json EXPR reads JSON on stdin and prints the Python expression EXPR of
# it (the value is `v`): a string as it is, anything else as JSON.
json() {
	python3 -c '
import json, sys
v = json.load(sys.stdin)
r = eval(sys.argv[1], {"v": v})
print(r if isinstance(r, str) else json.dumps(r))' "$1"
}

# call METHOD PATH [BODY]: the response body in $TMP/body, its status in
# $STATUS, its headers in $TMP/headers. Never follows redirects.
call() {
	local method="$1" path="$2" body="${3:-}"
	local args=(-sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$method" --max-time 30)
	[[ -n "${AUTH:-}" ]] && args+=(-u "$AUTH")
	[[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	STATUS="$(curl "${args[@]}" "$BASE$path")" || fail "$method $path: curl failed"
}

# expect STATUS...: the last call answered one of these statuses.
expect() {
	local s
	for s in "$@"; do [[ "$STATUS" == "$s" ]] && return 0; done
	fail "$LAST: status $STATUS, want $*: $(head -c 500 "$TMP/body")"
}

if [[ -n "${SMOKE_USER:-}" ]]; then
	AUTH="$SMOKE_USER:${SMOKE_PASSWORD:?SMOKE_PASSWORD is required with SMOKE_USER}"
	step "as the existing user $SMOKE_USER"
else
	user="smoke-$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
	password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
	LAST="POST /users"
	step "$LAST ($user)"
	AUTH="" call POST /users "{\"firstname\":\"Smoke\",\"username\":\"$user\",\"password\":\"$password\"}"
	expect 201
	AUTH="$user:$password"

	LAST="POST /account/topup"
	step "$LAST"
	call POST /account/topup '{"amount": 100}'
	expect 200
fi

LAST="GET /users/me"
step "$LAST"
call GET /users/me
expect 200
before="$(json 'str(v["balance"])' <"$TMP/body")"
step "balance $before"

LAST="GET /models"
step "$LAST"
AUTH="" call GET /models
expect 200
if [[ -n "${SMOKE_MODEL:-}" ]]; then
	model="$SMOKE_MODEL"
else
	model="$(json 'sorted(v, key=lambda m: float(m["cost"]))[0]["id"] if v else ""' <"$TMP/body")"
fi
[[ -n "$model" ]] || fail "GET /models lists no model"
cost="$(json "[str(m['cost']) for m in v if m['id'] == '$model'][0]" <"$TMP/body")" ||
	fail "model $model is not published"
step "model $model, cost $cost"

LAST="POST /predict"
step "$LAST"
rows='[{"feature_0":0.5,"feature_1":0.1,"feature_2":0.9,"feature_3":0.3,"feature_4":0.7},{"feature_0":0.2,"feature_1":0.8,"feature_2":0.4,"feature_3":0.6,"feature_4":0.1}]'
call POST /predict "{\"model_id\":\"$model\",\"input_data\":$rows}"
expect 202
id="$(json 'v["prediction_id"]' <"$TMP/body")"
[[ "$(json 'v["status"]' <"$TMP/body")" == pending ]] || fail "POST /predict: not pending: $(cat "$TMP/body")"
step "prediction $id pending"

LAST="GET /predict/$id"
deadline=$((SECONDS + TIMEOUT))
while :; do
	call GET "/predict/$id"
	expect 200
	status="$(json 'v["status"]' <"$TMP/body")"
	case "$status" in
	completed) break ;;
	pending) ;;
	*) fail "prediction $id is $status: $(json 'v.get("error", "")' <"$TMP/body")" ;;
	esac
	((SECONDS < deadline)) || fail "prediction $id still pending after ${TIMEOUT}s"
	sleep 2
done
n="$(json 'len(v["output_data"]["predictions"])' <"$TMP/body")"
[[ "$n" == 2 ]] || fail "prediction $id has $n predictions, want 2"
step "prediction $id completed after $((SECONDS - deadline + TIMEOUT))s"

LAST="GET /users/me"
call GET /users/me
expect 200
after="$(json 'str(v["balance"])' <"$TMP/body")"
python3 -c 'import sys; from decimal import Decimal as D; sys.exit(D(sys.argv[1]) - D(sys.argv[3]) != D(sys.argv[2]))' \
	"$before" "$cost" "$after" || fail "balance $before → $after, want $cost less"
step "balance $after ($cost charged)"

LAST="GET /predict/$id/download"
step "$LAST"
call GET "/predict/$id/download"
expect 302 303 307
location="$(tr -d '\r' <"$TMP/headers" | sed -n 's/^[Ll]ocation: //p' | head -1)"
[[ -n "$location" ]] || fail "$LAST: no Location"
[[ "$location" == http* ]] || location="$BASE$location"
curl -sS --fail --max-time 30 -o "$TMP/result.csv" "$location" || fail "GET the CSV at its URL failed"
header="$(head -1 "$TMP/result.csv")"
[[ "$header" == *feature_0* && "$header" == *prediction* ]] || fail "the CSV's header is $header"
lines="$(wc -l <"$TMP/result.csv")"
((lines >= 3)) || fail "the CSV has $lines lines, want a header and 2 rows"
step "CSV: $header, $((lines - 1)) rows"
step "PASS"
