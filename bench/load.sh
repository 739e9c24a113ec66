#!/bin/sh
# Load-driver benchmarks (`make bench`): `sandprobe load` against its in-process E2B mock with
# the synthetic backend (no process per sandbox), steps create -> startup -> cleanup (the
# synthetic backend does not yet run E2B's exec in /home/user). Each figure is the median of
# SP_BENCH_RUNS runs (default 3) with the min..max spread, printed with its target; nothing
# is asserted.   sh bench/load.sh path/to/sandprobe
set -u
bin=$1
runs=${SP_BENCH_RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/sandprobe-bench-load.XXXXXX") || exit 3
trap 'rm -rf "$work"' EXIT
base="--provider e2b --backend synthetic --steps create,startup,cleanup --quiet --out $work/out"
zero="--latency create=fixed:0ms --latency alive=fixed:0ms --latency delete=fixed:0ms"

# median_of CMD AWK: runs CMD $runs times, extracts one number per run with AWK from its
# console summary, prints "median (min..max)".
median_of() {
    i=0
    : >"$work/vals"
    while [ "$i" -lt "$runs" ]; do
        # shellcheck disable=SC2086
        $1 >"$work/run.out" 2>&1
        awk "$2" "$work/run.out" >>"$work/vals"
        i=$((i + 1))
    done
    sort -g "$work/vals" | awk '{v[NR]=$1} END {if (NR == 0) {print "n/a"; exit}
        printf "%s (%s..%s)", v[int((NR+1)/2)], v[1], v[NR]}'
}

# µs of a console duration such as 20.3ms, 812us, 1.52s.
to_us='function us(s) { if (s ~ /ms$/) return s * 1000; if (s ~ /us$/) return s + 0;
    if (s ~ /s$/) return s * 1e6; return s }'

echo "load driver (sandprobe load, E2B mock, synthetic backend, one harness thread; median of $runs)"
r=$(median_of "$bin load $base $zero --concurrency 256 --count 3000" \
    '/^rate /{print $2}')
echo "  closed model, 256 in flight, zero latency: $r lifecycles/s (target >= 1000/s)"
r=$(median_of "$bin load $base --latency create=fixed:20ms --latency alive=fixed:0ms --latency delete=fixed:0ms --rate 100 --count 300" \
    "$to_us /^api /{print us(\$3)/1000}")
echo "  create fixed at 20 ms, open 100/s: api p50 $r ms (target within 0.5 ms of 20 ms)"
stall="--latency create=table:99%=20ms,99.01%=1s,100%=1s --latency alive=fixed:0ms --latency delete=fixed:0ms"
r=$(median_of "$bin load $base $stall --rate 200 --count 2000" "$to_us /^api /{print us(\$5)/1000}")
echo "  1 s stall in 1 % of creates, open model 200/s: api p99 $r ms (the stall shows)"
r=$(median_of "$bin load $base $stall --concurrency 4 --count 2000" "$to_us /^api /{print us(\$5)/1000}")
echo "  the same, closed model 4 in flight: api p99 $r ms (a closed model hides it)"
r=$(median_of "$bin load $base $zero --rate 1000 --duration 3s" \
    "$to_us /largest lag/{print us(\$NF)/1000}")
echo "  open model 1000 starts/s for 3 s: largest schedule lag $r ms (target: p99 < 1 ms)"
