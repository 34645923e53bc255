#!/usr/bin/env bash
# The simulator's metaservices, echo service and operational monitoring,
# straight over HTTP(S) with curl (docs/simulator.md): listClients (XML,
# JSON, by instance), listMethods / allowedMethods per client and access
# list, getWsdl (multipart, the endpoint address replaced), the echo
# service (plain, SwA, MTOM, a requested fault, no access right), and
# getSecurityServerOperationalData (visibility of client / provider /
# owner, outputSpec, refusals, records held back by the offset, paging).
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need /usr/bin/python3 xmllint
READ="/usr/bin/python3 $(dirname "$0")/opmon_read.py"

DEMO=SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo
# Two more clients of the security server on plain HTTP: another
# subsystem with an access right to echo, and the owner member.
cat >>"$ENV/sim.conf" <<'EOF'

[client.other]
id = SUBSYSTEM:FI-TEST/MUN/0101263-6/other
connection = NOSSL

[client.owner]
id = MEMBER:FI-TEST/MUN/0101263-6
connection = NOSSL
EOF
sed -i '/^\[service.echo\]/a allow = SUBSYSTEM:FI-TEST/MUN/0101263-6/other' \
    "$ENV/sim.conf"
it_start_sim

# id_xml TAG TYPE INST CLASS CODE [SUB] [SERVICE] [VERSION]
id_xml() {
    local tag=$1 type=$2
    printf '<xrd:%s id:objectType="%s"><id:xRoadInstance>%s</id:xRoadInstance><id:memberClass>%s</id:memberClass><id:memberCode>%s</id:memberCode>' \
        "$tag" "$type" "$3" "$4" "$5"
    [ -n "${6:-}" ] && printf '<id:subsystemCode>%s</id:subsystemCode>' "$6"
    [ -n "${7:-}" ] && printf '<id:serviceCode>%s</id:serviceCode>' "$7"
    [ -n "${8:-}" ] && printf '<id:serviceVersion>%s</id:serviceVersion>' "$8"
    printf '</xrd:%s>' "$tag"
}
demo_xml() { id_xml client SUBSYSTEM FI-TEST MUN 0101263-6 vayla-demo; }
other_xml() { id_xml client SUBSYSTEM FI-TEST MUN 0101263-6 other; }
owner_xml() { id_xml client MEMBER FI-TEST MUN 0101263-6; }
echo_svc() { id_xml service SERVICE FI-TEST GOV 0245437-2 vayla-echo "$1" "${2:-}"; }
opmon_svc() { id_xml service SERVICE FI-TEST MUN 0101263-6 "" \
    getSecurityServerOperationalData; }
SS_XML='<xrd:securityServer id:objectType="SERVER"><id:xRoadInstance>FI-TEST</id:xRoadInstance><id:memberClass>MUN</id:memberClass><id:memberCode>0101263-6</id:memberCode><id:serverCode>vayla-sim</id:serverCode></xrd:securityServer>'

# envelope FILE CLIENT_XML SERVICE_XML ID BODY [EXTRA_HEADER]
envelope() {
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers"><SOAP-ENV:Header>%s%s<xrd:id>%s</xrd:id><xrd:userId>it-user</xrd:userId><xrd:issue>it</xrd:issue><xrd:protocolVersion>4.0</xrd:protocolVersion>%s</SOAP-ENV:Header><SOAP-ENV:Body>%s</SOAP-ENV:Body></SOAP-ENV:Envelope>' \
        "$2" "$3" "$4" "${6:-}" "$5" >"$1"
}

# post_https FILE [content-type]: as the demo client (certificate);
# post_http FILE [content-type]: NOSSL clients. The answer in $IT_DIR/ans,
# its Content-Type in $CT, the HTTP status in $ST.
post_https() {
    ST=$(curl -sS --max-time 30 --cacert "$ENV/ca.pem" --cert "$ENV/client.pem" \
        --key "$ENV/client.key" -H "Content-Type: ${2:-text/xml; charset=UTF-8}" \
        --data-binary @"$1" -o "$IT_DIR/ans" -D "$IT_DIR/hdr" -w '%{http_code}' \
        "https://127.0.0.1:$HTTPS_PORT/")
    CT=$(sed -n 's/^[Cc]ontent-[Tt]ype: //p' "$IT_DIR/hdr" | tr -d '\r')
}
post_http() {
    ST=$(curl -sS --max-time 30 -H "Content-Type: ${2:-text/xml; charset=UTF-8}" \
        --data-binary @"$1" -o "$IT_DIR/ans" -D "$IT_DIR/hdr" -w '%{http_code}' \
        "http://127.0.0.1:$HTTP_PORT/")
    CT=$(sed -n 's/^[Cc]ontent-[Tt]ype: //p' "$IT_DIR/hdr" | tr -d '\r')
}
has() { grep -qF -- "$2" "$IT_DIR/ans" && it_log "ok: $1" || it_fail "$1: answer lacks $2: $(head -c 500 "$IT_DIR/ans")"; }
hasnt() { grep -qF -- "$2" "$IT_DIR/ans" && it_fail "$1: answer has $2" || it_log "ok: $1"; }
SENT_DEMO=""

# ---- listClients ----------------------------------------------------------
get() {
    curl -sS --max-time 30 --cacert "$ENV/ca.pem" -o "$IT_DIR/ans" \
        -D "$IT_DIR/hdr" "$@"
    CT=$(sed -n 's/^[Cc]ontent-[Tt]ype: //p' "$IT_DIR/hdr" | tr -d '\r')
}
get "https://127.0.0.1:$HTTPS_PORT/listClients"
n=$(xmllint --xpath 'count(//*[local-name()="member"])' "$IT_DIR/ans" 2>/dev/null)
# Five from dev init's sim.conf, and the subsystem `other` added above.
[ "$n" = 6 ] && [ "${CT%%;*}" = text/xml ] && it_log "ok: listClients XML, 6 clients" ||
    it_fail "listClients XML: $n members, $CT"
has "listClients names" "<ns2:name>Digi- ja väestötietovirasto</ns2:name>"
has "listClients subsystem names" "<ns2:subsystemName>Echo service (vayla-sim)</ns2:subsystemName>"
get -H 'Accept: application/json;q=0.1, text/xml' "https://127.0.0.1:$HTTPS_PORT/listClients?xRoadInstance=FI-TEST"
n=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["member"]))' "$IT_DIR/ans")
[ "$n" = 6 ] && [ "${CT%%;*}" = application/json ] && it_log "ok: listClients JSON (q-values ignored)" ||
    it_fail "listClients JSON: $n, $CT"
has "listClients JSON is snake_case" '"subsystem_code":"vayla-echo","object_type":"SUBSYSTEM","xroad_instance":"FI-TEST"},"name":'
get -H 'Accept: application/json' "https://127.0.0.1:$HTTPS_PORT/listClients?xRoadInstance=EE"
[ "$(cat "$IT_DIR/ans")" = '{"member":[]}' ] && it_log "ok: another instance has no clients" ||
    it_fail "listClients EE: $(cat "$IT_DIR/ans")"
get "https://127.0.0.1:$HTTPS_PORT/listClients?other=1"
has "listClients with an unknown parameter" "Client.InvalidRequest"

# ---- listMethods / allowedMethods / getWsdl -----------------------------------
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc listMethods)" lm-1 '<xrd:listMethods/>'
post_https "$IT_DIR/r"; st=$ST; SENT_DEMO="$SENT_DEMO lm-1"
n=$(xmllint --xpath 'count(//*[local-name()="listMethodsResponse"]/*[local-name()="service"])' "$IT_DIR/ans" 2>/dev/null)
[ "$st" = 200 ] && [ "$n" = 2 ] && it_log "ok: listMethods lists echo and echoAdmin" ||
    it_fail "listMethods: $st, $n services: $(head -c 400 "$IT_DIR/ans")"
has "listMethods echoes the header with requestHash" "<xrd:requestHash"
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc allowedMethods)" am-1 '<xrd:allowedMethods/>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO am-1"
n=$(xmllint --xpath 'count(//*[local-name()="service"]/*[local-name()="serviceCode"][.="echo"])' "$IT_DIR/ans" 2>/dev/null)
m=$(xmllint --xpath 'count(//*[local-name()="allowedMethodsResponse"]/*)' "$IT_DIR/ans" 2>/dev/null)
[ "$n" = 1 ] && [ "$m" = 1 ] && it_log "ok: allowedMethods for the demo client: echo only" ||
    it_fail "allowedMethods demo: $n/$m"
envelope "$IT_DIR/r" "$(owner_xml)" "$(echo_svc allowedMethods)" am-2 '<xrd:allowedMethods/>'
post_http "$IT_DIR/r"
has "allowedMethods for a client without rights is empty" "<xrd:allowedMethodsResponse/>"
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc listMethods)" lm-2 '<xrd:listMethods><xrd:x/></xrd:listMethods>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO lm-2"
has "listMethods with content is refused" "<faultcode>Client.InvalidRequest</faultcode>"
envelope "$IT_DIR/r" "$(demo_xml)" "$(id_xml service SERVICE FI-TEST GOV 9999999-9 nobody listMethods)" lm-3 '<xrd:listMethods/>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO lm-3"
has "a metaservice of an unknown provider" "<faultcode>Server.ClientProxy.UnknownMember</faultcode>"

envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc getWsdl)" gw-1 '<xrd:getWsdl><xrd:serviceCode>echo</xrd:serviceCode><xrd:serviceVersion>v1</xrd:serviceVersion></xrd:getWsdl>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO gw-1"
/usr/bin/python3 - "$CT" "$IT_DIR/ans" "$IT_DIR/wsdl" <<'PY' && it_log "ok: getWsdl is multipart with the WSDL attachment" || it_fail "getWsdl multipart"
import email.parser, email.policy, sys
ct, path, out = sys.argv[1:4]
msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
    b"Content-Type: " + ct.encode() + b"\r\n\r\n" + open(path, "rb").read())
parts = list(msg.iter_parts())
assert msg.get_content_type() == "multipart/related", ct
assert len(parts) == 2, len(parts)
soap = parts[0].get_payload(decode=True).decode()
assert "<xrd:getWsdlResponse" in soap and "<xrd:serviceVersion>v1" in soap, soap
assert parts[1].get_content_type() == "text/xml"
open(out, "wb").write(parts[1].get_payload(decode=True))
PY
if xmllint --noout "$IT_DIR/wsdl" 2>/dev/null &&
    grep -q 'location="http://example.org/xroad-endpoint"' "$IT_DIR/wsdl" &&
    ! grep -q '10.20.30.40' "$IT_DIR/wsdl"; then
    it_log "ok: the WSDL's soap:address is replaced as X-Road does"
else
    it_fail "the WSDL: $(head -c 600 "$IT_DIR/wsdl")"
fi
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc getWsdl)" gw-2 '<xrd:getWsdl><xrd:serviceCode>echo</xrd:serviceCode></xrd:getWsdl>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO gw-2"
has "getWsdl of a version that does not exist" "<faultcode>Server.ServerProxy.UnknownService</faultcode>"
envelope "$IT_DIR/r" "$(demo_xml)" "$(id_xml service SERVICE FI-TEST GOV 0245437-2 VTJkysely getWsdl)" gw-3 '<xrd:getWsdl><xrd:serviceCode>HenkilonTunnusKysely</xrd:serviceCode><xrd:serviceVersion>v1</xrd:serviceVersion></xrd:getWsdl>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO gw-3"
has "getWsdl of the VTJ service" 'name="HenkilonTunnusKysely"'

# ---- the echo service ---------------------------------------------------------
BODY='<e:echo xmlns:e="urn:vayla:echo:1" e:mode="test"><e:text>hello &amp; welcome</e:text><e:n>42</e:n></e:echo>'
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc echo v1)" echo-1 "$BODY"
post_https "$IT_DIR/r"; st=$ST; SENT_DEMO="$SENT_DEMO echo-1"
[ "$st" = 200 ] && it_log "ok: echo answered" || it_fail "echo: HTTP $st"
has "echo returns the payload as echoResponse" '<e:echoResponse xmlns:e="urn:vayla:echo:1" e:mode="test">'
has "echo keeps the children" '<e:text>hello &amp; welcome</e:text>'

envelope "$IT_DIR/r" "$(other_xml)" "$(echo_svc echo v1)" echo-other "$BODY"
post_http "$IT_DIR/r"
has "another client with an access right" "echoResponse"
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc echoAdmin v1)" echo-admin '<e:echoAdmin xmlns:e="urn:vayla:echo:1"/>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO echo-admin"
has "echoAdmin without an access right" "<faultcode>Server.ServerProxy.AccessDenied</faultcode>"
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc echo v1)" echo-fault '<e:echo xmlns:e="urn:vayla:echo:1"><e:fault string="refused on request">Echo.Refused</e:fault></e:echo>'
post_https "$IT_DIR/r"; SENT_DEMO="$SENT_DEMO echo-fault"
has "a requested fault: the code as given" "<faultcode>Echo.Refused</faultcode>"
has "a requested fault: the string" "<faultstring>refused on request</faultstring>"

# SwA and MTOM: every attachment comes back byte for byte.
/usr/bin/python3 - "$IT_DIR" <<'PY'
import sys
d = sys.argv[1]
soap = open(d + "/r", "rb").read()  # the last envelope: replaced below
bin_data = bytes(range(256)) * 3 + b"\r\n--not-a-boundary\r\n"
open(d + "/att.bin", "wb").write(bin_data)
PY
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc echo v1)" echo-swa '<e:echo xmlns:e="urn:vayla:echo:1"><e:doc href="cid:one@it"/></e:echo>'
{
    printf -- '--b1\r\nContent-Type: text/xml; charset=UTF-8\r\n\r\n'
    cat "$IT_DIR/r"
    printf -- '\r\n--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-ID: <one@it>\r\n\r\nfirst attachment'
    printf -- '\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-ID: <two@it>\r\nContent-Transfer-Encoding: binary\r\n\r\n'
    cat "$IT_DIR/att.bin"
    printf -- '\r\n--b1--\r\n'
} >"$IT_DIR/swa"
post_https "$IT_DIR/swa" 'multipart/related; type="text/xml"; boundary=b1'
SENT_DEMO="$SENT_DEMO echo-swa"
/usr/bin/python3 - "$CT" "$IT_DIR/ans" "$IT_DIR/att.bin" swa <<'PY' && it_log "ok: SwA attachments echoed" || it_fail "SwA echo: $CT"
import email.parser, email.policy, sys
ct, path, binf, mode = sys.argv[1:5]
msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
    b"Content-Type: " + ct.encode() + b"\r\n\r\n" + open(path, "rb").read())
parts = list(msg.iter_parts())
assert len(parts) == 3, len(parts)
soap = parts[0].get_payload(decode=True).decode()
assert "echoResponse" in soap and "cid:one@it" in soap, soap
assert parts[1]["Content-ID"] == "<one@it>" and parts[1].get_payload(decode=True) == b"first attachment"
assert parts[2]["Content-ID"] == "<two@it>" and parts[2].get_payload(decode=True) == open(binf, "rb").read()
if mode == "mtom":
    assert "application/xop+xml" in ct and parts[0].get_content_type() == "application/xop+xml"
PY
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc echo v1)" echo-mtom '<e:echo xmlns:e="urn:vayla:echo:1"><e:doc><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:one@it"/></e:doc></e:echo>'
{
    printf -- '--b2\r\nContent-Type: application/xop+xml; charset=UTF-8; type="text/xml"\r\n\r\n'
    cat "$IT_DIR/r"
    printf -- '\r\n--b2\r\nContent-Type: text/plain\r\nContent-ID: <one@it>\r\n\r\nfirst attachment'
    printf -- '\r\n--b2\r\nContent-Type: application/octet-stream\r\nContent-ID: <two@it>\r\n\r\n'
    cat "$IT_DIR/att.bin"
    printf -- '\r\n--b2--\r\n'
} >"$IT_DIR/mtom"
post_https "$IT_DIR/mtom" 'multipart/related; type="application/xop+xml"; start-info="text/xml"; boundary=b2'
SENT_DEMO="$SENT_DEMO echo-mtom"
/usr/bin/python3 - "$CT" "$IT_DIR/ans" "$IT_DIR/att.bin" mtom <<'PY' && it_log "ok: MTOM attachments echoed as MTOM" || it_fail "MTOM echo: $CT"
import email.parser, email.policy, sys
ct, path, binf, mode = sys.argv[1:5]
msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
    b"Content-Type: " + ct.encode() + b"\r\n\r\n" + open(path, "rb").read())
parts = list(msg.iter_parts())
assert len(parts) == 3, len(parts)
soap = parts[0].get_payload(decode=True).decode()
assert "xop:Include" in soap and "cid:one@it" in soap, soap
assert parts[2].get_payload(decode=True) == open(binf, "rb").read()
assert "application/xop+xml" in ct and parts[0].get_content_type() == "application/xop+xml"
PY

# ---- operational monitoring -----------------------------------------------------
NOW=$(date +%s)
opmon() { # opmon ID CLIENT_XML FROM TO [BODY_EXTRA] [HEADER_EXTRA] -> $IT_DIR/ans
    envelope "$IT_DIR/r" "$2" "$(opmon_svc)" "$1" \
        "<om:getSecurityServerOperationalData xmlns:om=\"http://x-road.eu/xsd/op-monitoring.xsd\"><om:searchCriteria><om:recordsFrom>$3</om:recordsFrom><om:recordsTo>$4</om:recordsTo>${5:-}</om:searchCriteria>${6:-}</om:getSecurityServerOperationalData>" \
        "${7:-}"
}
sleep 1.2 # the offset is 0 in dev init's sim.conf; the current second is held back
opmon om-1 "$(demo_xml)" 0 $((NOW + 100))
post_https "$IT_DIR/r"; st=$ST
if $READ "$CT" "$IT_DIR/ans" >"$IT_DIR/om.json"; then
    it_log "ok: operational data answered ($CT)"
else
    it_fail "operational data: $st $(cat "$IT_DIR/om.json")"
fi
/usr/bin/python3 - "$IT_DIR/om.json" "$SENT_DEMO" "$DEMO" <<'PY' && it_log "ok: the demo client sees exactly its own exchanges" || it_fail "demo's records"
import json, sys
j = json.load(open(sys.argv[1]))
sent = set(sys.argv[2].split())
recs = j["records"]
ids = {r["messageId"] for r in recs}
assert j["content_type"] == "application/gzip", j["content_type"]
assert j["recordsCount"] == len(recs)
assert j["nextRecordsFrom"] is not None  # recordsTo was in the future
assert ids == sent, (sorted(ids - sent), sorted(sent - ids))
for r in recs:
    assert "securityServerInternalIp" not in r  # only the owner sees it
    assert r["clientSubsystemCode"] == "vayla-demo"
    assert r["securityServerType"] == "Client" and r["serviceType"] == "WSDL"
    assert r["requestInTs"] <= r["responseOutTs"] and r["monitoringDataTs"] > 0
by = {r["messageId"]: r for r in recs}
assert by["echo-1"]["succeeded"] is True and "faultCode" not in by["echo-1"]
assert by["echo-admin"]["succeeded"] is False
assert by["echo-admin"]["faultCode"] == "Server.ServerProxy.AccessDenied"
assert by["echo-fault"]["faultCode"] == "Echo.Refused"
assert by["echo-swa"]["requestAttachmentCount"] == 2
assert by["echo-swa"]["responseAttachmentCount"] == 2
assert by["gw-1"]["responseAttachmentCount"] == 1
assert by["echo-1"]["messageUserId"] == "it-user" and by["echo-1"]["messageIssue"] == "it"
PY
# The owner, naming the server, reads everything; without the header it
# is one more client. (Each query waits for the second of the previous
# one to be served.)
sleep 1.1
opmon om-2 "$(owner_xml)" 0 $((NOW + 100)) "" "" "$SS_XML"
post_http "$IT_DIR/r"
$READ "$CT" "$IT_DIR/ans" >"$IT_DIR/om.json"
/usr/bin/python3 - "$IT_DIR/om.json" <<'PY' && it_log "ok: the owner sees every exchange" || it_fail "owner's records"
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
ids = {r["messageId"] for r in recs}
assert {"echo-other", "echo-1", "om-1", "am-2"} <= ids, ids
assert all("securityServerInternalIp" in r for r in recs)
PY
sleep 1.1
opmon om-3 "$(owner_xml)" 0 $((NOW + 100))
post_http "$IT_DIR/r"
$READ "$CT" "$IT_DIR/ans" >"$IT_DIR/om.json"
/usr/bin/python3 - "$IT_DIR/om.json" <<'PY' && it_log "ok: without securityServer the owner is one more client" || it_fail "owner without the header"
import json, sys
ids = {r["messageId"] for r in json.load(open(sys.argv[1]))["records"]}
# Its own exchanges, and those with it as the provider: everyone's
# operational data queries go to the owner member's service.
assert ids == {"am-2", "om-1", "om-2"}, ids
PY
# searchCriteria/client: only exchanges with that service provider;
# outputSpec: only those fields.
opmon om-4 "$(demo_xml)" 0 $((NOW + 100)) \
    '<om:client id:objectType="SUBSYSTEM"><id:xRoadInstance>FI-TEST</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>0245437-2</id:memberCode><id:subsystemCode>vayla-echo</id:subsystemCode></om:client>' \
    '<om:outputSpec><om:outputField>messageId</om:outputField><om:outputField>succeeded</om:outputField></om:outputSpec>'
post_https "$IT_DIR/r"
$READ "$CT" "$IT_DIR/ans" >"$IT_DIR/om.json"
/usr/bin/python3 - "$IT_DIR/om.json" <<'PY' && it_log "ok: provider filter and outputSpec" || it_fail "provider filter / outputSpec: $(head -c 300 "$IT_DIR/om.json")"
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
assert recs and all(set(r) == {"messageId", "succeeded"} for r in recs), recs
ids = {r["messageId"] for r in recs}
assert "gw-3" not in ids and "om-1" not in ids and "echo-1" in ids, ids
PY
for c in "bad-field|$((NOW - 100))|$((NOW + 100))|<om:outputSpec><om:outputField>hetu</om:outputField></om:outputSpec>|Unknown output field in search criteria: hetu" \
    "reversed|$((NOW - 10))|$((NOW - 100))||Records to timestamp is earlier" \
    "negative|-5|$((NOW - 100))||negative number" \
    "future|$((NOW + 1000))|$((NOW + 2000))||not available"; do
    IFS='|' read -r name from to spec text <<<"$c"
    opmon "om-$name" "$(demo_xml)" "$from" "$to" "" "$spec"
    post_https "$IT_DIR/r"
    if grep -qF "<faultcode>Client.InvalidRequest</faultcode>" "$IT_DIR/ans" &&
        grep -qF "$text" "$IT_DIR/ans"; then
        it_log "ok: operational data refuses $name"
    else
        it_fail "operational data $name: $(head -c 400 "$IT_DIR/ans")"
    fi
done
it_stop_sim

# Held back by the offset (X-Road's 60 s), and pages of one record.
sed -i 's/^opmon_offset_seconds = .*/opmon_offset_seconds = 60/' "$ENV/sim.conf"
it_start_sim
envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc echo v1)" fresh-1 "$BODY"
post_https "$IT_DIR/r"
NOW=$(date +%s)
opmon om-5 "$(demo_xml)" 0 $((NOW + 10))
post_https "$IT_DIR/r"
$READ "$CT" "$IT_DIR/ans" >"$IT_DIR/om.json"
/usr/bin/python3 - "$IT_DIR/om.json" "$NOW" <<'PY' && it_log "ok: records younger than the offset are held back" || it_fail "offset: $(head -c 300 "$IT_DIR/om.json")"
import json, sys
j = json.load(open(sys.argv[1])); now = int(sys.argv[2])
assert j["records"] == [] and abs(j["nextRecordsFrom"] - (now - 60)) <= 2, j
PY
it_stop_sim
sed -i 's/^opmon_offset_seconds = .*/opmon_offset_seconds = 0\nopmon_max_records = 1/' "$ENV/sim.conf"
it_start_sim
for i in 1 2 3; do
    envelope "$IT_DIR/r" "$(demo_xml)" "$(echo_svc echo v1)" page-$i "$BODY"
    post_https "$IT_DIR/r"
    sleep 1.1
done
from=0 got=""
# The page queries are recorded too: only the page-* exchanges count.
for _ in 1 2 3 4 5 6 7 8; do
    opmon "om-p$from" "$(demo_xml)" "$from" $(($(date +%s) - 1)) "" \
        '<om:outputSpec><om:outputField>messageId</om:outputField><om:outputField>monitoringDataTs</om:outputField></om:outputSpec>'
    post_https "$IT_DIR/r"
    $READ "$CT" "$IT_DIR/ans" >"$IT_DIR/om.json" || break
    # One record, or more only when they share its second (X-Road
    # completes the last second of a full page).
    n=$(/usr/bin/python3 -c 'import json,sys; print(len({r["monitoringDataTs"] for r in json.load(open(sys.argv[1]))["records"]}))' "$IT_DIR/om.json")
    [ "$n" -le 1 ] || it_fail "a page spans $n seconds (opmon_max_records = 1)"
    got="$got $(/usr/bin/python3 -c 'import json,sys; print(" ".join(r["messageId"] for r in json.load(open(sys.argv[1]))["records"] if r["messageId"].startswith("page-")))' "$IT_DIR/om.json")"
    next=$(/usr/bin/python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["nextRecordsFrom"]; print(n if n is not None else "")' "$IT_DIR/om.json")
    [ -z "$next" ] && break
    from=$next
done
# shellcheck disable=SC2086
set -- $got
[ "$*" = "page-1 page-2 page-3" ] && it_log "ok: one record per page, nextRecordsFrom pages on" ||
    it_fail "pages: '$*'"
it_finish
