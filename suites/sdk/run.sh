#!/bin/sh
# Official-SDK fidelity tests: each vendor mock must be driven successfully by that vendor's
# own SDK, at every version we pin, not only by our client.
#   sh suites/sdk/run.sh path/to/sandprobe [vendor | vendor@version ...]
# Each folder suites/sdk/versions/<vendor>@<version>/ is an npm project pinning exactly that
# SDK version (package.json + package-lock.json; node_modules installed here with `npm ci`
# when missing). For each one (default: all of them), mock.mjs starts `sandprobe mock
# --vendor <vendor>`, runs suites/sdk/<vendor>.mjs against it with the mock's env and
# SP_SDK_DIR=<that folder> (the script loads the SDK from there), and stops it. A vendor with
# a script but no version folder yet loads its SDK from suites/sdk/node_modules (the older
# single-project layout). One line per (vendor, version) says how many steps passed. Exits
# non-zero when any run failed.
set -u

if [ "$#" -lt 1 ]; then
    echo "usage: sh suites/sdk/run.sh SANDPROBE [vendor | vendor@version ...]" >&2
    exit 2
fi
case "$1" in
    /*) bin=$1 ;;
    *) bin=$(pwd)/$1 ;;
esac
shift
only=${*:-}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1; then
    echo "sdk: SKIP — node not found (install nodejs to run the official-SDK fidelity tests)"
    exit 0
fi
if [ ! -x "$bin" ]; then
    echo "sdk: $bin is not an executable file (build it with make)" >&2
    exit 2
fi

# wanted NAME VENDOR: true when no filter was given or it names the vendor or NAME.
wanted() {
    [ -z "$only" ] && return 0
    for w in $only; do
        [ "$w" = "$1" ] || [ "$w" = "$2" ] && return 0
    done
    return 1
}

# npm_ci DIR: installs DIR's pinned packages when its node_modules is missing.
npm_ci() {
    [ -d "$1/node_modules" ] && return 0
    echo "sdk: installing the pinned SDK in suites/sdk${1#"$here"} (npm ci)" >&2
    # As scripts/setup.sh: `npm install --no-save` (same lock, left untouched) when `npm ci`
    # refuses a lock lacking optional platform packages the registry does not have.
    (cd "$1" && { npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
        npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null; })
}

failed=""
n_pass=0
n_fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run_one NAME VENDOR SDK_DIR: one fidelity run and its summary line.
run_one() {
    name=$1 vendor=$2 dir=$3
    start=$(date +%s)
    if [ ! -f "$here/$vendor.mjs" ]; then
        echo "FAIL  sdk/$name: no fidelity script suites/sdk/$vendor.mjs"
        rc=2
    elif ! npm_ci "$dir"; then
        echo "FAIL  sdk/$name: npm ci failed in $dir"
        rc=3
    else
        # The scripts run from their own folder so no stray .env file elsewhere is read
        # (the Daytona SDK loads ./.env).
        (cd "$here" && SP_SDK_DIR="$dir" node mock.mjs "$bin" "$vendor" "./$vendor.mjs") \
            >"$log" 2>&1
        rc=$?
        cat "$log"
        ok=$(grep -c '^ok ' "$log")
        all=$(grep -cE '^(not )?ok ' "$log")
        secs=$(($(date +%s) - start))
        if [ "$rc" -eq 0 ]; then
            echo "PASS  sdk/$name: $ok of $all steps passed (${secs} s)"
        else
            echo "FAIL  sdk/$name: $ok of $all steps passed (${secs} s, exit status $rc)"
        fi
    fi
    if [ "$rc" -eq 0 ]; then
        n_pass=$((n_pass + 1))
    else
        failed="$failed $name"
        n_fail=$((n_fail + 1))
    fi
}

versioned=""
for d in "$here"/versions/*@*/; do
    [ -d "$d" ] || continue
    d=${d%/}
    name=$(basename "$d")
    vendor=${name%%@*}
    versioned="$versioned $vendor"
    wanted "$name" "$vendor" && run_one "$name" "$vendor" "$d"
done
for script in "$here"/*.mjs; do
    vendor=$(basename "$script" .mjs)
    case "$vendor" in mock | steps) continue ;; esac
    case " $versioned " in *" $vendor "*) continue ;; esac
    [ -f "$here/package.json" ] || continue
    wanted "$vendor" "$vendor" && run_one "$vendor" "$vendor" "$here"
done

echo "sdk: $n_pass passed, $n_fail failed"
if [ -n "$failed" ]; then
    echo "sdk failed:$failed"
    exit 1
fi
exit 0
