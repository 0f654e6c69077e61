#!/usr/bin/env bash
# make bench-api: accepted POST /predict per second of the local service
# (`mlsvc serve`) against a bare net/http JSON handler (tools/benchpeer) on
# the same machine, under wrk at several connection counts. Prints one line
# per count:
#
#   BENCH conns=64 mlsvc_rps=… bare_rps=… ratio=… p50_ms=… p99_ms=… errors=0 timeouts=0
#
# mlsvc_rps and bare_rps count 2xx answers per second; p50/p99 are mlsvc's;
# errors are mlsvc's non-2xx answers and socket errors, timeouts its requests
# unanswered after BENCH_TIMEOUT. mlsvc_cpu_us and bare_cpu_us are each
# server's CPU time (user + system) per request: on a machine shared with
# other work they vary less than the rates do. The service runs with a temporary data
# directory, MLSVC_DELAY=1h (inference does not compete), MLSVC_BCRYPT_COST=4
# and MLSVC_RATE_LIMIT=off, and one user with a large balance.
#
# Settings (environment): BENCH_DURATION seconds per run (10), BENCH_CONNS
# ("1 8 32 64 128"), BENCH_THREADS wrk threads (2), BENCH_TIMEOUT (2s),
# BENCH_ROWS rows per request (5). Needs wrk (Debian package wrk) and curl;
# installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNS:-1 8 32 64 128}
threads=${BENCH_THREADS:-2}
timeout=${BENCH_TIMEOUT:-2s}
nrows=${BENCH_ROWS:-5}

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench-api needs $tool (Debian package $tool)" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

"$GO" build -o "$work/mlsvc" ./cmd/mlsvc
"$GO" build -o "$work/benchpeer" ./tools/benchpeer

# wait_url FILE PATTERN: the first http:// URL on a line of FILE matching
# PATTERN, once the server has written it.
wait_url() {
  local url
  for _ in $(seq 200); do
    url=$(grep -m1 "$2" "$1" 2>/dev/null | grep -o 'http://[0-9.:]*' | head -1 || true)
    if [ -n "$url" ]; then echo "$url"; return; fi
    sleep 0.1
  done
  echo "server did not start; its output:" >&2
  cat "$1" >&2
  exit 1
}

MLSVC_ADDR=127.0.0.1:0 MLSVC_DATA_DIR="$work/data" MLSVC_DELAY=1h MLSVC_BCRYPT_COST=4 MLSVC_RATE_LIMIT=off \
  "$work/mlsvc" serve 2>"$work/mlsvc.log" &
mlsvc_pid=$!
pids+=($mlsvc_pid)
"$work/benchpeer" -addr 127.0.0.1:0 >"$work/benchpeer.log" 2>&1 &
bare_pid=$!
pids+=($bare_pid)
mlsvc_url=$(wait_url "$work/mlsvc.log" '^ML Service on')
bare_url=$(wait_url "$work/benchpeer.log" '^benchpeer on')

user=bench password=bench-password
curl -sSf -o /dev/null -X POST "$mlsvc_url/users" -H 'Content-Type: application/json' \
  -d "{\"firstname\":\"Bench\",\"username\":\"$user\",\"password\":\"$password\"}"
# 1,000,000.00 per top-up (the most one may add) pays 100,000 predictions of lr.
for _ in $(seq $((duration * 4 + 4))); do
  curl -sSf -o /dev/null -X POST "$mlsvc_url/account/topup" -u "$user:$password" \
    -H 'Content-Type: application/json' -d '{"amount":1000000}'
done

# The body: the first BENCH_ROWS rows of the sample data for model lr.
rows=$(awk -F, -v n="$nrows" 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
  NR <= n + 1 { s = ""; for (i = 1; i <= NF; i++) s = s (i > 1 ? "," : "") "\"" h[i] "\":" $i
    out = out (NR > 2 ? "," : "") "{" s "}" }
  END { print out }' catalog/sample_data.csv)
body="{\"model_id\":\"lr\",\"input_data\":[$rows]}"
auth=$(printf '%s:%s' "$user" "$password" | base64 -w0)
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic $auth"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d status=%d timeout=%d connect=%d read=%d write=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.timeout, e.connect, e.read, e.write,
    latency:percentile(50), latency:percentile(99)))
end
EOF
# One request first: the body must be accepted.
code=$(curl -sS -o "$work/first.json" -w '%{http_code}' -X POST "$mlsvc_url/predict" -u "$user:$password" \
  -H 'Content-Type: application/json' -d "$body")
if [ "$code" != 202 ]; then
  echo "POST /predict answered $code, want 202: $(cat "$work/first.json")" >&2
  exit 1
fi

# cpu PID: the process's CPU time so far (user + system), in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run URL CONNS PID: wrk's WRK line, and the server's CPU time in cpu=….
run() {
  local t=$threads before out
  [ "$2" -lt "$t" ] && t=$2
  before=$(cpu "$3")
  out=$(wrk -t"$t" -c"$2" -d"${duration}s" --timeout "$timeout" -s "$work/post.lua" "$1/predict" | grep '^WRK ')
  echo "$out cpu=$(($(cpu "$3") - before))"
}
# field LINE NAME: the value of NAME=… in LINE.
field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }

for c in $conns; do
  m=$(run "$mlsvc_url" "$c" "$mlsvc_pid")
  sleep 1
  b=$(run "$bare_url" "$c" "$bare_pid")
  sleep 1
  awk -v c="$c" -v hz="$hz" -v mcpu="$(field "$m" cpu)" -v bcpu="$(field "$b" cpu)" \
    -v mreq="$(field "$m" requests)" -v mdur="$(field "$m" duration_us)" -v mstatus="$(field "$m" status)" \
    -v mtimeout="$(field "$m" timeout)" -v msock=$(($(field "$m" connect) + $(field "$m" read) + $(field "$m" write))) \
    -v p50="$(field "$m" p50_us)" -v p99="$(field "$m" p99_us)" \
    -v breq="$(field "$b" requests)" -v bdur="$(field "$b" duration_us)" -v bstatus="$(field "$b" status)" \
    'BEGIN {
      mrps = (mreq - mstatus) / (mdur / 1e6); brps = (breq - bstatus) / (bdur / 1e6)
      printf "BENCH conns=%d mlsvc_rps=%.0f bare_rps=%.0f ratio=%.3f p50_ms=%.1f p99_ms=%.1f errors=%d timeouts=%d mlsvc_cpu_us=%.0f bare_cpu_us=%.0f\n",
        c, mrps, brps, (brps > 0 ? mrps / brps : 0), p50 / 1000, p99 / 1000, mstatus + msock, mtimeout,
        (mreq > 0 ? mcpu / hz * 1e6 / mreq : 0), (breq > 0 ? bcpu / hz * 1e6 / breq : 0)
    }'
done
