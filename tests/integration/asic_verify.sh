#!/bin/bash
# Signed message log end to end: `vayla dev init` makes the simulator's
# signing PKI (CA, OCSP responder, TSA, member signing keys); a query goes
# through `vayla query person`; its request and response containers are
# downloaded with curl (client certificate) from the simulator's /asic,
# the trust material from /verificationconf, and `vayla verify` checks
# them. Then /asic's errors, single time-stamps, a simulator that logs
# bodies altered (message-body-logging=false: `message_body_not_logged`)
# and, when the tools are installed, an independent check of one
# container with xmlsec1 and openssl (xroad-protocol.md 12.8).
. "$(dirname "$0")/lib.sh"
it_init "$@"

it_asic_conf() { # KEY VALUE in sim.conf [asic]
    sed -i "s#^$1 = .*#$1 = $2#" "$ENV/sim.conf"
}

# asic_get NAME QUERY [curl options]: GET /asic?QUERY into $IT_DIR/NAME;
# sets CODE and CTYPE.
asic_get() {
    local name=$1 query=$2
    shift 2
    local out
    out=$(curl -sS --max-time 20 --cacert "$ENV/ca.pem" "$@" \
        -o "$IT_DIR/$name" -w '%{http_code} %{content_type}' \
        "https://127.0.0.1:$HTTPS_PORT/asic?$query")
    CODE=${out%% *}
    CTYPE=${out#* }
}

CLIENT_Q="xRoadInstance=FI-TEST&memberClass=MUN&memberCode=0101263-6&subsystemCode=vayla-demo"
CERT=(--cert "$ENV/client.pem" --key "$ENV/client.key")

[ -s "$ENV/asic/ca.pem" ] && [ -s "$ENV/asic/sign-FI-TEST_MUN_0101263-6.key" ] ||
    it_fail "dev init wrote no message-log PKI"
grep -q '^\[asic\]' "$ENV/sim.conf" || it_fail "sim.conf has no [asic]"

# A long batch interval: records wait until `force` (or a test says so).
it_asic_conf batch_interval_ms 600000
it_start_sim
it_query 150380-903V
it_expect "query" 0 '"outcome":"found"'
id=$(printf '%s' "$QOUT" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p')
[ -n "$id" ] || it_fail "no message id"

# Batch time-stamps: `force` stamps what is still waiting.
asic_get both.zip "queryId=$id&$CLIENT_Q&force" "${CERT[@]}"
[ "$CODE" = 200 ] && [ "$CTYPE" = application/zip ] ||
    it_fail "/asic: $CODE $CTYPE"
curl -sS --max-time 20 --cacert "$ENV/ca.pem" -o "$IT_DIR/vc.zip" \
    "https://127.0.0.1:$HTTPS_PORT/verificationconf" ||
    it_fail "/verificationconf"

"$VAYLA" verify --json --conf "$IT_DIR/vc.zip" "$IT_DIR/both.zip" \
    >"$IT_DIR/v.out" 2>"$IT_DIR/v.err"
rc=$?
[ "$rc" = 0 ] || it_fail "verify exit $rc: $(cat "$IT_DIR/v.out" "$IT_DIR/v.err")"
[ "$(grep -c '"valid":true' "$IT_DIR/v.out")" = 2 ] ||
    it_fail "two valid containers expected: $(cat "$IT_DIR/v.out")"
grep -q "\"message_type\":\"request\",\"message_id\":\"$id\"" "$IT_DIR/v.out" ||
    it_fail "request container not identified"
grep -q '"signer":"SUBSYSTEM:FI-TEST/GOV/0245437-2/VTJkysely"' \
    "$IT_DIR/v.out" || it_fail "response not signed by the provider"
grep -q "both.zip!$id-request-" "$IT_DIR/v.out" || it_fail "entry names"
[ "$rc" = 0 ] && it_log "ok: both containers of the query verify"

# One container with requestOnly&unique, and the configuration unzipped.
asic_get req.asice "queryId=$id&$CLIENT_Q&requestOnly&unique" "${CERT[@]}"
[ "$CODE" = 200 ] && [ "$CTYPE" = application/vnd.etsi.asic-e+zip ] ||
    it_fail "unique: $CODE $CTYPE"
mkdir -p "$IT_DIR/vcdir"
if command -v unzip >/dev/null 2>&1; then
    (cd "$IT_DIR/vcdir" && unzip -q ../vc.zip) || it_fail "unzip vc.zip"
    "$VAYLA" verify --conf "$IT_DIR/vcdir" "$IT_DIR/req.asice" \
        >"$IT_DIR/v2.out" 2>&1 || it_fail "verify with the folder: $(cat "$IT_DIR/v2.out")"
    grep -q ": valid request $id signed by SUBSYSTEM:FI-TEST/MUN/" \
        "$IT_DIR/v2.out" || it_fail "human output: $(cat "$IT_DIR/v2.out")"
fi

# /asic errors, as a security server gives them.
asic_get e1 "queryId=$id&xRoadInstance=FI-TEST&memberClass=MUN" "${CERT[@]}"
[ "$CODE" = 400 ] && grep -q 'Parameter "memberCode" must be specified' \
    "$IT_DIR/e1" || it_fail "missing parameter: $CODE"
asic_get e2 "queryId=$id&$CLIENT_Q&requestOnly&responseOnly" "${CERT[@]}"
[ "$CODE" = 400 ] || it_fail "requestOnly+responseOnly: $CODE"
asic_get e3 "queryId=$id&$CLIENT_Q&unique" "${CERT[@]}"
[ "$CODE" = 400 ] || it_fail "unique alone: $CODE"
asic_get e4 "queryId=$id&$CLIENT_Q"
[ "$CODE" = 401 ] || it_fail "no client certificate: $CODE"
asic_get e5 "queryId=no-such-id&$CLIENT_Q" "${CERT[@]}"
[ "$CODE" = 404 ] || it_fail "unknown query id: $CODE"
asic_get e6 "queryId=$id&xRoadInstance=FI-TEST&memberClass=MUN&memberCode=9" \
    "${CERT[@]}"
[ "$CODE" = 500 ] || it_fail "unregistered client: $CODE"
it_query 010100-999N
id2=$(printf '%s' "$QOUT" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p')
asic_get e7 "queryId=$id2&$CLIENT_Q" "${CERT[@]}"
[ "$CODE" = 500 ] && grep -q "not been timestamped yet" "$IT_DIR/e7" ||
    it_fail "not yet time-stamped: $CODE $(cat "$IT_DIR/e7")"
it_log "ok: /asic errors (400, 401, 404, 500)"

# Independent tools on the request container (xroad-protocol.md 12.8).
if command -v xmlsec1 >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1 &&
    command -v openssl >/dev/null 2>&1; then
    x="$IT_DIR/x"
    mkdir -p "$x" && (cd "$x" && unzip -q ../req.asice) || it_fail "unzip"
    sed -n 's/.*<ds:X509Certificate>\([^<]*\)<.*/\1/p' \
        "$x/META-INF/signatures.xml" | head -1 | base64 -d >"$x/signer.der"
    openssl x509 -inform DER -in "$x/signer.der" -out "$x/signer.pem" &&
        openssl x509 -in "$x/signer.pem" -pubkey -noout >"$x/signer.pub" ||
        it_fail "signer certificate"
    xmlsec1 --verify --pubkey-pem "$x/signer.pub" --id-attr:Id \
        SignedProperties --url-map:/message.xml "$x/message.xml" \
        --enabled-reference-uris same-doc,remote \
        "$x/META-INF/signatures.xml" >"$x/xmlsec.out" 2>&1 ||
        it_fail "xmlsec1 --verify: $(tail -3 "$x/xmlsec.out")"
    grep -q "SignedInfo References (ok/all): 2/2" "$x/xmlsec.out" ||
        it_fail "xmlsec1 did not check both references"
    openssl ts -verify -in "$x/META-INF/timestamp.tst" -token_in \
        -data "$x/ts-hashchainresult.xml" -CAfile "$ENV/asic/ca.pem" \
        -untrusted "$ENV/asic/tsa.pem" >"$x/ts.out" 2>&1 ||
        it_fail "openssl ts -verify: $(cat "$x/ts.out")"
    sed -n 's/.*<xades:EncapsulatedOCSPValue[^>]*>\([^<]*\)<.*/\1/p' \
        "$x/META-INF/signatures.xml" | base64 -d >"$x/ocsp.der"
    openssl ocsp -respin "$x/ocsp.der" -issuer "$ENV/asic/ca.pem" \
        -cert "$x/signer.pem" -CAfile "$ENV/asic/ca.pem" \
        -VAfile "$ENV/asic/ocsp.pem" -no_nonce >"$x/ocsp.out" 2>&1 ||
        it_fail "openssl ocsp: $(cat "$x/ocsp.out")"
    grep -q "signer.pem: good" "$x/ocsp.out" || it_fail "OCSP status"
    it_log "ok: xmlsec1, openssl ts and openssl ocsp agree"
else
    it_log "SKIP (part): xmlsec1, unzip or openssl missing; no independent check"
fi
it_stop_sim

# Single time-stamps: each container carries its own token.
it_asic_conf timestamping single
it_start_sim
it_query 150380-903V
id=$(printf '%s' "$QOUT" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p')
asic_get single.zip "queryId=$id&$CLIENT_Q" "${CERT[@]}"
[ "$CODE" = 200 ] || it_fail "single: /asic $CODE"
"$VAYLA" verify --conf "$IT_DIR/vc.zip" "$IT_DIR/single.zip" \
    >"$IT_DIR/v3.out" 2>&1 || it_fail "single: $(cat "$IT_DIR/v3.out")"
[ "$(grep -c ': valid ' "$IT_DIR/v3.out")" = 2 ] ||
    it_fail "single: $(cat "$IT_DIR/v3.out")"
it_stop_sim

# A security server that logs messages without their bodies.
it_asic_conf body_logging false
it_start_sim
it_query 150380-903V
id=$(printf '%s' "$QOUT" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p')
asic_get nobody.zip "queryId=$id&$CLIENT_Q" "${CERT[@]}"
[ "$CODE" = 200 ] || it_fail "body logging off: /asic $CODE"
"$VAYLA" verify --json --conf "$IT_DIR/vc.zip" "$IT_DIR/nobody.zip" \
    >"$IT_DIR/v4.out" 2>&1
rc=$?
[ "$rc" = 2 ] || it_fail "body logging off: exit $rc"
[ "$(grep -c '"code":"message_body_not_logged"' "$IT_DIR/v4.out")" = 2 ] ||
    it_fail "body logging off: $(cat "$IT_DIR/v4.out")"
grep -q 'message-body-logging' "$IT_DIR/v4.out" ||
    it_fail "the message does not say what to change"
[ "$rc" = 2 ] && it_log "ok: message_body_not_logged for altered bodies"

it_finish
