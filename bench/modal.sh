#!/bin/sh
# Modal benchmarks for `make bench` (issue 9): the unary gRPC rate of the Modal mock's h2c
# server driven by h2load, next to nghttpd serving a small file in the same run (target:
# >= 0.5x), then TaskExecStdioRead MB/s next to a local pipe (bench/exec_stream.c in Modal's
# direct mode, target >= 0.3x). Figures are printed; nothing is asserted. Only processes started here are stopped.
#   sh bench/modal.sh BUILD_DIR
set -u
build=$(cd "$1" && pwd) || exit 2
n=${SP_BENCH_H2_REQUESTS:-40000}
work=$(mktemp -d "${TMPDIR:-/tmp}/sandprobe-h2bench.XXXXXX") || exit 3
ngh_pid=""
mock_pid=""
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    [ -n "$ngh_pid" ] && kill "$ngh_pid" 2>/dev/null && wait "$ngh_pid" 2>/dev/null
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v h2load >/dev/null 2>&1 || ! command -v nghttpd >/dev/null 2>&1; then
    echo "modal bench: SKIP — h2load/nghttpd missing (sh scripts/setup.sh --bench)"
    exit 0
fi

# req/s from h2load's "finished in ..., N req/s" line.
rate() {
    sed -n 's/.*finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$1"
}

# nghttpd (plaintext h2c) with a small file, on a random port.
mkdir -p "$work/www"
printf '{"app_id":"ap-0123456789abcdefghijkl"}' >"$work/www/small.json"
for try in 1 2 3 4 5 6; do
    port=$(( ($(od -An -N2 -tu2 /dev/urandom) % 20000) + 30000 ))
    nghttpd --no-tls -a 127.0.0.1 -d "$work/www" "$port" >/dev/null 2>&1 &
    ngh_pid=$!
    sleep 0.3
    kill -0 "$ngh_pid" 2>/dev/null && break
    ngh_pid=""
done
[ -n "$ngh_pid" ] || { echo "modal bench: nghttpd did not start"; exit 3; }
h2load -n "$n" -c 8 -m 16 "http://127.0.0.1:$port/small.json" >"$work/ngh.txt" 2>&1
base=$(rate "$work/ngh.txt")

# The Modal mock: EnvironmentGetOrCreate (empty request message) with the token pair.
"$build/sandprobe" mock --vendor modal --quiet >"$work/ready" 2>"$work/mock.log" &
mock_pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -s "$work/ready" ] && break
    sleep 0.1
done
ready=$(head -n 1 "$work/ready")
get() { printf '%s\n' "$ready" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
url=$(get MODAL_SERVER_URL)
printf '\000\000\000\000\000' >"$work/empty.bin"
h2load -n "$n" -c 8 -m 16 -d "$work/empty.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' -H "x-modal-token-id: $(get MODAL_TOKEN_ID)" \
    -H "x-modal-token-secret: $(get MODAL_TOKEN_SECRET)" \
    "$url/modal.client.ModalClient/EnvironmentGetOrCreate" >"$work/mock.txt" 2>&1
mock=$(rate "$work/mock.txt")
ok=$(sed -n 's/.*status codes: \([0-9]*\) 2xx.*/\1/p' "$work/mock.txt")

echo "Modal mock, unary gRPC over h2c (h2load, $n requests, 8 connections x 16 streams)"
printf '  %-52s %10s req/s\n' "nghttpd GET small file (baseline)" "${base:-?}"
printf '  %-52s %10s req/s  (%s of %s 2xx)\n' "Modal mock EnvironmentGetOrCreate" "${mock:-?}" \
    "${ok:-?}" "$n"
if [ -n "$base" ] && [ -n "$mock" ]; then
    awk -v m="$mock" -v b="$base" \
        'BEGIN { r = m / b; v = "NOT met"; if (r >= 0.5) v = "met"; printf "  ratio %.2fx of nghttpd (target >= 0.5x): %s\n", r, v }'
fi
echo
if [ -x "$build/bench/exec_stream" ]; then
    "$build/bench/exec_stream" --vendor modal --mode direct --mb "${SP_BENCH_MODAL_MB:-100}"
else
    echo "modal bench: $build/bench/exec_stream not built"
    exit 1
fi
