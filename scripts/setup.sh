#!/bin/sh
# Installs what sandprobe needs, and nothing when all of it is present. Debian packages only.
#   sh scripts/setup.sh          build dependencies (the main job)
#   sh scripts/setup.sh --test   + node/npm, the official vendor SDKs (suites/sdk/versions) and
#                                chromium (test-only)
#   sh scripts/setup.sh --bench  + wrk and nginx-light for `make bench`
#   sh scripts/setup.sh --fuzz   + clang and its runtimes (libFuzzer, ThreadSanitizer) for
#                                `make fuzz` and `make tsan`; `make test` never needs them
#   sh scripts/setup.sh --dev    + clang-format and cppcheck for `make format`, `make
#                                format-check` and `make lint`
set -eu
cd "$(dirname "$0")/.."

PKGS="gcc make pkg-config libcurl4-openssl-dev libcjson-dev libcmocka-dev libmicrohttpd-dev zlib1g-dev unzip
      libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev libnghttp2-dev libgnutls28-dev
      bubblewrap python3"
want_sdk=0
for arg in "$@"; do
    case "$arg" in
        --test) want_sdk=1 ;;
        --bench) PKGS="$PKGS wrk nginx-light nghttp2-client nghttp2-server" ;;
        --fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
        --dev) PKGS="$PKGS clang-format cppcheck" ;;
        *) echo "setup: unknown option '$arg' (use --test, --bench, --fuzz or --dev)" >&2; exit 2 ;;
    esac
done
[ "$want_sdk" = 1 ] && PKGS="$PKGS chromium" # report.html in a real browser (suites/unit/test_load_report.c)
[ "$want_sdk" = 1 ] && ! command -v node >/dev/null 2>&1 && PKGS="$PKGS nodejs npm"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The official SDKs, one npm project per (vendor, version) under suites/sdk/versions, each
# pinned by its package-lock.json; installed only where node_modules is absent.
if [ "$want_sdk" = 1 ]; then
    for d in suites/sdk/versions/*@*/; do
        [ -f "$d/package-lock.json" ] && [ ! -d "$d/node_modules" ] || continue
        echo "setup: installing ${d%/} for the fidelity tests (npm ci)" >&2
        # A lock without entries for optional platform packages the registry lacks (modal's
        # cbor-extract binaries) fails `npm ci`; `npm install --no-save` installs from the
        # same lock, skips them as optional, and leaves the lock untouched.
        (cd "$d" && { npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
            npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null; })
    done
fi
exit 0
