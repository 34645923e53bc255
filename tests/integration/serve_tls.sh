#!/usr/bin/env bash
# TLS towards callers (hardening item 9), checked with openssl s_client,
# software nobody here wrote:
#   - TLS 1.2 offers only AEAD suites with forward secrecy by default
#     (Mozilla "intermediate"): CBC and RSA key exchange are refused;
#   - TLS 1.0 and 1.1 are refused;
#   - [listen] client_crl: a revoked caller certificate is refused in the
#     handshake, a valid one still works; tls_ciphers narrows the list.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need openssl
it_start_sim
sv_start

# hs NAME WANT(ok|fail) s_client args...
hs() {
    local name=$1 want=$2 got=fail
    shift 2
    if openssl s_client -connect "127.0.0.1:$API_PORT" -CAfile "$ENV/ca.pem" \
        -verify_return_error "$@" </dev/null >"$IT_DIR/s_client.out" 2>&1 &&
        grep -q '^New, TLS' "$IT_DIR/s_client.out"; then
        got=ok
    fi
    if [ "$got" = "$want" ]; then
        it_log "ok: $name"
    else
        it_fail "$name: handshake $got, expected $want: $(grep -m1 -iE 'error|alert|Cipher is' "$IT_DIR/s_client.out")"
    fi
}

# dev init's API certificate has an EC key: the ECDSA suites apply.
hs "TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256" ok -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
hs "TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305" ok -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
hs "TLS 1.3" ok -tls1_3
for c in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA \
    ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384 AES128-GCM-SHA256 \
    AES128-SHA; do
    hs "TLS 1.2 $c (no AEAD or no forward secrecy)" fail -tls1_2 -cipher "$c"
done
hs "TLS 1.1" fail -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
hs "TLS 1.0" fail -tls1 -cipher 'DEFAULT:@SECLEVEL=0'

# A CRL revoking the demo caller's certificate.
mkdir -p "$IT_DIR/ca"
: >"$IT_DIR/ca/index.txt"
echo 01 >"$IT_DIR/ca/crlnumber"
cat >"$IT_DIR/ca/ca.cnf" <<CNF
[ca]
default_ca = dev
[dev]
database = $IT_DIR/ca/index.txt
crlnumber = $IT_DIR/ca/crlnumber
certificate = $ENV/ca.pem
private_key = $ENV/ca.key
default_md = sha256
default_crl_days = 30
CNF
openssl ca -config "$IT_DIR/ca/ca.cnf" -revoke "$ENV/caller.pem" \
    >"$IT_DIR/ca/out" 2>&1 &&
    openssl ca -config "$IT_DIR/ca/ca.cnf" -gencrl -out "$ENV/crl.pem" \
        >>"$IT_DIR/ca/out" 2>&1 || {
    cat "$IT_DIR/ca/out"
    it_fail "cannot make a CRL with openssl ca"
}
it_conf listen client_crl crl.pem
it_conf listen require_client_cert true
kill -HUP "$SV_PID"
sleep 1
# TLS 1.3 refuses a client certificate after the handshake: ask curl.
# cq NAME WANT(ok|fail) CERT KEY: a query with this client certificate.
cq() {
    local code
    code=$(curl -sS --max-time 10 --cacert "$ENV/ca.pem" --cert "$3" \
        --key "$4" -H 'Content-Type: application/json' \
        --data "$(sv_person 150380-903V)" -o /dev/null -w '%{http_code}' \
        "$API/v1/vtj/person" 2>"$IT_DIR/curl.err")
    if { [ "$2" = ok ] && [ "$code" != 000 ]; } ||
        { [ "$2" = fail ] && [ "$code" = 000 ]; }; then
        it_log "ok: $1 (HTTP $code)"
    else
        it_fail "$1: HTTP $code: $(head -c 200 "$IT_DIR/curl.err")"
    fi
}
cq "the revoked caller certificate" fail "$ENV/caller.pem" "$ENV/caller.key"
hs "the revoked caller certificate (TLS 1.2)" fail -tls1_2 -cert "$ENV/caller.pem" -key "$ENV/caller.key"
# A certificate the CRL does not name still works.
openssl req -new -newkey rsa:2048 -nodes -keyout "$IT_DIR/other.key" \
    -subj "/O=vayla dev/CN=other" -out "$IT_DIR/other.csr" 2>/dev/null &&
    openssl x509 -req -in "$IT_DIR/other.csr" -CA "$ENV/ca.pem" \
        -CAkey "$ENV/ca.key" -CAcreateserial -days 2 \
        -out "$IT_DIR/other.pem" 2>/dev/null
cq "a certificate the CRL does not name" ok "$IT_DIR/other.pem" "$IT_DIR/other.key"
# A configuration with a CRL that does not load is refused by
# check-config, and a reload with it keeps the running configuration.
echo "not a CRL" >"$ENV/bad-crl.pem"
it_conf listen client_crl bad-crl.pem
if "$VAYLA" check-config -c "$ENV/vayla.conf" >"$IT_DIR/cc.out" 2>&1; then
    it_fail "check-config accepted a bad CRL"
elif grep -q 'listen.client_crl' "$IT_DIR/cc.out"; then
    it_log "ok: check-config names the bad CRL"
else
    it_fail "check-config: $(cat "$IT_DIR/cc.out")"
fi
it_conf listen client_crl crl.pem
it_conf listen tls_ciphers ECDHE-ECDSA-CHACHA20-POLY1305
kill -HUP "$SV_PID"
sleep 1
hs "tls_ciphers narrows the list (AES-GCM refused)" fail -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -cert "$IT_DIR/other.pem" -key "$IT_DIR/other.key"
hs "tls_ciphers narrows the list (ChaCha20 works)" ok -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305 -cert "$IT_DIR/other.pem" -key "$IT_DIR/other.key"
[ "$IT_FAILS" -eq 0 ] || exit 1
echo "serve_tls: all checks passed"
