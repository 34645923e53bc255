#!/bin/bash
# Instructions per query of `vayla serve` (valgrind callgrind): unlike CPU
# time on a shared machine, the count repeats run after run, so it is the
# figure to compare between commits. One worker, N sequential queries
# after a warm-up, counted from a zeroed profile.
#
#   tests/bench/bench_instructions.sh [BUILD_DIR] [N]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
n=${2:-100}
. "$here/bench_env.sh"
bench_need valgrind callgrind_control callgrind_annotate
bench_plain
sed -i 's/^threads = .*/threads = 1/' "$ENV/vayla.conf"
start_sim

valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" \
    "$VAYLA" serve -c "$ENV/vayla.conf" --ready-file "$W/serve.ready" \
    >/dev/null 2>"$W/serve.err" &
SV_PID=$!
for _ in $(seq 1 600); do [ -s "$W/serve.ready" ] && break; sleep 0.1; done
port=$(sed -n 's/^tcp_port=//p' "$W/serve.ready")
query() {
    curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $(cat "$ENV/token")" \
        -H 'Content-Type: application/json' \
        -d '{"hetu":"150380-903V","end_user":"bench.user","purpose":"benchmark"}' \
        "http://127.0.0.1:$port/v1/vtj/person"
}
for _ in $(seq 1 20); do query >/dev/null; done
callgrind_control --zero "$SV_PID" >/dev/null 2>&1
ok=0
for _ in $(seq 1 "$n"); do [ "$(query)" = 200 ] && ok=$((ok + 1)); done
callgrind_control --dump "$SV_PID" >/dev/null 2>&1
sleep 1
total=$(callgrind_annotate "$W"/cg.out.* 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d , | head -n 1)
# CG_KEEP=DIR keeps the profile for callgrind_annotate --inclusive=yes.
[ -n "${CG_KEEP:-}" ] && mkdir -p "$CG_KEEP" && cp "$W"/cg.out.* "$CG_KEEP"/
echo "vayla serve: $n sequential queries ($ok answered 200)"
echo "instructions per query: $((total / n)) (callgrind Ir, whole process)"
