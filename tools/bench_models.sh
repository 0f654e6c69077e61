#!/usr/bin/env bash
# Benchmarks pkg/model's Predict for each model format against its peers in
# the same run, on the same 100,000 rows (uniform(0,1), 5 features): Debian's
# scikit-learn on the fixture models, and Debian's XGBoost (python3-xgboost,
# one thread, inplace_predict) on models of the same shape trained here.
# Prints:
#
#   BENCH <name> rows=100000 ns_per_row=<x> cpu_ns_per_row=<c> allocs_per_op=<a> [visits_per_row=<v> ns_per_visit=<t> visits_per_s=<r>]
#     (visits: split tests per row; per visit and per second in CPU time)
#   BENCH <name> sklearn_ns_per_row=<y> sklearn_cpu_ns_per_row=<z> speedup=<y/x>
#   BENCH xgboost_<shape> ns_per_row=<y> cpu_ns_per_row=<z> ...
#   RATIO <ours>_vs_<peer>=<peer's CPU ns/row ÷ ours> (goal >= <g>; cpu time; wall <peer's wall ns/row ÷ ours>)
#
# Ratios are taken on CPU time (getrusage for Go, time.process_time for
# Python; every timed computation is single-threaded): on a shared machine the
# time slices lost to other processes inflate wall time, and by different
# amounts for measurements taken a minute apart. The wall-time ratio follows.
#
# Shapes compared (one thread each):
#   rf_fixture (scikit-learn RandomForest, 50 trees depth 8)  vs scikit-learn's predict
#                                                             and XGBoost RF mode (num_parallel_tree=50, max_depth=8, one round)
#   catboost_300x6 (synthetic CatBoost JSON, 300 oblivious    vs XGBoost GBDT (300 rounds, max_depth=6)
#                   trees of depth 6; see oblivious_test.go)
#
# Go timings are the median of COUNT runs of BENCHTIME operations, each
# operation predicting all 100,000 rows on one goroutine; the peers' are the
# median of REPEATS predict calls. --smoke (make bench-models-smoke) runs
# everything once with tiny durations and fails only if a BENCH or RATIO line
# is missing: it asserts no timing goal. Environment: GO, COUNT (default 5),
# BENCHTIME (default 10x), REPEATS (default 7), MLSVC_FIXTURES (default
# ../shared/fixtures), MLSVC_PYTHON (a python3 with scikit-learn and joblib),
# MLSVC_XGB_PYTHON (a python3 with xgboost; default /usr/bin/python3). A
# missing peer prints its RATIO as n/a, and fails under CI=true or MLSVC_STRICT=1.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-10x}
REPEATS=${REPEATS:-7}
TRAIN_ROWS=20000
smoke=""
if [ "${1:-}" = "--smoke" ]; then
	smoke=1
	COUNT=1 BENCHTIME=1x REPEATS=1 TRAIN_ROWS=2000
fi
strict=""
if [ "${CI:-}" = true ] || [ "${MLSVC_STRICT:-}" = 1 ]; then strict=1; fi
FIXTURES=${MLSVC_FIXTURES:-../shared/fixtures}
ROWS=100000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pick_python() { # pick_python MODULES CANDIDATES...
	local mods=$1 p
	shift
	for p in "$@"; do
		if [ -n "$p" ] && "$p" -c "import $mods" 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
py=$(pick_python sklearn,joblib,numpy "${MLSVC_PYTHON:-}" python3 /usr/bin/python3)
xpy=$(pick_python xgboost,numpy "${MLSVC_XGB_PYTHON:-}" /usr/bin/python3 python3)
rowpy=${py:-$xpy}
have_fixtures=""
if [ -d "$FIXTURES/sklearn" ]; then
	have_fixtures=1
	MLSVC_FIXTURES=$(cd "$FIXTURES" && pwd)
	export MLSVC_FIXTURES
fi

# The rows scikit-learn's timing.json used: uniform(0, 1), 5 features, seed 123.
if [ -n "$rowpy" ]; then
	"$rowpy" -c "
import numpy as np, sys
np.random.RandomState(123).uniform(0, 1, ($ROWS, 5)).astype('<f8').tofile(sys.argv[1])
" "$tmp/rows.bin"
	export MLSVC_BENCH_ROWS="$tmp/rows.bin"
	echo "# rows: numpy RandomState(123).uniform(0,1,($ROWS,5)), shared by Go, scikit-learn and XGBoost"
fi
echo "# peers: scikit-learn python=${py:-none} fixtures=${have_fixtures:+$FIXTURES}; xgboost python=${xpy:-none}"

"$GO" test -run '^$' -bench '^BenchmarkPredict$' -benchmem -benchtime="$BENCHTIME" -count="$COUNT" ./pkg/model >"$tmp/go.txt" || {
	cat "$tmp/go.txt"
	exit 1
}

# Median ns/row per benchmark, plus allocs/op and split tests per row.
awk -v rows=$ROWS '
/^BenchmarkPredict\// {
	name = $1; sub(/^BenchmarkPredict\//, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "ns/row") { ns[name] = ns[name] " " $i }
		if ($(i+1) == "cpu-ns/row") { cpu[name] = cpu[name] " " $i }
		if ($(i+1) == "allocs/op") { allocs[name] = $i }
		if ($(i+1) == "visits/row") { visits[name] = $i }
	}
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
END {
	for (k = 1; k <= n; k++) {
		name = order[k]
		med = median(ns[name])
		line = sprintf("BENCH %s rows=%d ns_per_row=%.4g cpu_ns_per_row=%.4g allocs_per_op=%s", name, rows, med, median(cpu[name]), allocs[name])
		c = median(cpu[name]); t = (c > 0) ? c : med # per visit: CPU time when measured
		if (visits[name] != "") line = line sprintf(" visits_per_row=%d ns_per_visit=%.3f visits_per_s=%.3g", visits[name], t / visits[name], visits[name] / t * 1e9)
		print line
	}
}
function median(list,    m, v, i, j, t) {
	m = split(substr(list, 2), v, " ")
	if (m == 0) return 0
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}' "$tmp/go.txt" | tee "$tmp/bench.txt"


# field NAME KEY: the value of KEY=... on the last BENCH line for NAME.
field() { awk -v n="$1" -v f="$2=" '$1 == "BENCH" && $2 == n { for (i = 3; i <= NF; i++) if (index($i, f) == 1) { v = substr($i, length(f) + 1) } } END { print v }' "$tmp/bench.txt"; }

if [ -n "$py" ] && [ -n "$have_fixtures" ]; then
	for pair in linear_fixture:linear_regression rf_fixture:random_forest; do
		name=${pair%%:*}
		file=${pair#*:}
		"$py" - "$FIXTURES/sklearn/$file.joblib" "$tmp/rows.bin" "$name" "$(field "$name" ns_per_row)" "$REPEATS" <<'EOF' | tee -a "$tmp/bench.txt"
import sys, time, warnings
import joblib, numpy as np
warnings.simplefilter("ignore")
model_file, rows_file, name, go_ns, repeats = sys.argv[1:6]
est = joblib.load(model_file)
X = np.fromfile(rows_file, dtype="<f8").reshape(-1, 5)
est.predict(X[:1000])  # warm up
wall, cpu = [], []
for _ in range(int(repeats)):
    t0, c0 = time.perf_counter(), time.process_time()
    est.predict(X)
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
ns, cns = (sorted(v)[len(v) // 2] * 1e9 / len(X) for v in (wall, cpu))
print(f"BENCH {name} sklearn_ns_per_row={ns:.4g} sklearn_cpu_ns_per_row={cns:.4g} speedup={ns / float(go_ns):.2f}")
EOF
	done
fi

# XGBoost peers, trained here on Friedman #1 data (uniform inputs like the
# benchmark rows), one thread, timed with inplace_predict on the same rows.
if [ -n "$xpy" ] && [ -n "${MLSVC_BENCH_ROWS:-}" ]; then
	"$xpy" - "$tmp/rows.bin" "$TRAIN_ROWS" "$REPEATS" <<'EOF' | tee -a "$tmp/bench.txt"
import sys, time
import numpy as np, xgboost as xgb
rows_file, train_rows, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X = np.fromfile(rows_file, dtype="<f8").reshape(-1, 5)
rs = np.random.RandomState(0)
Xt = rs.uniform(0, 1, (train_rows, 5))
y = 10 * np.sin(np.pi * Xt[:, 0] * Xt[:, 1]) + 20 * (Xt[:, 2] - 0.5) ** 2 + 10 * Xt[:, 3] + 5 * Xt[:, 4] + rs.normal(size=train_rows)
d = xgb.DMatrix(Xt, label=y)
one = {"nthread": 1, "tree_method": "hist", "seed": 1}
models = {
    # 300 boosting rounds of depth-6 trees: the shape of catboost_300x6.
    "xgboost_gbdt_300x6": xgb.train(dict(one, max_depth=6, eta=0.1), d, 300),
    # Random-forest mode: 50 parallel trees of depth 8 in one round, as rf_fixture.
    "xgboost_rf_50x8": xgb.train(dict(one, max_depth=8, eta=1, num_parallel_tree=50,
                                      subsample=0.632, colsample_bynode=1.0), d, 1),
}
for name, bst in models.items():
    bst.set_param({"nthread": 1})
    bst.inplace_predict(X[:1000])  # warm up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        bst.inplace_predict(X)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    ns, cns = (sorted(v)[len(v) // 2] * 1e9 / len(X) for v in (wall, cpu))
    dump = bst.get_dump()
    leaves = sum(t.count("leaf=") for t in dump) / len(dump)
    print(f"BENCH {name} ns_per_row={ns:.4g} cpu_ns_per_row={cns:.4g} trees={len(dump)} leaves_per_tree={leaves:.1f} xgboost={xgb.__version__} nthread=1")
EOF
fi

# Ratios: the peer's time per row over ours, so > 1 means we are faster.
ratio() { # ratio NAME OURS_CPU PEER_CPU OURS_WALL PEER_WALL GOAL PEER_DESC
	local name=$1 goal=$6
	if [ -z "$2" ] || [ -z "$3" ] || [ -z "$4" ] || [ -z "$5" ]; then
		echo "RATIO $name=n/a (goal >= $goal; $7 not measured)"
		return
	fi
	awk -v n="$name" -v o="$2" -v p="$3" -v ow="$4" -v pw="$5" -v g="$goal" 'BEGIN {
		r = p / o
		printf "RATIO %s=%.2f (goal >= %s; cpu time; wall %.2f)%s\n", n, r, g, pw / ow, (r >= g ? "" : " BELOW GOAL")
	}'
}
{
	ratio rf_vs_xgboost_rf "$(field rf_fixture cpu_ns_per_row)" "$(field xgboost_rf_50x8 cpu_ns_per_row)" \
		"$(field rf_fixture ns_per_row)" "$(field xgboost_rf_50x8 ns_per_row)" 3 "XGBoost (python3-xgboost)"
	ratio catboost_vs_xgboost_gbdt "$(field catboost_300x6 cpu_ns_per_row)" "$(field xgboost_gbdt_300x6 cpu_ns_per_row)" \
		"$(field catboost_300x6 ns_per_row)" "$(field xgboost_gbdt_300x6 ns_per_row)" 5 "XGBoost (python3-xgboost)"
	ratio rf_vs_sklearn "$(field rf_fixture cpu_ns_per_row)" "$(field rf_fixture sklearn_cpu_ns_per_row)" \
		"$(field rf_fixture ns_per_row)" "$(field rf_fixture sklearn_ns_per_row)" 5 "scikit-learn (python3-sklearn) or the fixtures"
} | tee "$tmp/ratio.txt"
if grep -q 'n/a' "$tmp/ratio.txt" && [ -n "$strict" ]; then
	echo "bench_models: a peer is missing (CI=true or MLSVC_STRICT=1 requires all)" >&2
	exit 1
fi
if [ -n "$smoke" ]; then
	for want in rf_fixture catboost_300x6 xgboost_rf_50x8 xgboost_gbdt_300x6; do
		if ! awk -v n="$want" '$1 == "BENCH" && $2 == n { ok = 1 } END { exit !ok }' "$tmp/bench.txt"; then
			if [ -n "$strict" ] || [[ $want != xgboost_* ]]; then
				echo "bench_models --smoke: no BENCH line for $want" >&2
				exit 1
			fi
		fi
	done
	test "$(grep -c '^RATIO ' "$tmp/ratio.txt")" -eq 3 || {
		echo "bench_models --smoke: want 3 RATIO lines" >&2
		exit 1
	}
	echo "bench_models --smoke: ok (timings from one tiny run; goals not asserted)"
fi
