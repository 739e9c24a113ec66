#!/bin/sh
# Official-SDK fidelity tests: each vendor mock must be driven successfully by that vendor's
# own SDK (pinned in package-lock.json), not only by our client.
#   sh suites/sdk/run.sh path/to/sandprobe [vendor...]
# For each vendor (default: all of them) mock.mjs starts `sandprobe mock --vendor V`, runs
# V.mjs against it with the mock's env and stops it. Exits non-zero when any vendor failed.
set -u

if [ "$#" -lt 1 ]; then
    echo "usage: sh suites/sdk/run.sh SANDPROBE [vendor...]" >&2
    exit 2
fi
case "$1" in
    /*) bin=$1 ;;
    *) bin=$(pwd)/$1 ;;
esac
shift
vendors=${*:-daytona e2b}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1; then
    echo "sdk: SKIP — node not found (install nodejs to run the official-SDK fidelity tests)"
    exit 0
fi
if [ ! -x "$bin" ]; then
    echo "sdk: $bin is not an executable file (build it with make)" >&2
    exit 2
fi
if [ ! -d "$here/node_modules" ]; then
    echo "sdk: installing the pinned vendor SDKs (npm ci)" >&2
    if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
        echo "sdk: npm ci failed in $here" >&2
        exit 3
    fi
fi

failed=""
n_pass=0
n_fail=0
for v in $vendors; do
    if [ ! -f "$here/$v.mjs" ]; then
        echo "sdk: no fidelity script for vendor '$v'" >&2
        failed="$failed $v"
        n_fail=$((n_fail + 1))
        continue
    fi
    start=$(date +%s)
    # The scripts run from their own folder so the SDKs resolve from node_modules there and
    # no stray .env file elsewhere is read (the Daytona SDK loads ./.env).
    (cd "$here" && node mock.mjs "$bin" "$v" "./$v.mjs")
    rc=$?
    secs=$(($(date +%s) - start))
    if [ "$rc" -eq 0 ]; then
        echo "PASS  sdk/$v (${secs} s)"
        n_pass=$((n_pass + 1))
    else
        echo "FAIL  sdk/$v (${secs} s, exit status $rc)"
        failed="$failed $v"
        n_fail=$((n_fail + 1))
    fi
done

echo "sdk: $n_pass passed, $n_fail failed"
if [ -n "$failed" ]; then
    echo "sdk failed:$failed"
    exit 1
fi
exit 0
