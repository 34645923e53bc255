#!/bin/bash
# vayla daemon benchmark (docs/performance.md). Not a test: it prints
# figures measured in one run on this machine.
#
#   tests/bench/bench_serve.sh [BUILD_DIR] [SECONDS]
#
# 1. CPU per query: wrk -> vayla serve (HTTP, token caller) -> vayla-sim
#    answering at once; CPU time of the vayla process (user + system,
#    audit writes included) divided by the queries answered. Next to it,
#    the same load sent straight to vayla-sim as SOAP, in the same run.
# 2. Memory: 10,000 queries in flight against a simulator that answers
#    after 200 ms; peak RSS of vayla, and every answer must be 200.
# 3. Start-up: from exec to the ready file, over 20 starts.
# Everything stays on 127.0.0.1 and stops by itself.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
secs=${2:-10}
. "$here/bench_env.sh"
bench_need wrk
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

start_serve() {
    rm -f "$W/serve.ready"
    local t0 t1
    t0=$(date +%s%N)
    "$VAYLA" serve -c "$ENV/vayla.conf" --ready-file "$W/serve.ready" \
        >/dev/null 2>>"$W/serve.err" &
    SV_PID=$!
    while [ ! -s "$W/serve.ready" ]; do
        kill -0 "$SV_PID" 2>/dev/null || { cat "$W/serve.err"; exit 1; }
    done
    t1=$(date +%s%N)
    START_MS=$(( (t1 - t0) / 1000000 ))
    API_PORT=$(sed -n 's/^tcp_port=//p' "$W/serve.ready")
}

stop_serve() {
    kill -TERM "$SV_PID" 2>/dev/null
    wait "$SV_PID" 2>/dev/null
    SV_PID=""
}

cpu_ticks() { # utime + stime of a process, in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat"
}

requests_of() { # wrk output -> completed requests
    sed -n 's/^ *\([0-9][0-9]*\) requests in.*/\1/p' "$1"
}

non2xx_of() {
    local n
    n=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$1")
    echo "${n:-0}"
}

errors_of() {
    local e
    e=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\)/\1 \2 \3 \4/p' "$1")
    [ -z "$e" ] && { echo 0; return; }
    set -- $e
    echo $(($1 + $2 + $3 + $4))
}

HZ=$(getconf CLK_TCK)
export VAYLA_TOKEN
VAYLA_TOKEN=$(cat "$ENV/token")
# vayla-sim serves at most 256 connections; stay below.
set_conf max_connections 200 security_server

echo "vayla benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r)"
echo

# ---- 1. CPU per query ----------------------------------------------------
start_sim
set_conf url "http://127.0.0.1:$SIM_HTTP/" security_server
start_serve
# Warm up (connections, caches), then measure.
wrk -t2 -c32 -d2s -s "$here/person.lua" "http://127.0.0.1:$API_PORT/v1/vtj/person" >/dev/null
c0=$(cpu_ticks "$SV_PID")
s0=$(cpu_ticks "$SIM_PID")
wrk -t2 -c64 -d"${secs}s" -s "$here/person.lua" \
    "http://127.0.0.1:$API_PORT/v1/vtj/person" >"$W/wrk1" 2>&1
c1=$(cpu_ticks "$SV_PID")
s1=$(cpu_ticks "$SIM_PID")
n1=$(requests_of "$W/wrk1")
bad1=$(( $(non2xx_of "$W/wrk1") + $(errors_of "$W/wrk1") ))
vayla_us=$(( (c1 - c0) * 1000000 / HZ / (n1 > 0 ? n1 : 1) ))
sim_in_path_us=$(( (s1 - s0) * 1000000 / HZ / (n1 > 0 ? n1 : 1) ))
rps1=$(sed -n 's/^Requests\/sec: *//p' "$W/wrk1")
lat1=$(sed -n 's/^ *Latency *\([^ ]*\).*/\1/p' "$W/wrk1")
# The floor of one HTTP exchange on this machine: GET /healthz (no work
# behind it) under the same load, vayla CPU per request.
c0=$(cpu_ticks "$SV_PID")
wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$API_PORT/healthz" >"$W/wrk0" 2>&1
c1=$(cpu_ticks "$SV_PID")
n0=$(requests_of "$W/wrk0")
floor_us=$(( (c1 - c0) * 1000000 / HZ / (n0 > 0 ? n0 : 1) ))
rps0=$(sed -n 's/^Requests\/sec: *//p' "$W/wrk0")
lat0=$(sed -n 's/^ *Latency *\([^ ]*\).*/\1/p' "$W/wrk0")
stop_serve

# The same queries straight to the simulator, as SOAP envelopes.
cat >"$W/body.xml" <<XML
<HenkilonTunnusKysely xmlns="http://xml.vrk.fi/ws/vtj/vtjkysely/1"><request><SoSoNimi>PERUSSANOMA 3</SoSoNimi><Kayttajatunnus>vayla-demo</Kayttajatunnus><Salasana>$(cat "$ENV/vtj-password")</Salasana><Loppukayttaja>bench.user@example.fi</Loppukayttaja><Henkilotunnus>150380-903V</Henkilotunnus></request></HenkilonTunnusKysely>
XML
"$VAYLA" envelope --client "$(sed -n 's/^client = //p' "$ENV/vayla.conf")" \
    --service "$(sed -n 's/^service = //p' "$ENV/vayla.conf")" \
    --user-id bench.user@example.fi --issue benchmark \
    --body "$W/body.xml" >"$W/soap.xml"
s0=$(cpu_ticks "$SIM_PID")
SOAP_FILE=$W/soap.xml wrk -t2 -c64 -d"${secs}s" -s "$here/soap.lua" \
    "http://127.0.0.1:$SIM_HTTP/" >"$W/wrk2" 2>&1
s1=$(cpu_ticks "$SIM_PID")
n2=$(requests_of "$W/wrk2")
sim_us=$(( (s1 - s0) * 1000000 / HZ / (n2 > 0 ? n2 : 1) ))
rps2=$(sed -n 's/^Requests\/sec: *//p' "$W/wrk2")
lat2=$(sed -n 's/^ *Latency *\([^ ]*\).*/\1/p' "$W/wrk2")
# The simulator's answer to that envelope, for the floor below.
curl -s -H 'Content-Type: text/xml; charset=UTF-8' -H 'SOAPAction: ""' \
    --data-binary @"$W/soap.xml" "http://127.0.0.1:$SIM_HTTP/" >"$W/answer.xml"
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; SIM_PID=""

echo "1. CPU per query (wrk -c64, ${secs} s, simulator answering at once)"
printf '   %-34s %10s %10s %12s %8s\n' "path" "req/s" "latency" "CPU/query" "failed"
printf '   %-34s %10s %10s %9s us %8s\n' "wrk -> vayla -> sim (vayla CPU)" "$rps1" "$lat1" "$vayla_us" "$bad1"
printf '   %-34s %10s %10s %9s us\n' "   (sim CPU in that path)" "" "" "$sim_in_path_us"
printf '   %-34s %10s %10s %9s us\n' "wrk -> sim directly (sim CPU)" "$rps2" "$lat2" "$sim_us"
printf '   %-34s %10s %10s %9s us\n' "wrk -> vayla GET /healthz (floor)" "$rps0" "$lat0" "$floor_us"
printf '   ratios: vayla/sim %s, vayla/floor %s\n' \
    "$(awk -v a="$vayla_us" -v b="$sim_us" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')" \
    "$(awk -v a="$vayla_us" -v b="$floor_us" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')"
echo

# ---- 1b. the floor of the required parts -----------------------------------
# What the parts issue 5 requires cost alone, in a hot loop on this
# machine, same run: the answer's parse, SHA-512 of request and answer, two
# durable audit rows (bench_floor.c).
if [ -x "$build/tests/bench/bench_floor" ] && [ -s "$W/answer.xml" ]; then
    echo "1b. required parts alone (bench_floor: hot loop, one thread, no I/O wait)"
    TMPDIR=$W "$build/tests/bench/bench_floor" "$W/soap.xml" "$W/answer.xml" 2000 \
        >"$W/floor" 2>&1 || cat "$W/floor"
    sed 's/^/   /' "$W/floor"
    req_us=$(sed -n 's/^floor: .* \([0-9.]*\) us$/\1/p' "$W/floor")
    [ -n "$req_us" ] && printf '   ratio: vayla per query / required parts %s\n' \
        "$(awk -v a="$vayla_us" -v b="$req_us" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')"
else
    echo "1b. skipped: bench_floor not built or no answer from the simulator"
fi
echo

# ---- 2. 10,000 in flight ---------------------------------------------------
start_sim --fault latency:200
set_conf url "http://127.0.0.1:$SIM_HTTP/" security_server
set_conf max_in_flight 20000 api
set_conf max_connections 20000 api
: >"$W/serve.err" # the answers summary below counts this phase only
start_serve
wrk -t2 -c10000 -d"${secs}s" --timeout 60s -s "$here/person.lua" \
    "http://127.0.0.1:$API_PORT/v1/vtj/person" >"$W/wrk3" 2>&1 &
WRK=$!
peak=0
while kill -0 "$WRK" 2>/dev/null; do
    r=$(awk '/^VmRSS/ {print $2}' "/proc/$SV_PID/status" 2>/dev/null)
    [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.2
done
wait "$WRK"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$SV_PID/status")
n3=$(requests_of "$W/wrk3")
bad3=$(( $(non2xx_of "$W/wrk3") + $(errors_of "$W/wrk3") ))
rps3=$(sed -n 's/^Requests\/sec: *//p' "$W/wrk3")
lat3=$(sed -n 's/^ *Latency *\([^ ]*\).*/\1/p' "$W/wrk3")
stop_serve
echo "2. 10,000 connections in flight, simulator answering after 200 ms"
echo "   answered $n3 ($rps3 req/s, mean latency $lat3), failed or not 200: $bad3"
echo "   vayla peak RSS: $((hwm / 1024)) MiB (VmHWM $hwm kB)"
grep -E "Socket errors|Non-2xx" "$W/wrk3" | sed 's/^ */   wrk: /'
grep -c '"code"' "$W/serve.err" >/dev/null 2>&1 || true
# vayla's access log counts every answer, also those to the queries still
# in flight when wrk stopped (wrk does not count them).
sed -n 's/.*status=\([0-9]*\) outcome=\([a-z_]*\).*/\1 \2/p' "$W/serve.err" |
    sort | uniq -c | sort -rn | head -5 | sed 's/^/   answers in vayla'"'"'s access log: /'
sed -n 's/.*warn: request [^ ]*: \(.*\)/\1/p' "$W/serve.err" | sort | uniq -c |
    sort -rn | head -3 | sed 's/^/   transport: /'
echo

# ---- 3. start-up ------------------------------------------------------------
best=999999
total=0
for _ in $(seq 1 20); do
    start_serve
    total=$((total + START_MS))
    [ "$START_MS" -lt "$best" ] && best=$START_MS
    stop_serve
done
echo "3. start-up to ready (exec to ready file), 20 starts: mean $((total / 20)) ms, best $best ms"
kill "$SIM_PID" 2>/dev/null
