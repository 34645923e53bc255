# Shared helpers for the vayla-sim integration tests (sourced, bash).
#
# Usage in a test:  . "$(dirname "$0")/lib.sh"; it_init "$@"; it_start_sim
# Arguments of every test: VAYLA_BINARY VAYLA_SIM_BINARY.
#
# Everything stays on 127.0.0.1; the simulator binds ephemeral ports and
# reports them in a ready file, so no test depends on a fixed port. The
# simulator is always killed (by its PID) when the test exits.

set -u

IT_FAILS=0
IT_SIM_PID=""
IT_DIR=""

it_log() { printf '%s\n' "$*"; }

it_fail() {
    printf 'FAIL: %s\n' "$*"
    IT_FAILS=$((IT_FAILS + 1))
}

it_cleanup() {
    if [ -n "$IT_SIM_PID" ]; then
        kill "$IT_SIM_PID" 2>/dev/null
        wait "$IT_SIM_PID" 2>/dev/null
        IT_SIM_PID=""
    fi
    if [ -n "$IT_DIR" ] && [ -d "$IT_DIR" ]; then
        if [ "$IT_FAILS" -gt 0 ] && [ -f "$IT_DIR/sim.err" ]; then
            echo "--- simulator log (last 40 lines) ---"
            tail -n 40 "$IT_DIR/sim.err"
        fi
        rm -rf "$IT_DIR"
    fi
}

# it_init VAYLA VAYLA_SIM: make a fresh environment with `vayla dev init`.
it_init() {
    VAYLA=$1
    VAYLA_SIM=$2
    for tool in curl "$VAYLA" "$VAYLA_SIM"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "SKIP: $tool not available"
            exit 77
        fi
    done
    IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vayla-it.XXXXXX") || exit 1
    trap it_cleanup EXIT
    trap 'exit 1' INT TERM
    if ! "$VAYLA" dev init "$IT_DIR/env" >"$IT_DIR/init.out" 2>&1; then
        cat "$IT_DIR/init.out"
        echo "FAIL: vayla dev init"
        exit 1
    fi
    ENV="$IT_DIR/env"
}

# it_start_sim [extra vayla-sim options]: start on ephemeral ports, wait
# for the ready file (bounded), point vayla.conf at the HTTPS port.
it_start_sim() {
    rm -f "$IT_DIR/ready"
    "$VAYLA_SIM" -c "$ENV/sim.conf" --https-port 0 --http-port 0 \
        --control-port 0 --ready-file "$IT_DIR/ready" "$@" \
        >"$IT_DIR/sim.out" 2>"$IT_DIR/sim.err" &
    IT_SIM_PID=$!
    local i=0
    while [ ! -s "$IT_DIR/ready" ]; do
        i=$((i + 1))
        if [ "$i" -gt 300 ] || ! kill -0 "$IT_SIM_PID" 2>/dev/null; then
            cat "$IT_DIR/sim.err"
            echo "FAIL: vayla-sim did not become ready"
            exit 1
        fi
        sleep 0.1
    done
    HTTPS_PORT=$(sed -n 's/^https_port=//p' "$IT_DIR/ready")
    HTTP_PORT=$(sed -n 's/^http_port=//p' "$IT_DIR/ready")
    CONTROL_PORT=$(sed -n 's/^control_port=//p' "$IT_DIR/ready")
    it_conf security_server url "https://127.0.0.1:$HTTPS_PORT/"
}

# it_stop_sim: SIGTERM, and the simulator must exit cleanly (status 0;
# under ASan/LSan a leak or memory error makes it non-zero).
it_stop_sim() {
    local rc
    if [ -n "$IT_SIM_PID" ]; then
        kill "$IT_SIM_PID" 2>/dev/null
        wait "$IT_SIM_PID" 2>/dev/null
        rc=$?
        IT_SIM_PID=""
        if [ "$rc" != 0 ]; then
            it_fail "vayla-sim exited with status $rc"
            tail -n 60 "$IT_DIR/sim.err"
        fi
    fi
}

# it_conf SECTION KEY VALUE: set (or add) a key in $ENV/vayla.conf.
it_conf() {
    local section=$1 key=$2 value=$3 f="$ENV/vayla.conf"
    if grep -q "^$key = " "$f"; then
        # Keys are unique across our sections; replace in place.
        sed -i "s#^$key = .*#$key = $value#" "$f"
    else
        sed -i "/^\[$section\]/a $key = $value" "$f"
    fi
}

# it_unconf KEY: remove a key from vayla.conf.
it_unconf() {
    sed -i "/^$1 = /d" "$ENV/vayla.conf"
}

# it_fault NAME: switch the simulator's fault injection at run time.
it_fault() {
    local got
    got=$(curl -sS --max-time 10 -X PUT --data "$1" \
        "http://127.0.0.1:$CONTROL_PORT/fault") || {
        it_fail "control endpoint: PUT /fault $1"
        return 1
    }
    [ "$got" = "$1" ] || it_fail "PUT /fault $1 answered '$got'"
}

# it_query HETU [extra args]: run `vayla query person`; sets QRC and QOUT.
it_query() {
    local hetu=$1
    shift
    QOUT=$("$VAYLA" query person "$hetu" --user-id it-user-1 \
        --issue it-case-1 -c "$ENV/vayla.conf" "$@" 2>"$IT_DIR/query.err")
    QRC=$?
}

# it_expect NAME RC PATTERN...: check the last query's exit code and that
# its JSON output contains every fixed-string PATTERN.
it_expect() {
    local name=$1 rc=$2 ok=1
    shift 2
    if [ "$QRC" != "$rc" ]; then
        ok=0
        it_fail "$name: exit $QRC, expected $rc"
    fi
    for p in "$@"; do
        if ! printf '%s' "$QOUT" | grep -qF -- "$p"; then
            ok=0
            it_fail "$name: output lacks $p"
        fi
    done
    if [ "$ok" = 1 ]; then
        it_log "ok: $name"
    else
        printf '  output: %s\n  stderr: %s\n' "$QOUT" \
            "$(head -c 600 "$IT_DIR/query.err")"
    fi
}

it_finish() {
    it_stop_sim
    if [ "$IT_FAILS" -gt 0 ]; then
        echo "$IT_FAILS check(s) failed"
        exit 1
    fi
    echo "all checks passed"
    exit 0
}
