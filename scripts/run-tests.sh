#!/bin/sh
# Runs test programs one after another, each under its own timeout, and reports each one.
#   sh scripts/run-tests.sh BIN...
# A failure does not stop the run; the exit status is non-zero when any program failed.
# SP_TEST_TIMEOUT (seconds, default 120) times SP_TEST_TIMEOUT_MULTIPLIER (default 1, e.g. 3
# under sanitizers) bounds each program. SP_TEST_VERBOSE=1 shows every program's output.
set -u

base=${SP_TEST_TIMEOUT:-120}
mult=${SP_TEST_TIMEOUT_MULTIPLIER:-1}
case "$base$mult" in
    *[!0-9]*) echo "run-tests: SP_TEST_TIMEOUT and SP_TEST_TIMEOUT_MULTIPLIER must be whole numbers" >&2
              exit 2 ;;
esac
limit=$((base * mult))

if [ "$#" -eq 0 ]; then
    echo "run-tests: no test programs given" >&2
    exit 2
fi

# Milliseconds since the epoch; GNU date has %N, others fall back to whole seconds.
now_ms() {
    t=$(date +%s%3N 2>/dev/null)
    case "$t" in
        *N|'') echo $(( $(date +%s) * 1000 )) ;;
        *) echo "$t" ;;
    esac
}

failed=""
n_pass=0
n_fail=0
for bin in "$@"; do
    name=$(basename "$bin")
    if [ ! -x "$bin" ]; then
        echo "FAIL  $name (not an executable file: $bin)"
        failed="$failed $name"
        n_fail=$((n_fail + 1))
        continue
    fi
    start=$(now_ms)
    # --kill-after: a program that ignores SIGTERM still ends. Output is shown when the
    # program fails, or always with SP_TEST_VERBOSE=1.
    log=$(mktemp)
    timeout --kill-after=10 "$limit" "$bin" >"$log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] || [ "${SP_TEST_VERBOSE:-0}" = 1 ]; then
        cat "$log"
    fi
    rm -f "$log"
    end=$(now_ms)
    ms=$((end - start))
    secs=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    if [ "$rc" -eq 0 ]; then
        echo "PASS  $name (${secs} s)"
        n_pass=$((n_pass + 1))
    else
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            why="timed out after ${limit} s"
        else
            why="exit status $rc"
        fi
        echo "FAIL  $name (${secs} s, $why)"
        failed="$failed $name"
        n_fail=$((n_fail + 1))
    fi
done

echo "programs: $n_pass passed, $n_fail failed"
if [ -n "$failed" ]; then
    echo "failed:$failed"
    exit 1
fi
exit 0
