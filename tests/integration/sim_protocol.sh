#!/bin/bash
# vayla-sim on its own, driven with curl: the X-Road checks and their
# fault codes and texts, a Fault sent as a request, requestHash placement
# (also when the request declares the X-Road namespace on id), IS
# authentication, VTJ business errors, hostile HTTP input, the control
# endpoint, wire-level faults and the message log.
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need xmllint openssl
it_start_sim

TLS=(--cacert "$ENV/ca.pem" --cert "$ENV/client.pem" --key "$ENV/client.key")
URL="https://127.0.0.1:$HTTPS_PORT/"

# post NAME FILE EXPECT... [-- curl options]: POST and grep the answer.
# CT and SA override the Content-Type and SOAPAction header lines.
post() {
    local name=$1 file=$2 ok=1 out
    shift 2
    local expects=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        expects+=("$1")
        shift
    done
    [ "${1:-}" = "--" ] && shift
    out=$(curl -sS --max-time 30 "${TLS[@]}" \
        -H "${CT-Content-Type: text/xml; charset=UTF-8}" \
        -H "${SA-SOAPAction: \"\"}" \
        --data-binary @"$file" "$@" "https://127.0.0.1:$HTTPS_PORT/" 2>&1)
    for p in "${expects[@]}"; do
        if ! printf '%s' "$out" | grep -qF -- "$p"; then
            ok=0
            it_fail "$name: answer lacks $p"
        fi
    done
    if [ "$ok" = 1 ]; then
        it_log "ok: $name"
    else
        printf '  answer: %s\n' "$(printf '%s' "$out" | head -c 800)"
    fi
}

# --- a good exchange, byte-level checks
it_req "$IT_DIR/ok.xml"
hash=$(openssl dgst -sha512 -binary "$IT_DIR/ok.xml" | base64 -w0)
post "valid request" "$IT_DIR/ok.xml" \
    "<xrd:requestHash algorithmId=\"http://www.w3.org/2001/04/xmlenc#sha512\">$hash</xrd:requestHash>" \
    '<Paluukoodi koodi="0000">' '<Salasana/>' 'HenkilonTunnusKyselyResponse'
out=$(curl -sS "${TLS[@]}" -H 'Content-Type: text/xml' \
    --data-binary @"$IT_DIR/ok.xml" "$URL")
# requestHash directly after id, header otherwise as sent, in order.
printf '%s\n' "$out" | sed -n '/<SOAP-ENV:Header>/,/<\/SOAP-ENV:Header>/p' |
    grep -v requestHash >"$IT_DIR/resp-header"
sed -n '/<SOAP-ENV:Header>/,/<\/SOAP-ENV:Header>/p' "$IT_DIR/ok.xml" |
    sed 's#<xrd:issue></xrd:issue>#<xrd:issue/>#' >"$IT_DIR/req-header"
if diff -u "$IT_DIR/req-header" "$IT_DIR/resp-header"; then
    it_log "ok: header echoed in order"
else
    it_fail "header echo differs"
fi
printf '%s\n' "$out" | grep -A1 '<xrd:id>' | grep -q requestHash ||
    it_fail "requestHash is not right after id"

# keep-alive: the second exchange reuses the connection.
conns=$(curl -sS "${TLS[@]}" -H 'Content-Type: text/xml' \
    --data-binary @"$IT_DIR/ok.xml" -o /dev/null -o /dev/null \
    -w '%{http_code}:%{num_connects} ' "$URL" "$URL")
[ "$conns" = "200:1 200:0 " ] && it_log "ok: keep-alive" ||
    it_fail "keep-alive: $conns"
# Expect: 100-continue is honoured (no one-second stall in clients).
curl -sS -v "${TLS[@]}" -H 'Content-Type: text/xml' -H 'Expect: 100-continue' \
    --data-binary @"$IT_DIR/ok.xml" -o /dev/null "$URL" 2>&1 |
    grep -q '^< HTTP/1.1 100 Continue' && it_log "ok: 100-continue" ||
    it_fail "no 100 Continue"

# --- the client security server's checks
post "GET" "$IT_DIR/ok.xml" '<faultcode>Client.InvalidHttpMethod</faultcode>' -- -X GET
CT='Content-Type:' post "no Content-Type" "$IT_DIR/ok.xml" \
    '<faultcode>Client.InvalidRequest</faultcode>'
CT='Content-Type: application/json' post "JSON Content-Type" "$IT_DIR/ok.xml" \
    '<faultcode>Client.InvalidContentType</faultcode>'
SA='SOAPAction: urn:foo' post "unquoted SOAPAction" "$IT_DIR/ok.xml" \
    '<faultcode>Client.InvalidSoapAction</faultcode>'
SA='SOAPAction: "urn:foo"' post "quoted SOAPAction" "$IT_DIR/ok.xml" \
    '<Paluukoodi koodi="0000">'
SA='SOAPAction:' post "no SOAPAction" "$IT_DIR/ok.xml" \
    '<Paluukoodi koodi="0000">'
it_req "$IT_DIR/r.xml" '/<SOAP-ENV:Header>/,/<\/SOAP-ENV:Header>/d'
post "no header" "$IT_DIR/r.xml" 'Client.MissingHeader'
it_req "$IT_DIR/r.xml" 's#<xrd:protocolVersion>4.0#<xrd:protocolVersion>3.5#'
post "protocol 3.5" "$IT_DIR/r.xml" 'Client.InvalidProtocolVersion'
it_req "$IT_DIR/r.xml" '/<xrd:id>/d'
post "no id" "$IT_DIR/r.xml" 'Client.MissingHeaderField'
it_req "$IT_DIR/r.xml" 's#<xrd:userId>#<xrd:userId>a</xrd:userId><xrd:userId>#'
post "duplicate userId" "$IT_DIR/r.xml" 'Client.DuplicateHeaderField'
it_req "$IT_DIR/r.xml" 's#id:objectType="SUBSYSTEM"##'
post "missing objectType" "$IT_DIR/r.xml" 'Client.InvalidXml'
it_req "$IT_DIR/r.xml" 's#vtj:HenkilonTunnusKysely>#vtj:Muu>#g'
post "wrapper vs serviceCode" "$IT_DIR/r.xml" 'Client.InconsistentHeaders'
it_req "$IT_DIR/r.xml" 's#</SOAP-ENV:Body>#<vtj:Extra/></SOAP-ENV:Body>#'
post "two body children" "$IT_DIR/r.xml" 'Client.InvalidBody'
it_req "$IT_DIR/r.xml" '1a <!DOCTYPE x [<!ENTITY e "e">]>'
post "DTD" "$IT_DIR/r.xml" 'Client.InvalidSoap'
printf 'not xml' >"$IT_DIR/r.xml"
post "not XML" "$IT_DIR/r.xml" 'Client.InvalidSoap'

# X-Road's faultstrings, with the field or value filled in.
it_req "$IT_DIR/r.xml" '/<xrd:id>/d'
post "text: missing id" "$IT_DIR/r.xml" \
    "<faultstring>Required field 'id' is missing</faultstring>"
it_req "$IT_DIR/r.xml" 's#<xrd:protocolVersion>4.0#<xrd:protocolVersion>3.5#'
post "text: protocol 3.5" "$IT_DIR/r.xml" \
    '<faultstring>Invalid protocol version (supported: 4.x, provided: 3.5)</faultstring>'
it_req "$IT_DIR/r.xml" 's#<xrd:userId>#<xrd:userId>a</xrd:userId><xrd:userId>#'
post "text: duplicate userId" "$IT_DIR/r.xml" \
    "<faultstring>SOAP header contains duplicate field '{http://x-road.eu/xsd/xroad.xsd}userId'</faultstring>"
CT='Content-Type: application/json' post "text: content type" "$IT_DIR/ok.xml" \
    '<faultstring>Invalid content type: application/json</faultstring>'
it_req "$IT_DIR/r.xml" '/<SOAP-ENV:Header>/,/<\/SOAP-ENV:Header>/d'
post "text: no header" "$IT_DIR/r.xml" \
    '<faultstring>Malformed SOAP message: header missing</faultstring>'

# A SOAP Fault sent as a request: X-Road answers with the fault's own
# code behind "Client." and its string, actor and detail.
cat >"$IT_DIR/fault.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xroad="http://x-road.eu/xsd/xroad.xsd">
  <SOAP-ENV:Body>
    <SOAP-ENV:Fault>
      <faultcode>CODE</faultcode>
      <faultstring>STRING</faultstring>
      <faultactor>ACTOR</faultactor>
      <detail><xroad:faultDetail>DETAIL</xroad:faultDetail></detail>
    </SOAP-ENV:Fault>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
XML
post "fault as a request" "$IT_DIR/fault.xml" \
    '<faultcode>Client.CODE</faultcode>' '<faultstring>STRING</faultstring>' \
    '<faultactor>ACTOR</faultactor>' '<faultDetail>DETAIL</faultDetail>'

# requestHash when the request declares the X-Road namespace on id itself
# (zeep and other SOAP stacks) or makes it id's default namespace: the
# answer is well-formed, requestHash is in the X-Road namespace right after
# id, its value is right, and vayla's judge agrees.
ns_case() {
    local name=$1 expr=$2 hash got
    it_req "$IT_DIR/ns.xml" "$expr"
    hash=$(openssl dgst -sha512 -binary "$IT_DIR/ns.xml" | base64 -w0)
    it_soap "$IT_DIR/ns.xml" "$IT_DIR/ns-answer.xml" >/dev/null
    # xmllint exits 0 on a namespace error, but says so on stderr.
    if ! xmllint --noout "$IT_DIR/ns-answer.xml" 2>"$IT_DIR/xmllint.err" ||
        [ -s "$IT_DIR/xmllint.err" ]; then
        it_fail "$name: answer not well-formed: $(head -c 300 "$IT_DIR/xmllint.err")"
        return
    fi
    got=$(xmllint --xpath 'string(//*[local-name()="id"][namespace-uri()="http://x-road.eu/xsd/xroad.xsd"]/following-sibling::*[1][local-name()="requestHash"][namespace-uri()="http://x-road.eu/xsd/xroad.xsd"])' \
        "$IT_DIR/ns-answer.xml")
    [ "$got" = "$hash" ] || {
        it_fail "$name: requestHash after id is '$got', expected $hash"
        return
    }
    if "$VAYLA" check-response --request "$IT_DIR/ns.xml" \
        --response "$IT_DIR/ns-answer.xml" | grep -q '"status":"ok"'; then
        it_log "ok: $name"
    else
        it_fail "$name: vayla check-response refuses the answer"
    fi
}
ns_case "requestHash, prefix declared on id" \
    's#<xrd:id>\([^<]*\)</xrd:id>#<ns0:id xmlns:ns0="http://x-road.eu/xsd/xroad.xsd">\1</ns0:id>#'
ns_case "requestHash, default namespace on id" \
    's#<xrd:id>\([^<]*\)</xrd:id>#<id xmlns="http://x-road.eu/xsd/xroad.xsd">\1</id>#'

# --- registration, IS authentication, access rights
it_req "$IT_DIR/r.xml" 's#>vayla-demo</id:subsystemCode>#>stranger</id:subsystemCode>#'
post "unknown client" "$IT_DIR/r.xml" 'Server.ClientProxy.UnknownMember'
it_req "$IT_DIR/r.xml" 's#>HenkilonTunnusKysely</id:serviceCode>#>HenkilonTunnusKyselyX</id:serviceCode>#' \
    's#vtj:HenkilonTunnusKysely>#vtj:HenkilonTunnusKyselyX>#g'
post "unknown service" "$IT_DIR/r.xml" 'Server.ServerProxy.UnknownService'
it_req "$IT_DIR/r.xml" 's#>0245437-2<#>1234567-8<#'
post "unknown provider" "$IT_DIR/r.xml" 'Server.ClientProxy.UnknownMember'
out=$(curl -sS --max-time 30 --cacert "$ENV/ca.pem" -H 'Content-Type: text/xml' \
    --data-binary @"$IT_DIR/ok.xml" "$URL")
printf '%s' "$out" | grep -q 'Server.ClientProxy.SslAuthenticationFailed.*did not supply TLS certificate' &&
    it_log "ok: SSLAUTH without certificate" ||
    it_fail "SSLAUTH without certificate: $out"
out=$(curl -sS --max-time 30 -H 'Content-Type: text/xml' \
    --data-binary @"$IT_DIR/ok.xml" "http://127.0.0.1:$HTTP_PORT/")
printf '%s' "$out" | grep -q 'SslAuthenticationFailed.*plaintext' &&
    it_log "ok: SSLAUTH over plain HTTP" ||
    it_fail "SSLAUTH over plain HTTP: $out"

# --- VTJ business answers
it_req "$IT_DIR/r.xml" 's#<vtj:Salasana>[^<]*<#<vtj:Salasana>wrong<#'
post "wrong VTJ password" "$IT_DIR/r.xml" '<faultCode>-1500</faultCode>'
it_req "$IT_DIR/r.xml" '/Loppukayttaja/d'
post "missing Loppukayttaja" "$IT_DIR/r.xml" '<faultCode>-1904</faultCode>'
it_req "$IT_DIR/r.xml" 's#150380-903V#150380-903X#'
post "invalid hetu" "$IT_DIR/r.xml" '<Paluukoodi koodi="0005">'
it_req "$IT_DIR/r.xml" 's#150380-903V#010100-999N#'
post "not found" "$IT_DIR/r.xml" '<faultCode>0001</faultCode>'
it_req "$IT_DIR/r.xml" 's#PERUSSANOMA 3#EI TUOTE#'
post "unknown product" "$IT_DIR/r.xml" '<faultCode>-1901</faultCode>'
it_req "$IT_DIR/r.xml" 's#150380-903V#111070-905D#'
post "passivated" "$IT_DIR/r.xml" '<Paluukoodi koodi="0002">' \
    '<Henkilotunnus voimassaolokoodi="1">111070-917T</Henkilotunnus>'

# --- hostile HTTP input; the simulator must survive all of it
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "${TLS[@]}" \
    -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL")
[ "$code" = 431 ] && it_log "ok: 20 kB header -> 431" || it_fail "big header: $code"
hdrs=()
for i in $(seq 1 80); do hdrs+=(-H "X-H$i: v"); done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "${TLS[@]}" "${hdrs[@]}" "$URL")
[ "$code" = 431 ] && it_log "ok: 80 headers -> 431" || it_fail "80 headers: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "${TLS[@]}" \
    -H 'Content-Length: 999999999' -H 'Content-Type: text/xml' -X POST "$URL")
[ "$code" = 413 ] && it_log "ok: huge Content-Length -> 413" || it_fail "huge body: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "${TLS[@]}" \
    -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/xml' \
    --data-binary @"$IT_DIR/ok.xml" "$URL")
[ "$code" = 501 ] && it_log "ok: chunked -> 501" || it_fail "chunked: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
    -H 'Content-Length: -5' -X POST "http://127.0.0.1:$HTTP_PORT/")
[ "$code" = 400 ] && it_log "ok: negative Content-Length -> 400" || it_fail "negative CL: $code"
head -c 65536 /dev/urandom >"$IT_DIR/noise"
curl -s -o /dev/null --max-time 10 --data-binary @"$IT_DIR/noise" \
    -H 'Content-Type: text/xml' "http://127.0.0.1:$HTTP_PORT/" || true
curl -s -o /dev/null --max-time 10 "telnet://127.0.0.1:$HTTP_PORT" \
    <"$IT_DIR/noise" || true
post "still alive after hostile input" "$IT_DIR/ok.xml" '<Paluukoodi koodi="0000">'

# --- control endpoint and wire-level faults seen with curl
ctl="http://127.0.0.1:$CONTROL_PORT"
[ "$(curl -sS "$ctl/fault")" = none ] && it_log "ok: GET /fault" || it_fail "GET /fault"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data nonsense "$ctl/fault")
[ "$code" = 400 ] && it_log "ok: PUT bad fault -> 400" || it_fail "PUT nonsense: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data latency:x "$ctl/fault")
[ "$code" = 400 ] && it_log "ok: PUT latency:x -> 400" || it_fail "PUT latency:x: $code"

it_fault oversize
size=$(curl -sS -o "$IT_DIR/big" -w '%{size_download}' --max-time 120 \
    "${TLS[@]}" -H 'Content-Type: text/xml' --data-binary @"$IT_DIR/ok.xml" "$URL")
if [ "$size" -gt 33554432 ] && tail -n 1 "$IT_DIR/big" | grep -q '</SOAP-ENV:Envelope>'; then
    it_log "ok: oversize streams $size bytes, ends like an envelope"
else
    it_fail "oversize: $size bytes"
fi
rm -f "$IT_DIR/big"

# DVV's header: WSDL order, declarations on every element, "4.0\n".
it_fault dvv_header
it_soap "$IT_DIR/ok.xml" "$IT_DIR/dvv.xml" >/dev/null
order=$(grep -o '<h:[A-Za-z]* ' "$IT_DIR/dvv.xml" | tr -d '<: ' | tr '\n' ' ')
[ "$order" = "hclient hid hrequestHash hissue hprotocolVersion hservice huserId " ] &&
    it_log "ok: dvv_header order" || it_fail "dvv_header order: $order"
grep -q '^    <h:protocolVersion xmlns:h="http://x-road.eu/xsd/xroad.xsd">4.0$' \
    "$IT_DIR/dvv.xml" && it_log "ok: dvv_header protocolVersion 4.0 + newline" ||
    it_fail "dvv_header protocolVersion: $(grep -A1 protocolVersion "$IT_DIR/dvv.xml")"

# Another HTTP status with a valid answer; HTTP 500 with a non-XML body.
it_fault http_status:203
code=$(it_soap "$IT_DIR/ok.xml" "$IT_DIR/s.xml")
[ "$code" = 203 ] && grep -q '<Paluukoodi koodi="0000">' "$IT_DIR/s.xml" &&
    it_log "ok: http_status:203 with a valid answer" ||
    it_fail "http_status:203: HTTP $code"
it_fault http500_garbage
code=$(it_soap "$IT_DIR/ok.xml" "$IT_DIR/s.xml")
if [ "$code" = 500 ] && ! xmllint --noout "$IT_DIR/s.xml" 2>/dev/null; then
    it_log "ok: http500_garbage"
else
    it_fail "http500_garbage: HTTP $code, body $(head -c 200 "$IT_DIR/s.xml")"
fi

it_fault slow_drip
size=$(curl -s -o /dev/null -w '%{size_download}' --max-time 2 "${TLS[@]}" \
    -H 'Content-Type: text/xml' --data-binary @"$IT_DIR/ok.xml" "$URL")
if [ "$size" -gt 0 ] && [ "$size" -lt 2000 ]; then
    it_log "ok: slow_drip sent $size bytes in 2 s"
else
    it_fail "slow_drip: $size bytes in 2 s"
fi
it_fault none

# --- message log: by id, with sanitised file names
it_req "$IT_DIR/r.xml" 's#<xrd:id>[^<]*<#<xrd:id>../../evil id/x<#'
post "odd message id" "$IT_DIR/r.xml" '<Paluukoodi koodi="0000">'
if ls "$ENV/messagelog" | grep -q '^_\._\.\._evil_id_x-[0-9a-f]\{8\}\.request\.xml$' &&
    [ ! -e "$ENV/evil id" ] && [ ! -e "$IT_DIR/evil id" ]; then
    it_log "ok: message log file name sanitised"
else
    it_fail "message log names: $(ls "$ENV/messagelog" | head -5)"
fi
curl -sS "$ctl/log/..%2F..%2Fevil%20id%2Fx" | grep -q '"outcome": "Paluukoodi 0000"' &&
    it_log "ok: GET /log/<id>" || it_fail "GET /log/<id>"
curl -sS "$ctl/log/..%2F..%2Fevil%20id%2Fx/request" | grep -q 'evil id' &&
    it_log "ok: GET /log/<id>/request" || it_fail "GET /log/<id>/request"
code=$(curl -s -o /dev/null -w '%{http_code}' "$ctl/log/no-such-id")
[ "$code" = 404 ] && it_log "ok: unknown id -> 404" || it_fail "unknown id: $code"
curl -sS "$ctl/log" | grep -q '"injected oversize' &&
    it_log "ok: GET /log lists injected faults" || it_fail "GET /log"

# --- 7.8 snake_case codes
it_stop_sim
it_start_sim --style snake
post "snake_case codes" "$IT_DIR/ok.xml" '<faultcode>client.invalid_http_method</faultcode>' -- -X GET
post "snake_case fault as a request" "$IT_DIR/fault.xml" \
    '<faultcode>client.CODE</faultcode>'


it_finish
