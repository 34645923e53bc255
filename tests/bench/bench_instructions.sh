#!/bin/bash
# Instructions per query of `vayla serve` (valgrind callgrind): unlike CPU
# time on a shared machine, the count repeats run after run, so it is the
# figure to compare between commits. One worker, N sequential queries
# after a warm-up, counted from a zeroed profile, on one kept-alive caller
# connection (so no handshake is counted).
#
#   tests/bench/bench_instructions.sh [BUILD_DIR] [N] [plain|tls]
#
# plain (the default): plain HTTP on both legs. tls: the shape `vayla dev
# init` writes, TLS towards the caller and mTLS towards the simulator.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
n=${2:-100}
shape=${3:-plain}
. "$here/bench_env.sh"
bench_need valgrind callgrind_control callgrind_annotate
case $shape in
plain) bench_plain ;;
tls) bench_tls ;;
*) echo "bench_instructions: shape is plain or tls, not $shape" >&2; exit 2 ;;
esac
sed -i 's/^threads = .*/threads = 1/' "$ENV/vayla.conf"
start_sim

valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" \
    "$VAYLA" serve -c "$ENV/vayla.conf" --ready-file "$W/serve.ready" \
    >/dev/null 2>"$W/serve.err" &
SV_PID=$!
for _ in $(seq 1 600); do [ -s "$W/serve.ready" ] && break; sleep 0.1; done
port=$(sed -n 's/^tcp_port=//p' "$W/serve.ready")
scheme=http
[ "$shape" = tls ] && scheme=https
# queries COUNT: COUNT queries on one connection, one status line each
queries() {
    local urls=() i
    for i in $(seq 1 "$1"); do
        urls+=(-o /dev/null "$scheme://127.0.0.1:$port/v1/vtj/person")
    done
    curl -s --cacert "$ENV/ca.pem" -w '%{http_code}\n' \
        -H "Authorization: Bearer $(cat "$ENV/token")" \
        -H 'Content-Type: application/json' \
        -d '{"hetu":"150380-903V","end_user":"bench.user","purpose":"benchmark"}' \
        "${urls[@]}"
}
queries 20 >/dev/null
callgrind_control --zero "$SV_PID" >/dev/null 2>&1
ok=$(queries "$n" | grep -c '^200$')
callgrind_control --dump "$SV_PID" >/dev/null 2>&1
sleep 1
total=$(callgrind_annotate "$W"/cg.out.* 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d , | head -n 1)
# CG_KEEP=DIR keeps the profile for callgrind_annotate --inclusive=yes.
[ -n "${CG_KEEP:-}" ] && mkdir -p "$CG_KEEP" && cp "$W"/cg.out.* "$CG_KEEP"/
echo "vayla serve: $n sequential queries on one $shape connection ($ok answered 200)"
echo "instructions per query: $((total / n)) (callgrind Ir, whole process)"
