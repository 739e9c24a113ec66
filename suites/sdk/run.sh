#!/bin/sh
# Official-SDK fidelity tests: each vendor mock must be driven successfully by that vendor's
# own SDK, in every version we pin, not only by our client.
#   sh suites/sdk/run.sh path/to/sandprobe [vendor|vendor@version ...]
# Each folder versions/<vendor>@<version>/ is an npm project pinning exactly that SDK
# version (package.json + package-lock.json). For each (default: all of them) mock.mjs starts
# `sandprobe mock --vendor <vendor>` and runs the vendor's step script with SP_SDK_DIR naming
# the folder the SDK is loaded from. The step script is <vendor>.mjs unless the folder's
# package.json names another under "sandprobe": {"script": ...} (one script per SDK API
# generation). Prints one line per (vendor, version) with the steps passed, the script's
# full output only when it failed; exits non-zero when any failed.
set -u

if [ "$#" -lt 1 ]; then
    echo "usage: sh suites/sdk/run.sh SANDPROBE [vendor|vendor@version ...]" >&2
    exit 2
fi
case "$1" in
    /*) bin=$1 ;;
    *) bin=$(pwd)/$1 ;;
esac
shift
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1; then
    echo "sdk: SKIP — node not found (install nodejs to run the official-SDK fidelity tests)"
    exit 0
fi
if [ ! -x "$bin" ]; then
    echo "sdk: $bin is not an executable file (build it with make)" >&2
    exit 2
fi

# The version folders asked for: all of them, or those matching a vendor or vendor@version.
folders=""
for d in "$here"/versions/*@*/; do
    [ -f "$d/package.json" ] || continue
    name=$(basename "$d")
    if [ "$#" -eq 0 ]; then
        folders="$folders $name"
        continue
    fi
    for want in "$@"; do
        case "$want" in
            "$name" | "${name%@*}") folders="$folders $name" ;;
        esac
    done
done
if [ -z "$folders" ]; then
    echo "sdk: no version folder under $here/versions matches '$*'" >&2
    exit 2
fi

out=$(mktemp "${TMPDIR:-/tmp}/sp-sdk.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM
failed=""
n_pass=0
n_fail=0
for name in $folders; do
    vendor=${name%@*}
    dir="$here/versions/$name"
    if [ ! -d "$dir/node_modules" ]; then
        echo "sdk: installing $name (npm ci)" >&2
        # As scripts/setup.sh: `npm install --no-save` (same lock, left untouched) when `npm ci`
        # refuses a lock lacking optional platform packages the registry does not have.
        if ! (cd "$dir" && { npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
            npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null; }); then
            echo "FAIL  sdk/$name (npm ci failed in $dir)"
            failed="$failed $name"
            n_fail=$((n_fail + 1))
            continue
        fi
    fi
    script=$(node -e 'const p=require(process.argv[1]);console.log((p.sandprobe&&p.sandprobe.script)||"")' \
        "$dir/package.json")
    [ -n "$script" ] || script="$vendor.mjs"
    if [ ! -f "$here/$script" ]; then
        echo "FAIL  sdk/$name (no step script $script)"
        failed="$failed $name"
        n_fail=$((n_fail + 1))
        continue
    fi
    start=$(date +%s)
    # The scripts run from this folder, where no stray .env file is read (the Daytona SDK
    # loads ./.env).
    (cd "$here" && SP_SDK_DIR="$dir" node mock.mjs "$bin" "$vendor" "./$script") >"$out" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    ok=$(grep -c '^ok ' "$out")
    total=$(grep -cE '^(not )?ok ' "$out")
    if [ "$rc" -eq 0 ] && [ "$total" -gt 0 ]; then
        echo "PASS  sdk/$name  $ok/$total steps ($script, ${secs} s)"
        n_pass=$((n_pass + 1))
    else
        cat "$out"
        echo "FAIL  sdk/$name  $ok/$total steps ($script, ${secs} s, exit status $rc)"
        failed="$failed $name"
        n_fail=$((n_fail + 1))
    fi
done

echo "sdk: $n_pass passed, $n_fail failed"
if [ -n "$failed" ]; then
    echo "sdk failed:$failed"
    exit 1
fi
exit 0
