#!/bin/sh
# `make bench`: request rates of the mocks next to nginx serving a fixed JSON body, then the
# C benchmarks (lifecycles, exec_stream). Figures are printed; nothing is asserted.
#   sh bench/run.sh BUILD_DIR        e.g. build/release
# Everything listens on 127.0.0.1 only. SP_BENCH_DURATION (wrk seconds, default 5) and
# SP_BENCH_CONNECTIONS (default 64) tune the HTTP runs.
set -u

if [ "$#" -ne 1 ]; then
    echo "usage: sh bench/run.sh BUILD_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd) || exit 2
bin=$build/sandprobe
dur=${SP_BENCH_DURATION:-5}
conns=${SP_BENCH_CONNECTIONS:-64}

work=$(mktemp -d "${TMPDIR:-/tmp}/sandprobe-bench.XXXXXX") || exit 3
nginx_pid=""
mock_pid=""
syn_pid=""
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    # Only the processes this script started, by their ids.
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    [ -n "$syn_pid" ] && kill "$syn_pid" 2>/dev/null && wait "$syn_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "bench: $*" >&2
    exit 3
}

# Value of "key":"value" in a one-line JSON object (our ready lines: no escaped quotes).
json_str() {
    printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"
}

# --- nginx, the baseline --------------------------------------------------------------------

nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
start_nginx() {
    [ -x "$nginx_bin" ] || return 1
    mkdir -p "$work/nginx"
    # An ephemeral-range port picked at random; retried if it happens to be taken.
    for try in 1 2 3 4 5 6 7 8; do
        port=$(( ($(od -An -N2 -tu2 /dev/urandom) % 20000) + 30000 ))
        sed -e "s|@DIR@|$work/nginx|g" -e "s|@PORT@|$port|g" "$here/nginx.conf.in" \
            >"$work/nginx/nginx.conf"
        "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" \
            2>>"$work/nginx/start.log" &
        nginx_pid=$!
        for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            if curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
                nginx_port=$port
                return 0
            fi
            kill -0 "$nginx_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$nginx_pid" 2>/dev/null
        wait "$nginx_pid" 2>/dev/null
        nginx_pid=""
        : "$try"
    done
    cat "$work/nginx/start.log" "$work/nginx/error.log" >&2 2>/dev/null
    return 1
}

# --- the mocks --------------------------------------------------------------------------------

start_mocks() {
    [ -x "$bin" ] || die "$bin not found (make builds it)"
    # --quiet: a log line per request would cost the mock more than serving it.
    "$bin" mock --vendor all --listen 127.0.0.1:0 --latency-ms 0 --quiet >"$work/ready" 2>"$work/mock.log" &
    mock_pid=$!
    for i in $(seq 1 100); do
        grep -q '"vendor":"daytona"' "$work/ready" 2>/dev/null &&
            grep -q '"vendor":"e2b"' "$work/ready" 2>/dev/null && return 0
        kill -0 "$mock_pid" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    tail -n 20 "$work/mock.log" >&2
    die "sandprobe mock --vendor all did not print its ready lines"
}

# The Daytona mock alone with the synthetic backend (no process per sandbox, thread-pool
# transport), for the action server's `run` rate. Sets syn_pid; its ready line goes to
# $work/ready_syn.
start_synthetic() {
    "$bin" mock --vendor daytona --backend synthetic --latency-ms 0 --quiet \
        >"$work/ready_syn" 2>"$work/mock_syn.log" &
    syn_pid=$!
    for i in $(seq 1 100); do
        grep -q '"vendor":"daytona"' "$work/ready_syn" 2>/dev/null && return 0
        kill -0 "$syn_pid" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    tail -n 20 "$work/mock_syn.log" >&2
    die "sandprobe mock --backend synthetic did not print its ready line"
}

# Creates a public Daytona sandbox, starts the action server the way OpenHands does (a session
# running the server command asynchronously) and waits for /alive. Sets alive_host and
# alive_url. $1: the ready file of the mock to use (default $work/ready).
daytona_action_server() {
    line=$(grep '"vendor":"daytona"' "${1:-$work/ready}")
    d_url=$(json_str "$line" DAYTONA_API_URL)
    d_key=$(json_str "$line" DAYTONA_API_KEY)
    { [ -n "$d_url" ] && [ -n "$d_key" ]; } || die "no DAYTONA_API_URL/KEY in: $line"
    auth="Authorization: Bearer $d_key"
    body=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' \
        -d '{"labels":{"sandprobe_bench":"1"},"env":{"port":"4444"},"public":true}' \
        "$d_url/sandbox") || die "Daytona create failed"
    id=$(json_str "$body" id)
    [ -n "$id" ] || die "no id in the create response: $body"
    for i in $(seq 1 200); do
        state=$(json_str "$(curl -fsS -H "$auth" "$d_url/sandbox/$id")" state)
        [ "$state" = started ] && break
        sleep 0.05
        : "$i"
    done
    [ "$state" = started ] || die "sandbox $id stuck in '$state'"
    tb="$d_url/toolbox/$id/toolbox/process/session"
    curl -fsS -o /dev/null -H "$auth" -H 'Content-Type: application/json' \
        -d '{"sessionId":"action-execution-server"}' "$tb" || die "session create failed"
    cmd='mkdir -p /workspace && cd /openhands/code && /openhands/micromamba/bin/micromamba run -n openhands poetry run python -u -m openhands.runtime.action_execution_server 4444 --working-dir /workspace --plugins agent_skills jupyter --username openhands --user-id 1000'
    curl -fsS -o /dev/null -H "$auth" -H 'Content-Type: application/json' \
        -d "{\"command\":\"$cmd\",\"runAsync\":true}" "$tb/action-execution-server/exec" ||
        die "starting the action server failed"
    preview=$(curl -fsS -H "$auth" "$d_url/sandbox/$id/ports/4444/preview-url") ||
        die "preview-url failed"
    purl=$(json_str "$preview" url)
    # http://4444-<id>.<domain>[:port]/... -> the Host header and the loopback address.
    alive_host=$(printf '%s\n' "$purl" | sed -n 's|^[a-z]*://\([^/]*\).*|\1|p')
    alive_port=$(printf '%s\n' "$alive_host" | sed -n 's|.*:\([0-9]*\)$|\1|p')
    [ -n "$alive_port" ] || die "cannot tell the port of preview url '$purl'"
    alive_url="http://127.0.0.1:$alive_port/alive"
    for i in $(seq 1 200); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $alive_host" "$alive_url")
        [ "$code" = 200 ] && return 0
        sleep 0.05
        : "$i"
    done
    die "the action server of $id never answered /alive (last status $code)"
}

# --- measuring ---------------------------------------------------------------------------------

# wrk_rate NAME URL [HEADER...]: prints a table row, remembers nginx's rate as the baseline.
base_rate=""
wrk_rate() {
    name=$1
    url=$2
    shift 2
    # Turn the remaining arguments (headers) into "-H header" pairs, in place; "-s SCRIPT"
    # (a wrk Lua script, for a POST) passes through.
    script=""
    for h in "$@"; do
        if [ "$script" = next ]; then
            script=$h
        elif [ "$h" = -s ]; then
            script=next
        else
            set -- "$@" -H "$h"
        fi
        shift
    done
    [ -n "$script" ] && set -- "$@" -s "$script"
    out=$work/wrk.out
    wrk -t2 -c"$conns" -d"${dur}s" "$@" "$url" >"$out" 2>&1
    rate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
    bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$out")
    errs=$(sed -n 's/^ *Socket errors: *\(.*\)$/\1/p' "$out")
    if [ -z "$rate" ]; then
        printf '%-44s %12s\n' "$name" "wrk failed"
        sed 's/^/    /' "$out" >&2
        return
    fi
    [ -z "$base_rate" ] && base_rate=$rate
    ratio=$(awk -v r="$rate" -v b="$base_rate" 'BEGIN { printf "%.2f", (b > 0 ? r / b : 0) }')
    printf '%-44s %12s %8sx %10s\n' "$name" "$rate" "$ratio" "${bad:-0}"
    [ -n "$errs" ] && printf '    socket errors: %s\n' "$errs"
}

http_bench() {
    if ! command -v wrk >/dev/null 2>&1; then
        echo "bench: SKIP HTTP rates — wrk not found (sh scripts/setup.sh --bench installs it)"
        return
    fi
    if ! start_nginx; then
        echo "bench: SKIP HTTP rates — nginx did not start (sh scripts/setup.sh --bench)"
        return
    fi
    start_mocks
    daytona_action_server
    e_line=$(grep '"vendor":"e2b"' "$work/ready")
    e_url=$(json_str "$e_line" E2B_API_URL)
    e_key=$(json_str "$e_line" E2B_API_KEY)
    labels=$(printf '%s' '{"sandprobe_bench":"1"}' | sed -e 's/{/%7B/g' -e 's/}/%7D/g' \
        -e 's/"/%22/g' -e 's/:/%3A/g')

    echo "HTTP request rates: wrk -t2 -c$conns -d${dur}s, loopback (target: >= 0.5x nginx)"
    printf '%-44s %12s %9s %10s\n' route "req/s" "vs nginx" "non-2xx"
    wrk_rate "nginx, fixed JSON (baseline)" "http://127.0.0.1:$nginx_port/"
    wrk_rate "action server GET /alive (Host routing)" "$alive_url" "Host: $alive_host"
    wrk_rate "Daytona GET /api/sandbox?labels=..." "$d_url/sandbox?labels=$labels" \
        "Authorization: Bearer $d_key"
    wrk_rate "E2B GET /sandboxes" "$e_url/sandboxes" "X-API-Key: $e_key"
    # The synthetic backend: the action server's `run` of `echo hi`, as a load run's exec.
    start_synthetic
    daytona_action_server "$work/ready_syn"
    wrk_rate "synthetic: action server GET /alive" "$alive_url" "Host: $alive_host"
    cat >"$work/run.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"action":{"action":"run","args":{"command":"echo hi","is_input":false,' ..
    '"blocking":false,"is_static":false,"cwd":null,"hidden":false},"timeout":10}}'
LUA
    wrk_rate "synthetic: action server POST run 'echo hi'" "${alive_url%/alive}/execute_action" \
        "Host: $alive_host" -s "$work/run.lua"
    echo
}

http_bench
status=0
for b in lifecycles exec_stream; do
    if [ -x "$build/bench/$b" ]; then
        "$build/bench/$b" || status=1
        echo
    else
        echo "bench: $build/bench/$b not built"
        status=1
    fi
done
# The same lifecycles against the synthetic backend (no process per sandbox, thread-pool
# transport), as `load` runs them.
if [ -x "$build/bench/lifecycles" ]; then
    SP_BENCH_BACKEND=synthetic "$build/bench/lifecycles" || status=1
    echo
fi
exit "$status"
