#!/bin/sh
# Rewrites a proto3 file for Debian's protoc-c 1.4.1, which refuses proto3 `optional`:
# each `optional T name = N;` becomes `oneof _name { T name = N; }`, the synthetic oneof protoc
# itself builds for it, so the wire format and field presence stay the same.
#   sh proto/rewrite.sh IN.proto OUT.proto
set -eu
[ $# -eq 2 ] || { echo "usage: rewrite.sh IN.proto OUT.proto" >&2; exit 2; }
mkdir -p "$(dirname "$2")"
sed -E 's/^([[:space:]]*)optional[[:space:]]+([A-Za-z0-9_.]+)[[:space:]]+([A-Za-z0-9_]+)[[:space:]]*=[[:space:]]*([0-9]+)[[:space:]]*(\[[^]]*\])?[[:space:]]*;/\1oneof _\3 { \2 \3 = \4 \5; }/' "$1" >"$2.tmp"
if grep -nE '^[[:space:]]*optional[[:space:]]' "$2.tmp" >&2; then
    echo "rewrite.sh: $1: an 'optional' field above has a shape this script does not handle" >&2
    rm -f "$2.tmp"
    exit 1
fi
mv "$2.tmp" "$2"
