#!/bin/sh
# vayla demo, end to end on one machine: set up, write a loopback
# environment (`vayla dev init`: test CA, certificates, VTJ credential),
# start the security-server simulator, query a test person through TLS
# with a client certificate (SSLAUTH) exactly as against a real security
# server, print the result, show the audit record, stop the simulator.
# Runs on a fresh Debian 12 machine (installs what is missing).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh" >/dev/null
vayla="$here/build/adapter/vayla"
sim="$here/build/tests/sim/vayla-sim"
work=$(mktemp -d)
sim_pid=""
cleanup() {
    if [ -n "$sim_pid" ]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== 1. a local environment (vayla dev init)"
"$vayla" dev init "$work/env" >"$work/init.out"
sed -n '1p' "$work/init.out"
ls "$work/env" | tr '\n' ' '
echo

echo "== 2. the security-server simulator (HTTPS, SSLAUTH), on free ports"
"$sim" -c "$work/env/sim.conf" --https-port 0 --http-port 0 \
    --control-port 0 --ready-file "$work/sim.ready" \
    >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
i=0
while [ ! -s "$work/sim.ready" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$sim_pid" 2>/dev/null; then
        cat "$work/sim.err" >&2
        echo "demo: the simulator did not start" >&2
        exit 1
    fi
    sleep 0.1
done
port=$(sed -n 's/^https_port=//p' "$work/sim.ready")
sed -i "s#^url = .*#url = https://127.0.0.1:$port/#" "$work/env/vayla.conf"
echo "vayla-sim listening on https://127.0.0.1:$port/"
"$vayla" check-config -c "$work/env/vayla.conf"

echo "== 3. vayla query person 150380-903V (a test person)"
"$vayla" query person 150380-903V --user-id demo.user@example.fi \
    --issue "demo 2026/1" -c "$work/env/vayla.conf" >"$work/answer.json"
cat "$work/answer.json"
echo

echo "== 4. a person that is not in VTJ: exit status 4"
rc=0
"$vayla" query person 010100-999N --user-id demo.user@example.fi \
    --issue "demo 2026/1" -c "$work/env/vayla.conf" >"$work/nf.json" || rc=$?
cat "$work/nf.json"
echo "(exit status $rc)"
[ "$rc" -eq 4 ]

echo "== 5. the audit trail: who asked what about whom, why, and the outcome"
"$vayla" audit search -c "$work/env/vayla.conf"
"$vayla" audit verify -c "$work/env/vayla.conf"

grep -q '"outcome":"found"' "$work/answer.json"
echo "demo: OK"
