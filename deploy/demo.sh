#!/bin/sh
# vayla demo, offline: build a VTJ HenkilonTunnusKysely request envelope,
# make the answer a provider security server would give (header echoed,
# requestHash inserted after id), judge it, then judge a tampered copy.
# Runs on a fresh Debian 12 machine (installs what is missing).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh" >/dev/null
vayla="$here/build/adapter/vayla"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/body.xml" <<'XML'
<HenkilonTunnusKysely xmlns="http://xml.vrk.fi/ws/vtj/vtjkysely/1"><request><SoSoNimi>PERUSSANOMA 1</SoSoNimi><Kayttajatunnus>demo</Kayttajatunnus><Salasana>not-a-real-password</Salasana><Loppukayttaja>demo.user@example.fi</Loppukayttaja><Henkilotunnus>010190-999W</Henkilotunnus></request></HenkilonTunnusKysely>
XML

echo "== 1. request envelope (the exact bytes that would be POSTed)"
"$vayla" envelope \
    --client SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo \
    --service SERVICE:FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1 \
    --user-id demo.user@example.fi --issue "case 2026/123" \
    --body "$work/body.xml" >"$work/request.xml"
sed 's#<Salasana>[^<]*</Salasana>#<Salasana>***</Salasana>#' "$work/request.xml"
echo

# A provider security server answers with the same header plus
# requestHash = base64(SHA-512(request bytes)) right after xrd:id.
hash=$(openssl dgst -sha512 -binary "$work/request.xml" | base64 -w0)
sed -e "s#</xrd:id>#</xrd:id><xrd:requestHash algorithmId=\"http://www.w3.org/2001/04/xmlenc\#sha512\">$hash</xrd:requestHash>#" \
    -e 's#<SOAP-ENV:Body>.*</SOAP-ENV:Body>#<SOAP-ENV:Body><HenkilonTunnusKyselyResponse xmlns="http://xml.vrk.fi/ws/vtj/vtjkysely/1"><response><faultCode>0001</faultCode><faultString>Henkilöä ei löytynyt</faultString></response></HenkilonTunnusKyselyResponse></SOAP-ENV:Body>#' \
    "$work/request.xml" >"$work/response.xml"

echo "== 2. verdict on the security server's answer"
"$vayla" check-response --request "$work/request.xml" \
    --response "$work/response.xml" || true

echo "== 3. verdict when the request bytes differ from what was hashed"
sed 's/PERUSSANOMA 1/PERUSSANOMA 2/' "$work/request.xml" >"$work/tampered.xml"
rc=0
"$vayla" check-response --request "$work/tampered.xml" \
    --response "$work/response.xml" || rc=$?
echo "(exit status $rc: 2 = invalid response)"
[ "$rc" -eq 2 ]
echo "demo: OK"
