#!/bin/bash
# vayla daemon benchmark (docs/performance.md). Not a test: it prints
# figures measured in one run on this machine, each next to its reference
# and the ratio between them.
#
#   tests/bench/bench_serve.sh [BUILD_DIR] [SECONDS] [--floor]
#
# The shape is production's, as `vayla dev init` writes it: TLS towards
# callers, mTLS towards the security server (vayla-sim answering at once).
# The reference is nginx relaying the same SOAP exchange in the same
# shape: TLS listener, proxy_pass to the simulator with the client
# certificate, upstream keep-alive. Then the same with plain HTTP on both
# legs, the UNIX-socket caller leg (bench_unix), 10,000 queries in flight
# against a simulator that answers after 200 ms (peak RSS), and start-up.
# --floor adds bench_floor (the required parts alone, in a hot loop).
#
# BENCH_ROUNDS=N (default 3): the CPU figures are the medians of N loads
# of vayla and N of nginx, taken alternately with both running, and the
# ratio is the median of each round's own ratio (a vayla load against the
# nginx load right after it), so that the machine's drift over the run
# falls on both sides of every ratio; the table shows every round.
#
# VAYLA_PRELOAD=/path/lib.so runs the daemon with that library preloaded
# (an allocator to compare, say). Everything stays on 127.0.0.1 and stops
# by itself.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
secs=${2:-10}
floor=0
[ "${3:-}" = --floor ] && floor=1
rounds=${BENCH_ROUNDS:-3}
. "$here/bench_env.sh"
bench_need wrk nginx
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NGINX=$(command -v nginx)

start_serve() {
    rm -f "$W/serve.ready"
    local t0 t1
    t0=$(date +%s%N)
    env ${VAYLA_PRELOAD:+LD_PRELOAD=$VAYLA_PRELOAD} \
        "$VAYLA" serve -c "$ENV/vayla.conf" --ready-file "$W/serve.ready" \
        >/dev/null 2>>"$W/serve.err" &
    SV_PID=$!
    while [ ! -s "$W/serve.ready" ]; do
        kill -0 "$SV_PID" 2>/dev/null || { cat "$W/serve.err"; exit 1; }
    done
    t1=$(date +%s%N)
    START_MS=$(((t1 - t0) / 1000000))
    API_PORT=$(sed -n 's/^tcp_port=//p' "$W/serve.ready")
    if [ "$BENCH_SHAPE" = tls ]; then
        API_URL=https://127.0.0.1:$API_PORT
    else
        API_URL=http://127.0.0.1:$API_PORT
    fi
}

stop_serve() {
    kill -TERM "$SV_PID" 2>/dev/null
    wait "$SV_PID" 2>/dev/null
    SV_PID=""
}

# nginx relaying POST / to the simulator, in BENCH_SHAPE: a master and as
# many workers as vayla has threads, an access log as vayla keeps one.
start_nginx() {
    local listen upstream port ssl_up user=""
    # A port below the ephemeral range (32768 up on Linux), where the
    # benchmark's own outgoing connections cannot hold it, and free now.
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 12000))
        ss -Htln "sport = :$port" | grep -q . || break
    done
    if [ "$BENCH_SHAPE" = tls ]; then
        listen="listen 127.0.0.1:$port ssl;
        ssl_certificate $ENV/api.pem;
        ssl_certificate_key $ENV/api.key;"
        upstream="server 127.0.0.1:$SIM_HTTPS;"
        ssl_up="proxy_pass https://sim;
            proxy_ssl_certificate $ENV/client.pem;
            proxy_ssl_certificate_key $ENV/client.key;
            proxy_ssl_trusted_certificate $ENV/ss-ca.pem;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;"
        NGX_URL=https://127.0.0.1:$port/
    else
        listen="listen 127.0.0.1:$port;"
        upstream="server 127.0.0.1:$SIM_HTTP;"
        ssl_up="proxy_pass http://sim;"
        NGX_URL=http://127.0.0.1:$port/
    fi
    [ "$(id -u)" -eq 0 ] && user="user root;"
    mkdir -p "$W/ngx"
    cat >"$W/ngx/nginx.conf" <<NGX
$user
worker_processes $(nproc);
daemon off;
pid $W/ngx/nginx.pid;
error_log $W/ngx/error.log warn;
events { worker_connections 20000; }
http {
    access_log $W/ngx/access.log;
    client_body_temp_path $W/ngx/body;
    proxy_temp_path $W/ngx/proxy;
    fastcgi_temp_path $W/ngx/fastcgi;
    uwsgi_temp_path $W/ngx/uwsgi;
    scgi_temp_path $W/ngx/scgi;
    keepalive_requests 1000000;
    upstream sim {
        $upstream
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        $listen
        location / {
            $ssl_up
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGX
    "$NGINX" -c "$W/ngx/nginx.conf" -p "$W/ngx" 2>>"$W/ngx/stderr" &
    NGX_PID=$!
    for _ in $(seq 1 100); do
        curl -sk -o /dev/null "$NGX_URL" && return 0
        sleep 0.05
    done
    echo "bench: nginx did not start:"
    cat "$W/ngx/stderr" "$W/ngx/error.log"
    exit 1
}

stop_nginx() {
    kill -QUIT "$NGX_PID" 2>/dev/null
    wait "$NGX_PID" 2>/dev/null
    NGX_PID=""
}

cpu_ticks() { # PID...: utime + stime of the processes and their children
    local t=0 p
    for p in "$@" $(pgrep -P "$1" 2>/dev/null); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

thread_ticks() { # PID NAME: utime + stime of the threads of PID named NAME
    local t=0 d
    for d in /proc/"$1"/task/*; do
        [ "$(cat "$d/comm" 2>/dev/null)" = "$2" ] &&
            t=$((t + $(awk '{print $14 + $15}' "$d/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

requests_of() { # wrk output -> completed requests
    sed -n 's/^ *\([0-9][0-9]*\) requests in.*/\1/p' "$1"
}

bad_of() { # wrk output -> non-2xx answers + socket errors
    local n e
    n=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$1")
    e=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\)/\1 \2 \3 \4/p' "$1")
    set -- ${e:-0 0 0 0}
    echo $((${n:-0} + $1 + $2 + $3 + $4))
}

rps_of() { sed -n 's/^Requests\/sec: *\([0-9]*\).*/\1/p' "$1"; }

us_of() { # wrk duration (12.3us, 1.2ms, 2s) -> microseconds
    awk -v d="$1" 'BEGIN {
        v = d + 0
        if (d ~ /us$/) f = 1; else if (d ~ /ms$/) f = 1000;
        else if (d ~ /m$/) f = 60000000; else f = 1000000
        printf "%d", v * f }'
}

median_of() { # wrk --latency output -> median in microseconds
    us_of "$(sed -n 's/^ *50% *\([^ ]*\)/\1/p' "$1")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }'; }

# load NAME PIDS URL [WRK ARGS...]: wrk -t2 -c64 for $secs after a warm-up;
# sets CPU_US (CPU of PIDS per request), AUDIT_US (the share of vayla's
# audit writer thread in it), RPS, BAD.
load() {
    local name=$1 pids=$2 url=$3 c0 c1 a0 a1 n
    shift 3
    wrk -t2 -c64 -d2s "$@" "$url" >/dev/null 2>&1
    c0=$(cpu_ticks $pids)
    a0=$(thread_ticks $pids vayla-audit)
    wrk -t2 -c64 -d"${secs}s" "$@" "$url" >"$W/wrk.$name" 2>&1
    c1=$(cpu_ticks $pids)
    a1=$(thread_ticks $pids vayla-audit)
    n=$(requests_of "$W/wrk.$name")
    CPU_US=$(((c1 - c0) * 1000000 / HZ / (${n:-0} > 0 ? n : 1)))
    AUDIT_US=$(((a1 - a0) * 1000000 / HZ / (${n:-0} > 0 ? n : 1)))
    RPS=$(rps_of "$W/wrk.$name")
    BAD=$(bad_of "$W/wrk.$name")
}

# one NAME URL [WRK ARGS...]: one connection, one query at a time; sets
# MEDIAN_US.
one() {
    local name=$1 url=$2
    shift 2
    wrk -t1 -c1 -d"$(((secs + 1) / 2))s" --latency "$@" "$url" >"$W/wrk1.$name" 2>&1
    MEDIAN_US=$(median_of "$W/wrk1.$name")
}

median() { # NUMBER...: the median (the lower middle one of an even count)
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

row() { # MEASUREMENT VAYLA REFERENCE RATIO TARGET
    printf '| %s | %s | %s | %s | %s |\n' "$@"
}

HZ=$(getconf CLK_TCK)
export VAYLA_TOKEN SOAP_FILE=$W/soap.xml
VAYLA_TOKEN=$(cat "$ENV/token")
# vayla-sim serves at most 256 connections; stay below.
sed -i '/^\[security_server\]/a max_connections = 200' "$W/vayla-tls.conf"

# The query nginx relays: the envelope vayla sends for person.lua's query.
cat >"$W/body.xml" <<XML
<HenkilonTunnusKysely xmlns="http://xml.vrk.fi/ws/vtj/vtjkysely/1"><request><SoSoNimi>PERUSSANOMA 3</SoSoNimi><Kayttajatunnus>vayla-demo</Kayttajatunnus><Salasana>$(cat "$ENV/vtj-password")</Salasana><Loppukayttaja>bench.user@example.fi</Loppukayttaja><Henkilotunnus>150380-903V</Henkilotunnus></request></HenkilonTunnusKysely>
XML
"$VAYLA" envelope --client "$(sed -n 's/^client = //p' "$ENV/vayla.conf")" \
    --service "$(sed -n 's/^service = //p' "$ENV/vayla.conf")" \
    --user-id bench.user@example.fi --issue benchmark \
    --body "$W/body.xml" >"$SOAP_FILE"

echo "vayla benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r)," \
    "$BENCH_BUILD_TYPE build $(git -C "$build/.." rev-parse --short HEAD 2>/dev/null)," \
    "wrk -t2 -c64 ${secs} s per figure${VAYLA_PRELOAD:+, vayla with LD_PRELOAD=$VAYLA_PRELOAD}"
echo
row "measurement" "vayla" "reference" "ratio" "target"
row "---" "---" "---" "---" "---"

for shape in tls plain; do
    if [ "$shape" = tls ]; then
        bench_tls
        label="TLS both legs"
    else
        bench_plain
        label="plain both legs"
    fi
    # Both relays keep connections to the simulator (at most 256) open:
    # vayla 96 at most here (wrk keeps 64 queries in flight), nginx up to
    # 64 idle per worker plus the active ones.
    set_conf max_connections 96 security_server
    start_sim
    start_serve
    start_nginx
    # Alternate rounds, both daemons up (the idle one costs nothing).
    # The ratio is the median of each round's own ratio (vayla's load and
    # nginx's next to it): the machine's speed drifts by a third between
    # rounds, and pairing keeps the slow part of that drift out of the
    # ratio. The rounds' spread, printed, shows what remains.
    v_cpus="" v_auds="" n_cpus="" r_cpus="" v_rps=0 v_bad=0 n_rps=0 n_bad=0
    for _ in $(seq 1 "$rounds"); do
        load "vayla-$shape" "$SV_PID" "$API_URL/v1/vtj/person" -s "$here/person.lua"
        v_cpus="$v_cpus $CPU_US" v_auds="$v_auds $AUDIT_US" v_one=$CPU_US
        v_rps=$((v_rps + ${RPS:-0})) v_bad=$((v_bad + ${BAD:-0}))
        load "nginx-$shape" "$NGX_PID" "$NGX_URL" -s "$here/soap.lua"
        n_cpus="$n_cpus $CPU_US" r_cpus="$r_cpus $(ratio "$v_one" "$CPU_US")"
        n_rps=$((n_rps + ${RPS:-0})) n_bad=$((n_bad + ${BAD:-0}))
    done
    # shellcheck disable=SC2086 # word splitting wanted: the figures
    v_cpu=$(median $v_cpus) v_aud=$(median $v_auds) n_cpu=$(median $n_cpus)
    # shellcheck disable=SC2086
    r_cpu=$(median $r_cpus)
    v_rps=$((v_rps / rounds)) n_rps=$((n_rps / rounds))
    one "vayla-$shape" "$API_URL/v1/vtj/person" -s "$here/person.lua"
    v_med=$MEDIAN_US
    one "nginx-$shape" "$NGX_URL" -s "$here/soap.lua"
    n_med=$MEDIAN_US
    if [ "$shape" = plain ]; then
        # The UNIX-socket leg, same daemon, same load.
        sock=$(sed -n 's/^unix_socket=//p' "$W/serve.ready")
        [ -n "$sock" ] || sock=$ENV/vayla.sock
        "$build/tests/bench/bench_unix" "$sock" 64 2 >/dev/null 2>&1
        c0=$(cpu_ticks "$SV_PID")
        "$build/tests/bench/bench_unix" "$sock" 64 "$secs" >"$W/unix64" 2>&1
        c1=$(cpu_ticks "$SV_PID")
        "$build/tests/bench/bench_unix" "$sock" 1 "$(((secs + 1) / 2))" >"$W/unix1" 2>&1
        read -r _ u_n _ u_ok _ u_rps _ _ _ _ <"$W/unix64"
        u_cpu=$(((c1 - c0) * 1000000 / HZ / (${u_n:-0} > 0 ? u_n : 1)))
        u_med=$(awk '{ print $8 }' "$W/unix1")
    fi
    stop_serve
    stop_nginx
    stop_sim
    target_cpu="≤ 3.5× (aim 2.5×)"
    target_med="< 5 ms"
    [ "$shape" = plain ] && target_cpu="—" && target_med="—"
    row "CPU per query, $label (vayla: VTJ query; nginx: the SOAP exchange relayed; median of $rounds alternating rounds)" \
        "$v_cpu µs (rounds:${v_cpus}; $v_rps/s, $v_bad failed)" \
        "nginx $n_cpu µs (rounds:${n_cpus}; $n_rps/s, $n_bad failed)" \
        "$r_cpu× (paired rounds:${r_cpus})" "$target_cpu"
    row "… of which vayla's durable audit writer (thread vayla-audit), $label" \
        "$v_aud µs" "nginx: access log, no fsync" \
        "rest $(ratio "$((v_cpu - v_aud))" "$n_cpu")×" "—"
    row "median latency at 1 connection, $label" "$v_med µs" "nginx $n_med µs" \
        "$(ratio "$v_med" "$n_med")×" "$target_med"
    if [ "$shape" = plain ]; then
        row "CPU per query, caller on the UNIX socket (bench_unix, 64 connections), plain upstream" \
            "$u_cpu µs (${u_rps:-0}/s, $((${u_n:-0} - ${u_ok:-0})) not 200)" \
            "nginx plain $n_cpu µs" "$(ratio "$u_cpu" "$n_cpu")×" "—"
        row "median latency at 1 connection, UNIX socket" "${u_med:-?} µs" \
            "nginx plain $n_med µs" "$(ratio "${u_med:-0}" "$n_med")×" "—"
    fi
done

# ---- 10,000 in flight ----------------------------------------------------------
# vayla with the simulator answering after 200 ms, on plain legs (where
# issue 5 set the target) and over TLS; nginx's peak RSS (master and
# workers added up) under the same TLS load is the reference. TLS
# handshakes of 10,000 connections take the two cores a while, so this
# phase runs for at least 30 s.
big=$((secs > 30 ? secs : 30))
peak_rss() { # PID...: VmHWM in MiB, added up
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo $((t / 1024))
}
for shape in plain tls; do
    if [ "$shape" = tls ]; then bench_tls; else bench_plain; fi
    start_sim --fault latency:200
    set_conf max_in_flight 20000 api
    set_conf max_connections 20000 api
    set_conf max_connections_per_peer 0 api
    set_conf max_pending_connections 20000 api
    : >"$W/serve.err" # the summary below counts this phase only
    start_serve
    wrk -t2 -c10000 -d"${big}s" --timeout 60s -s "$here/person.lua" \
        "$API_URL/v1/vtj/person" >"$W/wrk.10k-$shape" 2>&1
    rss=$(peak_rss "$SV_PID")
    n3=$(requests_of "$W/wrk.10k-$shape")
    bad3=$(bad_of "$W/wrk.10k-$shape")
    stop_serve
    ref="64 MiB"
    ref_mib=64
    if [ "$shape" = tls ]; then
        start_nginx
        wrk -t2 -c10000 -d"${big}s" --timeout 60s -s "$here/soap.lua" \
            "$NGX_URL" >"$W/wrk.10k-nginx" 2>&1
        ref_mib=$(peak_rss $(pgrep -P "$NGX_PID") "$NGX_PID")
        ref="nginx $ref_mib MiB ($(requests_of "$W/wrk.10k-nginx") relayed, $(bad_of "$W/wrk.10k-nginx") failed)"
        stop_nginx
    fi
    stop_sim
    row "peak RSS, 10,000 queries in flight, $shape legs (simulator answering after 200 ms, wrk ${big} s)" \
        "$rss MiB ($n3 answered, $bad3 failed)" "$ref" "$(ratio "$rss" "$ref_mib")×" \
        "$([ "$shape" = plain ] && echo "< 64 MiB, none failed" || echo "—")"
    grep -E "Socket errors|Non-2xx" "$W/wrk.10k-$shape" | sed "s/^ */   10k $shape, wrk: /" >>"$W/notes"
    sed -n 's/.*warn: request [^ ]*: \(.*\)/\1/p' "$W/serve.err" | sort | uniq -c |
        sort -rn | head -3 | sed "s/^ */   10k $shape, vayla transport: /" >>"$W/notes"
done

# ---- start-up ----------------------------------------------------------------
best=999999
total=0
start_sim
for _ in $(seq 1 20); do
    start_serve
    total=$((total + START_MS))
    [ "$START_MS" -lt "$best" ] && best=$START_MS
    stop_serve
done
stop_sim
row "start-up to ready (exec to ready file), 20 starts" \
    "mean $((total / 20)) ms, best $best ms" "100 ms" "$(ratio $((total / 20)) 100)×" "< 100 ms"
echo
[ -s "$W/notes" ] && cat "$W/notes"

# ---- the required parts alone (bench_floor) ----------------------------------
if [ "$floor" -eq 1 ]; then
    bench_plain
    start_sim
    curl -s -H 'Content-Type: text/xml; charset=UTF-8' -H 'SOAPAction: ""' \
        --data-binary @"$SOAP_FILE" "http://127.0.0.1:$SIM_HTTP/" >"$W/answer.xml"
    stop_sim
    echo
    echo "required parts alone (bench_floor: hot loop, one thread, no I/O wait)"
    TMPDIR=$W "$build/tests/bench/bench_floor" "$SOAP_FILE" "$W/answer.xml" 2000 2>&1 |
        sed 's/^/   /'
fi
