# Sourced by the benchmark scripts (not run): a throw-away vayla
# environment on loopback. Before sourcing, set `build` (the build
# directory). It defines VAYLA, SIM, W (a new work directory, removed at
# exit with the processes in SIM_PID and SV_PID), ENV (`vayla dev init`
# output with plain HTTP on both legs and no simulator message log, so
# measurements pay no TLS or disk cost), and the functions below.

VAYLA=$build/adapter/vayla
SIM=$build/tests/sim/vayla-sim

bench_need() { # TOOL...: exit 1 naming the first one missing
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || {
            echo "bench: $t not found (apt-get install wrk valgrind; build first)"
            exit 1
        }
    done
}

bench_need curl "$VAYLA" "$SIM"
W=$(mktemp -d /tmp/vayla-bench.XXXXXX)
SIM_PID=""
SV_PID=""
bench_cleanup() {
    [ -n "$SV_PID" ] && kill "$SV_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$W"
}
trap bench_cleanup EXIT

"$VAYLA" dev init "$W/env" >/dev/null || exit 1
ENV=$W/env
sed -i -e 's/^connection = .*/connection = NOSSL/' -e '/^message_log/d' \
    "$ENV/sim.conf"
sed -i '/^tls_cert = /d;/^tls_key = /d;/^client_ca = /d;/^require_client_cert = /d' \
    "$ENV/vayla.conf"

set_conf() { # KEY VALUE SECTION: set KEY in [SECTION] of vayla.conf
    sed -i "/^\[$3\]/,/^\[/{/^$1 = /d}" "$ENV/vayla.conf"
    sed -i "/^\[$3\]/a $1 = $2" "$ENV/vayla.conf"
}
set_conf port 0 listen

start_sim() { # [SIM ARGS...]: start vayla-sim; sets SIM_HTTP, SIM_CTL
    rm -f "$W/sim.ready"
    "$SIM" -c "$ENV/sim.conf" --https-port 0 --http-port 0 --control-port 0 \
        --ready-file "$W/sim.ready" "$@" >/dev/null 2>"$W/sim.err" &
    SIM_PID=$!
    for _ in $(seq 1 300); do [ -s "$W/sim.ready" ] && break; sleep 0.05; done
    SIM_HTTP=$(sed -n 's/^http_port=//p' "$W/sim.ready")
    SIM_CTL=$(sed -n 's/^control_port=//p' "$W/sim.ready")
}
