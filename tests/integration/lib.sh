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

# it_need TOOL...: skip the test (77) when a tool is missing.
it_need() {
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "SKIP: $tool not available"
            exit 77
        fi
    done
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

# it_query HETU|--satu SATU [extra args]: run `vayla query person`; sets
# QRC and QOUT. Later options override --user-id and --issue.
it_query() {
    local key=("$1")
    shift
    if [ "${key[0]}" = --satu ]; then
        key+=("$1")
        shift
    fi
    QOUT=$("$VAYLA" query person "${key[@]}" --user-id it-user-1 \
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

# it_req FILE [sed expressions...]: a valid HenkilonTunnusKysely request
# for the dev-init environment (its VTJ password, a fresh message id) in
# FILE, then each sed expression applied to it.
it_req() {
    local f=$1 pw
    shift
    cat >"$f" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers" xmlns:vtj="http://xml.vrk.fi/ws/vtj/vtjkysely/1">
  <SOAP-ENV:Header>
    <xrd:client id:objectType="SUBSYSTEM">
      <id:xRoadInstance>FI-TEST</id:xRoadInstance>
      <id:memberClass>MUN</id:memberClass>
      <id:memberCode>0101263-6</id:memberCode>
      <id:subsystemCode>vayla-demo</id:subsystemCode>
    </xrd:client>
    <xrd:service id:objectType="SERVICE">
      <id:xRoadInstance>FI-TEST</id:xRoadInstance>
      <id:memberClass>GOV</id:memberClass>
      <id:memberCode>0245437-2</id:memberCode>
      <id:subsystemCode>VTJkysely</id:subsystemCode>
      <id:serviceCode>HenkilonTunnusKysely</id:serviceCode>
      <id:serviceVersion>v1</id:serviceVersion>
    </xrd:service>
    <xrd:id>MSGID</xrd:id>
    <xrd:userId>it-user-1</xrd:userId>
    <xrd:issue></xrd:issue>
    <xrd:protocolVersion>4.0</xrd:protocolVersion>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <vtj:HenkilonTunnusKysely>
      <vtj:request>
        <vtj:SoSoNimi>PERUSSANOMA 3</vtj:SoSoNimi>
        <vtj:Kayttajatunnus>vayla-demo</vtj:Kayttajatunnus>
        <vtj:Salasana>PASSWORD</vtj:Salasana>
        <vtj:Loppukayttaja>it-user-1</vtj:Loppukayttaja>
        <vtj:Henkilotunnus>150380-903V</vtj:Henkilotunnus>
      </vtj:request>
    </vtj:HenkilonTunnusKysely>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
XML
    pw=$(head -n 1 "$ENV/vtj-password")
    sed -i "s/PASSWORD/$pw/; s/MSGID/msg-$RANDOM$RANDOM/" "$f"
    for e in "$@"; do
        sed -i "$e" "$f"
    done
}

# it_soap REQUEST ANSWER [curl options]: POST REQUEST to the simulator
# over HTTPS with the client certificate, the answer body into ANSWER;
# prints the HTTP status.
it_soap() {
    local req=$1 ans=$2
    shift 2
    curl -sS --max-time 30 --cacert "$ENV/ca.pem" --cert "$ENV/client.pem" \
        --key "$ENV/client.key" -H 'Content-Type: text/xml; charset=UTF-8' \
        -H 'SOAPAction: ""' --data-binary @"$req" -o "$ans" \
        -w '%{http_code}' "$@" "https://127.0.0.1:$HTTPS_PORT/"
}

# it_vectors_dir: print the shared vectors folder (XR_VECTORS_DIR from
# ctest, else ../shared/vectors beside the project); fails when absent.
it_vectors_dir() {
    local d=${XR_VECTORS_DIR:-}
    if [ -z "$d" ]; then
        d=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared/vectors
    fi
    [ -f "$d/vtj/vtjkysely-xroad-SoSoAdapterService60.wsdl" ] &&
        [ -f "$d/xroad/xsd/xml.xsd" ] || return 1
    printf '%s\n' "$d"
}

# it_schemas DIR: the schemas answers are validated against, made in DIR
# from the shared vectors at test time (nothing of them is kept in the
# repository): tests/integration/soap-envelope.xsd for the envelope; the
# X-Road header schema vectors/vtj/xroad.xsd with its identifiers.xsd (and
# the W3C xml.xsd it imports, from vectors/xroad/xsd); the body schema of
# the VTJ WSDL, taken out of wsdl:types. That WSDL's `response` is a
# strict xsd:any, which no real answer can pass (../shared/docs/vtjkysely.md 1.2: the
# payload's schema is DVV's product XSD); it is made lax here, as evaka
# replaced it, and everything else is validated as published.
# Fails (status 1, message on stdout) when a tool or vector is missing.
it_schemas() {
    local dir=$1 vec wsdl
    command -v xmllint >/dev/null 2>&1 || {
        echo "xmllint not available"
        return 1
    }
    vec=$(it_vectors_dir) || {
        echo "shared vectors (../shared/vectors) not available"
        return 1
    }
    wsdl=$vec/vtj/vtjkysely-xroad-SoSoAdapterService60.wsdl
    mkdir -p "$dir" &&
        cp "$vec/vtj/xroad.xsd" "$vec/vtj/identifiers.xsd" \
            "$vec/xroad/xsd/xml.xsd" "$dir/" &&
        cp "$(dirname "${BASH_SOURCE[0]}")/soap-envelope.xsd" "$dir/" &&
        xmllint --xpath '(//*[local-name()="schema"])[1]' "$wsdl" \
            >"$dir/ws.raw" || {
        echo "cannot prepare the schemas"
        return 1
    }
    # The fragment uses prefixes declared on wsdl:definitions.
    sed -e '1s#^<xsd:schema #<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="http://xml.vrk.fi/ws/vtj/vtjkysely/1" #' \
        -e 's#<xsd:any minOccurs="0" maxOccurs="unbounded"/>#<xsd:any minOccurs="0" maxOccurs="unbounded" processContents="lax"/>#' \
        "$dir/ws.raw" >"$dir/vtjkysely-ws.xsd"
    if [ "$(grep -c 'processContents="lax"' "$dir/vtjkysely-ws.xsd")" != 1 ]; then
        echo "the WSDL's response wildcard was not found"
        return 1
    fi
}

# it_valid NAME SCHEMA_DIR FILE: FILE validates against the envelope schema.
it_valid() {
    local out
    if out=$(xmllint --noout --nonet --schema "$2/soap-envelope.xsd" "$3" 2>&1); then
        it_log "ok: $1 validates"
    else
        it_fail "$1 does not validate: $(printf '%s' "$out" | head -c 600)"
    fi
}
