#!/bin/bash
# Every answer shape vayla-sim produces, validated with xmllint against
# the published schemas in ../shared/vectors: the X-Road header schema of
# vectors/vtj (xroad.xsd, identifiers.xsd), the body schema of the VTJ
# WSDL, and a SOAP 1.1 envelope schema (soap-envelope.xsd; lib.sh
# it_schemas says how they are put together). Skips (77) when the vectors
# or xmllint are absent.
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need xmllint
SCH=$IT_DIR/schemas
if ! why=$(it_schemas "$SCH"); then
    echo "SKIP: $why"
    exit 77
fi
VEC=$(it_vectors_dir)

# The schema set itself: the synthetic VTJ pair (a request, and an answer
# in DVV's header style) validates, a broken answer does not.
it_valid "vectors/vtj/synthetic/01 request" "$SCH" \
    "$VEC/vtj/synthetic/01-request-HenkilonTunnusKysely.xml"
it_valid "vectors/vtj/synthetic/02 answer" "$SCH" \
    "$VEC/vtj/synthetic/02-response-found-turvakielto.xml"
sed 's#<h:requestHash xmlns:h=#<requestHash xmlns:h=#; s#</h:requestHash>#</requestHash>#' \
    "$VEC/vtj/synthetic/02-response-found-turvakielto.xml" >"$IT_DIR/broken.xml"
if xmllint --noout --nonet --schema "$SCH/soap-envelope.xsd" \
    "$IT_DIR/broken.xml" 2>/dev/null; then
    it_fail "an answer with requestHash in no namespace validates"
else
    it_log "ok: requestHash in no namespace is refused by the schemas"
fi

it_start_sim

# shape NAME SED_EXPR...: a request edited by the expressions, its
# answer validated (and the request too, when it is meant to be valid).
shape() {
    local name=$1
    shift
    it_req "$IT_DIR/req.xml" "$@"
    it_soap "$IT_DIR/req.xml" "$IT_DIR/answer.xml" >/dev/null
    it_valid "$name" "$SCH" "$IT_DIR/answer.xml"
}

it_req "$IT_DIR/req.xml"
it_valid "request" "$SCH" "$IT_DIR/req.xml"

# Every person of the built-in dataset, a passivated hetu, a hetu outside
# the dataset and an invalid one.
for h in 150380-903V 260991-999R 020365-999P 111070-905D 010100-999N \
    220585-912K 130516A926D 040919A937Y 300672-9414 010181-902E \
    020282-9047 030383-9060 040484-908S 050585-910J 060686-912A \
    070787-9143 080888-916V 090989-918M 101090-920D 150380-903X; do
    shape "answer for $h" "s#150380-903V#$h#"
done
for p in 'PERUSSANOMA 1' HUOLTAJA-HUOLLETTAVAT HUOLLETTAVA-HUOLTAJAT; do
    shape "answer for $p" "s#PERUSSANOMA 3#$p#" 's#150380-903V#220585-912K#'
done
shape "answer for a SATU" \
    's#<vtj:Henkilotunnus>150380-903V</vtj:Henkilotunnus>#<vtj:SahkoinenAsiointitunnus>89999999S</vtj:SahkoinenAsiointitunnus>#'
shape "answer for a wrong VTJ password" \
    's#<vtj:Salasana>[^<]*<#<vtj:Salasana>wrong<#'
shape "answer without Loppukayttaja" '/Loppukayttaja/d'
shape "answer for an unknown product" 's#PERUSSANOMA 3#EI TUOTE#'

# Namespaces declared on id itself, as SOAP stacks write them.
shape "answer, prefix declared on id" \
    's#<xrd:id>\([^<]*\)</xrd:id>#<ns0:id xmlns:ns0="http://x-road.eu/xsd/xroad.xsd">\1</ns0:id>#'
shape "answer, default namespace on id" \
    's#<xrd:id>\([^<]*\)</xrd:id>#<id xmlns="http://x-road.eu/xsd/xroad.xsd">\1</id>#'

# Header shapes of DVV's adapter, and another HTTP status.
for f in reorder_header protocol_version_ws dvv_header http_status:203; do
    it_fault "$f"
    shape "answer with $f"
done
it_fault none

# Refusals: X-Road faults, and X-Road's fault.query vector sent as a
# request (answered with Client.CODE, its string, actor and detail).
shape "fault for a missing id" '/<xrd:id>/d'
shape "fault for a missing header" '/<SOAP-ENV:Header>/,/<\/SOAP-ENV:Header>/d'
it_soap "$VEC/xroad/soap/faults/fault.query" "$IT_DIR/answer.xml" >/dev/null
it_valid "answer to fault.query" "$SCH" "$IT_DIR/answer.xml"
grep -q '<faultcode>Client.CODE</faultcode>' "$IT_DIR/answer.xml" &&
    grep -q '<faultDetail>DETAIL</faultDetail>' "$IT_DIR/answer.xml" &&
    it_log "ok: fault.query answered with Client.CODE" ||
    it_fail "fault.query: $(head -c 400 "$IT_DIR/answer.xml")"

it_finish
