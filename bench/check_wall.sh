#!/bin/sh
# `make bench`, conformance part: wall time of `sandprobe check --provider all` against the
# built-in mocks (every provider in every mode, default --jobs), as the median, minimum and
# maximum of SP_BENCH_CHECK_RUNS runs (default 5), with the machine's cores and load average
# printed next to it, since both move the figure. Two figures: the requirements without fault
# injection (`--skip Disruptive`, target <= 15 s, the issue's requirement set) and the whole
# table (the [Disruptive] requirements run alone and wait out their faults; no target). Under
# each figure, the three slowest requirements of its slowest run, to tell an outlier's cause.
# Nothing is asserted.
#   sh bench/check_wall.sh BUILD_DIR
set -u
[ "$#" -eq 1 ] || { echo "usage: sh bench/check_wall.sh BUILD_DIR" >&2; exit 2; }
bin=$(cd "$1" && pwd)/sandprobe
runs=${SP_BENCH_CHECK_RUNS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/sandprobe-bench-check.XXXXXX") || exit 3
trap 'rm -rf "$work"' EXIT

# slowest PREFIX TIMES: the three slowest requirements of the slowest run (from its
# junit.xml), so an outlier run says where its time went.
slowest() {
    worst=$(printf '%s\n' $2 | awk '{ if ($1 > m) { m = $1; i = NR } } END { print i }')
    junit="$1$worst/junit.xml"
    [ -f "$junit" ] || return 0
    grep -o '<testcase classname="[^"]*" name="[^"]*" time="[0-9.]*"' "$junit" |
        sed 's/<testcase classname="sandprobe\.\([^"]*\)" name="\([^ "]*\)[^"]*" time="\([0-9.]*\)"/\3 \1 \2/' |
        sort -rn | head -3 | awk '{ printf "    slowest in run %s: %ss %s %s\n", w, $1, $2, $3 }' w="$worst"
}

# wall LABEL TARGET [check options...]: runs check SP_BENCH_CHECK_RUNS times, prints a line.
wall() {
    label=$1 target=$2
    shift 2
    times=""
    fails=0
    i=0
    while [ "$i" -lt "$runs" ]; do
        i=$((i + 1))
        t0=$(date +%s.%N)
        "$bin" check --provider all --quiet --out "$work/$label$i" "$@" >"$work/out$i" 2>&1 ||
            fails=$((fails + 1))
        t1=$(date +%s.%N)
        times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
    done
    sorted=$(printf '%s\n' $times | sort -n)
    median=$(printf '%s\n' "$sorted" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    lo=$(printf '%s\n' "$sorted" | head -1)
    hi=$(printf '%s\n' "$sorted" | tail -1)
    printf '  %-28s wall median %ss (min %ss, max %ss)   target: %s   failed runs: %s\n' \
        "$label" "$median" "$lo" "$hi" "$target" "$fails"
    slowest "$work/$label" "$times"
    [ "$fails" -eq 0 ] || sed 's/^/    /' "$work/out$runs"
}

"$bin" check --provider all --quiet --skip Disruptive --out "$work/probe" >"$work/probe.out" 2>&1
targets=$(grep -c ': [0-9]* passed' "$work/probe.out" 2>/dev/null || echo 0)
echo "check --provider all on the mocks ($targets provider/mode targets, $runs runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
wall "without fault injection" "<= 15 s" --skip Disruptive
wall "whole table" "none"
exit 0
