#!/bin/bash
# `vayla dev init`: files, modes, refusal to overwrite, --force,
# --port-base, and a simulator that starts from the generated sim.conf.
. "$(dirname "$0")/lib.sh"
it_init "$@"

for f in ca.pem ca.key sim.pem sim.key client.pem client.key ss-ca.pem \
    vtj-password token vayla.conf sim.conf; do
    [ -s "$ENV/$f" ] || it_fail "missing $f"
done
for f in ca.key sim.key client.key vtj-password token; do
    mode=$(stat -c %a "$ENV/$f")
    [ "$mode" = 600 ] || it_fail "$f has mode $mode, expected 600"
done
grep -q "$(cat "$ENV/token")" "$IT_DIR/init.out" ||
    it_fail "token not printed"
grep -q '^url = https://127.0.0.1:18440/$' "$ENV/vayla.conf" ||
    it_fail "default port base not in vayla.conf"
grep -q '^https_port = 18440$' "$ENV/sim.conf" || it_fail "sim https port"
grep -q '^control_port = 18442$' "$ENV/sim.conf" || it_fail "sim control port"
fp=$(openssl x509 -in "$ENV/client.pem" -noout -fingerprint -sha256 | cut -d= -f2)
grep -q "^cert_sha256 = $fp$" "$ENV/sim.conf" ||
    it_fail "client fingerprint not in sim.conf"
openssl verify -CAfile "$ENV/ca.pem" "$ENV/sim.pem" "$ENV/client.pem" \
    >/dev/null || it_fail "certificates do not verify against the CA"
openssl x509 -in "$ENV/sim.pem" -noout -ext subjectAltName |
    grep -q 'IP Address:127.0.0.1' || it_fail "sim.pem lacks SAN 127.0.0.1"
openssl x509 -in "$ENV/client.pem" -noout -ext extendedKeyUsage |
    grep -q 'Client Authentication' || it_fail "client.pem lacks clientAuth"
"$VAYLA" check-config -c "$ENV/vayla.conf" >"$IT_DIR/cc.out" 2>&1 ||
    it_fail "vayla check-config rejects the generated vayla.conf: $(cat "$IT_DIR/cc.out")"

if "$VAYLA" dev init "$ENV" >/dev/null 2>&1; then
    it_fail "dev init overwrote a non-empty directory"
fi
old=$(cat "$ENV/token")
"$VAYLA" dev init "$ENV" --force --port-base 20000 >/dev/null 2>&1 ||
    it_fail "dev init --force"
[ "$(cat "$ENV/token")" != "$old" ] || it_fail "--force kept the old token"
grep -q '^url = https://127.0.0.1:20000/$' "$ENV/vayla.conf" ||
    it_fail "--port-base not in vayla.conf"
grep -q '^http_port = 20001$' "$ENV/sim.conf" || it_fail "--port-base in sim.conf"
if "$VAYLA" dev init "$IT_DIR/x" --port-base 80 >/dev/null 2>&1; then
    it_fail "dev init accepted port base 80"
fi

it_start_sim
it_query 150380-903V
it_expect "query against the generated environment" 0 '"outcome":"found"'

it_finish
