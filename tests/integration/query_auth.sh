#!/bin/bash
# Authentication and credentials: SSLAUTH without a client certificate,
# a client certificate that is not registered, a pinned server
# certificate that does not match, a wrong VTJ password, the 7.8 code
# style, and a missing access right.
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_start_sim

it_unconf client_cert
it_unconf client_key
it_query 150380-903V
it_expect "SSLAUTH without a certificate" 3 \
    '"code":"Server.ClientProxy.SslAuthenticationFailed"' \
    '"origin":"client_proxy"'

# A certificate from another (also valid) environment is not registered.
"$VAYLA" dev init "$IT_DIR/other" >/dev/null 2>&1 ||
    it_fail "second dev init"
it_conf security_server client_cert "$IT_DIR/other/client.pem"
it_conf security_server client_key "$IT_DIR/other/client.key"
it_query 150380-903V
it_expect "unregistered client certificate" 3 \
    'SslAuthenticationFailed' '"origin":"client_proxy"'
it_conf security_server client_cert client.pem
it_conf security_server client_key client.key

# Pin mismatch: the other environment's CA / a wrong fingerprint.
it_conf security_server ca_file "$IT_DIR/other/ss-ca.pem"
it_query 150380-903V
it_expect "server certificate from another CA" 5 '"code":"tls_failed"'
it_unconf ca_file
it_conf security_server pin_sha256 \
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
it_query 150380-903V
it_expect "pin mismatch" 5 '"code":"tls_failed"'
it_unconf pin_sha256
it_conf security_server ca_file ss-ca.pem
it_query 150380-903V
it_expect "trust restored" 0 '"outcome":"found"'

# Wrong VTJ password: VTJ -1500, reported as a credential error.
cp "$ENV/vtj-password" "$IT_DIR/good-password"
echo "wrong-password" >"$ENV/vtj-password"
it_query 150380-903V
it_expect "wrong VTJ password" 6 '"outcome":"credentials_error"'
cp "$IT_DIR/good-password" "$ENV/vtj-password"

# X-Road 7.8 spelling of the same faults.
it_stop_sim
it_start_sim --style snake --fault fault:Server.ServerProxy.AccessDenied
it_query 150380-903V
it_expect "7.8 style injected fault" 3 \
    '"code":"server.serverproxy.access_denied"' '"origin":"server_proxy"'
it_fault none
it_unconf client_cert
it_unconf client_key
it_query 150380-903V
it_expect "7.8 style SSLAUTH" 3 \
    '"code":"server.clientproxy.ssl_authentication_failed"'
it_conf security_server client_cert client.pem
it_conf security_server client_key client.key

# No access right: remove the allow line from sim.conf.
it_stop_sim
sed -i '/^allow = /d' "$ENV/sim.conf"
it_start_sim
it_query 150380-903V
it_expect "access denied" 3 '"code":"Server.ServerProxy.AccessDenied"' \
    '"origin":"server_proxy"'

it_finish
