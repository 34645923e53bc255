#!/bin/bash
# A third-party SOAP client against vayla-sim: zeep (Debian's
# python3-zeep, run with /usr/bin/python3) loads DVV's VTJ WSDL from the
# shared vectors and sends HenkilonTunnusKysely with X-Road headers over
# HTTPS with the client certificate of `vayla dev init`. zeep declares the
# X-Road namespace on every header element, the shape that made the
# simulator's requestHash ill-formed. zeep_client.py checks the answer
# (parse, requestHash, schemas). Skips (77) without the vectors, zeep,
# lxml or xmllint.
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need xmllint
PY=/usr/bin/python3
if [ ! -x "$PY" ] || ! "$PY" -c 'import zeep, lxml' 2>/dev/null; then
    echo "SKIP: $PY with zeep and lxml (python3-zeep, python3-lxml) not available"
    exit 77
fi
SCH=$IT_DIR/schemas
if ! why=$(it_schemas "$SCH"); then
    echo "SKIP: $why"
    exit 77
fi
VEC=$(it_vectors_dir)
it_start_sim

run_zeep() {
    "$PY" "$(dirname "$0")/zeep_client.py" \
        --wsdl "$VEC/vtj/vtjkysely-xroad-SoSoAdapterService60.wsdl" \
        --url "https://127.0.0.1:$HTTPS_PORT/" --ca "$ENV/ca.pem" \
        --cert "$ENV/client.pem" --key "$ENV/client.key" --schemas "$SCH" \
        --username vayla-demo --password-file "$ENV/vtj-password" \
        >"$IT_DIR/zeep.out" 2>&1
}

for fault in none dvv_header; do
    it_fault "$fault"
    if run_zeep; then
        it_log "ok: zeep against vayla-sim ($fault)"
        sed 's/^/  /' "$IT_DIR/zeep.out"
    else
        it_fail "zeep against vayla-sim ($fault)"
        sed 's/^/  /' "$IT_DIR/zeep.out"
    fi
done
it_fault none

# The exchange is in the message log, and the request kept there is the
# one zeep sent: its SHA-512 is the requestHash of the logged answer.
n=$(curl -sS "http://127.0.0.1:$CONTROL_PORT/log" | grep -c '"outcome": "Paluukoodi 0000')
[ "$n" -ge 2 ] && it_log "ok: message log has the zeep exchanges" ||
    it_fail "message log has $n zeep exchanges"

it_finish
