#!/usr/bin/env bash
# Benchmarks pkg/model's Predict for each model format and, where Debian's
# scikit-learn is installed, scikit-learn's own predict on the same fixture
# models and the same 100,000 rows, in the same run. Prints:
#
#   BENCH <name> rows=100000 ns_per_row=<x> allocs_per_op=<a> [visits_per_row=<v> ns_per_visit=<t>]
#   BENCH <name> sklearn_ns_per_row=<y> speedup=<y/x>
#
# Go timings are the median of COUNT runs of BENCHTIME operations, each
# operation predicting all 100,000 rows on one goroutine; scikit-learn's are
# the median of 7 predict calls (RandomForest single-threaded, n_jobs=None;
# LinearRegression through numpy's BLAS). Environment: GO, COUNT (default 5),
# BENCHTIME (default 10x), MLSVC_FIXTURES (default ../shared/fixtures),
# MLSVC_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-10x}
FIXTURES=${MLSVC_FIXTURES:-../shared/fixtures}
ROWS=100000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

py=""
for p in "${MLSVC_PYTHON:-}" python3 /usr/bin/python3; do
	if [ -n "$p" ] && "$p" -c 'import sklearn, joblib, numpy' 2>/dev/null; then
		py=$p
		break
	fi
done
have_fixtures=""
if [ -d "$FIXTURES/sklearn" ]; then
	have_fixtures=1
	MLSVC_FIXTURES=$(cd "$FIXTURES" && pwd)
	export MLSVC_FIXTURES
fi

# The rows scikit-learn's timing.json used: uniform(0, 1), 5 features, seed 123.
if [ -n "$py" ] && [ -n "$have_fixtures" ]; then
	"$py" -c "
import numpy as np, sys
np.random.RandomState(123).uniform(0, 1, ($ROWS, 5)).astype('<f8').tofile(sys.argv[1])
" "$tmp/rows.bin"
	export MLSVC_BENCH_ROWS="$tmp/rows.bin"
	echo "# rows: numpy RandomState(123).uniform(0,1,($ROWS,5)), shared by Go and scikit-learn"
else
	echo "# scikit-learn or fixtures missing: Go timings only (python: ${py:-none}, fixtures: $FIXTURES)"
fi

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
		if ($(i+1) == "allocs/op") { allocs[name] = $i }
		if ($(i+1) == "visits/row") { visits[name] = $i }
	}
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
END {
	for (k = 1; k <= n; k++) {
		name = order[k]
		m = split(substr(ns[name], 2), v, " ")
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
		line = sprintf("BENCH %s rows=%d ns_per_row=%.4g allocs_per_op=%s", name, rows, med, allocs[name])
		if (visits[name] != "") line = line sprintf(" visits_per_row=%d ns_per_visit=%.3f", visits[name], med / visits[name])
		print line
	}
}' "$tmp/go.txt" | tee "$tmp/bench.txt"

if [ -n "$py" ] && [ -n "$have_fixtures" ]; then
	for pair in linear_fixture:linear_regression rf_fixture:random_forest; do
		name=${pair%%:*}
		file=${pair#*:}
		go_ns=$(awk -v n="$name" '$2 == n { sub("ns_per_row=", "", $4); print $4 }' "$tmp/bench.txt")
		"$py" - "$FIXTURES/sklearn/$file.joblib" "$tmp/rows.bin" "$name" "$go_ns" <<'EOF'
import sys, time, warnings
import joblib, numpy as np
warnings.simplefilter("ignore")
model_file, rows_file, name, go_ns = sys.argv[1:5]
est = joblib.load(model_file)
X = np.fromfile(rows_file, dtype="<f8").reshape(-1, 5)
est.predict(X[:1000])  # warm up
times = []
for _ in range(7):
    t0 = time.perf_counter()
    est.predict(X)
    times.append(time.perf_counter() - t0)
ns = sorted(times)[len(times) // 2] * 1e9 / len(X)
print(f"BENCH {name} sklearn_ns_per_row={ns:.4g} speedup={ns / float(go_ns):.2f}")
EOF
	done
fi
