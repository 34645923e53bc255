# Sourced by the benchmark scripts (not run): a throw-away vayla
# environment on loopback. Before sourcing, set `build` (the build
# directory). It defines VAYLA, SIM, W (a new work directory, removed at
# exit with the processes in SIM_PID, SV_PID and NGX_PID), ENV (`vayla dev
# init` output: TLS towards callers and mTLS towards the simulator, as
# production runs; the simulator keeps no message log and little
# operational data, which are its own costs, not vayla's), and the
# functions below. `bench_plain` switches ENV to plain HTTP on both legs.

VAYLA=$build/adapter/vayla
SIM=$build/tests/sim/vayla-sim

bench_need() { # TOOL...: exit 1 naming the first one missing
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || {
            echo "bench: $t not found (deploy/setup.sh --bench installs the tools; build first)"
            exit 1
        }
    done
}

bench_need curl "$VAYLA" "$SIM"
# Only optimised builds are measured: a tree configured without a build
# type is compiled without -O2 (at 6f0e714 it counted 1,323,487
# instructions per query against 1,182,197 for RelWithDebInfo).
BENCH_BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null)
case $BENCH_BUILD_TYPE in
Release | RelWithDebInfo | MinSizeRel) ;;
*)
    echo "bench: $build is not an optimised build (CMAKE_BUILD_TYPE='$BENCH_BUILD_TYPE');" \
        "configure it with -DCMAKE_BUILD_TYPE=RelWithDebInfo as deploy/setup.sh does"
    exit 1
    ;;
esac
W=$(mktemp -d /tmp/vayla-bench.XXXXXX)
chmod 755 "$W"
SIM_PID=""
SV_PID=""
NGX_PID=""
bench_cleanup() {
    [ -n "$SV_PID" ] && kill "$SV_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
    [ -n "$NGX_PID" ] && kill "$NGX_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$W"
}
trap bench_cleanup EXIT

"$VAYLA" dev init "$W/env" >/dev/null || exit 1
ENV=$W/env
# The benchmarks measure vayla, not the simulator's message log: without
# these the simulator signs (XAdES), time-stamps and zips a container for
# every exchange, becomes the bottleneck at a few hundred queries/s and
# leaves vayla idling between answers (which inflates its CPU per query).
sed -i -e '/^message_log/d' "$ENV/sim.conf"
awk '/^\[/ { skip = ($0 == "[asic]") } !skip' "$ENV/sim.conf" >"$ENV/sim.conf.new" &&
    mv "$ENV/sim.conf.new" "$ENV/sim.conf"
# The simulator keeps operational data of its last opmon_keep exchanges
# (100,000 by default, a few KiB each): a benchmark's hundreds of
# thousands of exchanges would grow it by hundreds of MiB during the run
# and slow the later rounds. Keep 1,000.
sed -i -e '/^\[sim\]/a opmon_keep = 1000' "$ENV/sim.conf"

set_conf() { # KEY VALUE SECTION: set KEY in [SECTION] of vayla.conf
    sed -i "/^\[$3\]/,/^\[/{/^$1 = /d}" "$ENV/vayla.conf"
    sed -i "/^\[$3\]/a $1 = $2" "$ENV/vayla.conf"
}
set_conf port 0 listen
cp "$ENV/vayla.conf" "$W/vayla-tls.conf"
cp "$ENV/sim.conf" "$W/sim-tls.conf"

bench_plain() { # plain HTTP on both legs (run start_sim after it)
    cp "$W/vayla-tls.conf" "$ENV/vayla.conf"
    cp "$W/sim-tls.conf" "$ENV/sim.conf"
    sed -i -e 's/^connection = .*/connection = NOSSL/' "$ENV/sim.conf"
    sed -i '/^tls_cert = /d;/^tls_key = /d;/^client_ca = /d;/^require_client_cert = /d' \
        "$ENV/vayla.conf"
    BENCH_SHAPE=plain
}

bench_tls() { # back to the shape `vayla dev init` writes
    cp "$W/vayla-tls.conf" "$ENV/vayla.conf"
    cp "$W/sim-tls.conf" "$ENV/sim.conf"
    BENCH_SHAPE=tls
}
BENCH_SHAPE=tls

start_sim() { # [SIM ARGS...]: start vayla-sim; sets SIM_HTTP, SIM_HTTPS,
    # SIM_CTL and points vayla.conf at the leg of BENCH_SHAPE
    rm -f "$W/sim.ready"
    "$SIM" -c "$ENV/sim.conf" --https-port 0 --http-port 0 --control-port 0 \
        --ready-file "$W/sim.ready" "$@" >/dev/null 2>"$W/sim.err" &
    SIM_PID=$!
    for _ in $(seq 1 300); do [ -s "$W/sim.ready" ] && break; sleep 0.05; done
    SIM_HTTP=$(sed -n 's/^http_port=//p' "$W/sim.ready")
    SIM_HTTPS=$(sed -n 's/^https_port=//p' "$W/sim.ready")
    SIM_CTL=$(sed -n 's/^control_port=//p' "$W/sim.ready")
    if [ "$BENCH_SHAPE" = tls ]; then
        set_conf url "https://127.0.0.1:$SIM_HTTPS/" security_server
    else
        set_conf url "http://127.0.0.1:$SIM_HTTP/" security_server
    fi
}

stop_sim() {
    [ -n "$SIM_PID" ] && { kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; }
    SIM_PID=""
}
