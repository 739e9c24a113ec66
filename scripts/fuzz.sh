#!/bin/sh
# Runs each libFuzzer target for a bounded time, seeded with its checked-in corpus.
#   sh scripts/fuzz.sh SECONDS BIN...
# New inputs go to build/fuzz-work/<target>/ (the checked-in corpus is only read); a crash
# is saved as build/fuzz-crashes/<target>-crash-<sha1> — copy it into
# suites/fuzz/corpus/<target>/ with the fix, and `make test` replays it from then on.
# The exit status is non-zero when any target found a crash, leak or timeout.
set -u
secs=$1
shift
failed=""
for bin in "$@"; do
    name=$(basename "$bin")
    corpus="suites/fuzz/corpus/${name#fuzz_}"
    work="build/fuzz-work/$name"
    mkdir -p "$work" build/fuzz-crashes
    log="build/fuzz-work/$name.log"
    # -timeout: one input may take at most 10 s; -rss_limit_mb bounds memory.
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="build/fuzz-crashes/$name-" "$work" "$corpus" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "PASS  $name ($secs s, ${runs:-?} runs, ${cov:-cov: ?})"
    else
        tail -40 "$log"
        echo "FAIL  $name (see $log and build/fuzz-crashes/)"
        failed="$failed $name"
    fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed"; exit 1; }
exit 0
