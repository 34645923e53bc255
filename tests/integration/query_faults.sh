#!/bin/bash
# Every fault-injection name of vayla-sim with the classification
# `vayla query person` must give it. Deadlines are generous for a loaded
# 2-core machine; only "must time out" cases use a short one.
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_start_sim
HETU=150380-903V

it_fault latency:300
it_query $HETU
it_expect "latency:300" 0 '"outcome":"found"'

it_conf security_server connect_timeout_ms 1000
it_conf security_server timeout_ms 2000
it_fault stall
it_query $HETU
it_expect "stall" 5 '"status":"transport_error"' '"code":"timeout"'

it_fault slow_drip
it_query $HETU
it_expect "slow_drip (short deadline)" 5 '"code":"timeout"'
it_fault latency:5000
it_query $HETU
it_expect "latency:5000 (short deadline)" 5 '"code":"timeout"'
it_conf security_server timeout_ms 120000
it_conf security_server connect_timeout_ms 5000

it_fault drop
it_query $HETU
it_expect "drop" 5 '"status":"transport_error"'

it_fault truncate
it_query $HETU
it_expect "truncate" 5 '"code":"truncated"'

it_fault garbage
it_query $HETU
it_expect "garbage" 2 '"status":"invalid"' '"code":"malformed_xml"'

it_conf security_server max_response_bytes 65536
it_fault oversize
it_query $HETU
it_expect "oversize" 5 '"code":"too_large"'
it_conf security_server max_response_bytes 16777216

it_fault bad_request_hash
it_query $HETU
it_expect "bad_request_hash" 2 '"code":"request_hash_mismatch"'

it_fault no_request_hash
it_query $HETU
it_expect "no_request_hash" 2 '"code":"request_hash_missing"'

for field in client service id userId issue; do
    it_fault "alter_header:$field"
    it_query $HETU
    it_expect "alter_header:$field" 2 '"code":"header_mismatch"' \
        "\"field\":\"$field\""
done

it_fault http500_fault
it_query $HETU
it_expect "http500_fault" 3 '"status":"fault"' '"origin":"server_proxy"'

# A valid, non-fault answer with another HTTP status, and HTTP 500 with
# a body that is not XML: both are http_status failures (cli.md).
it_fault http_status:203
it_query $HETU
it_expect "http_status:203" 5 '"status":"transport_error"' \
    '"code":"http_status"' '"http_status":203'
it_fault http500_garbage
it_query $HETU
it_expect "http500_garbage" 5 '"status":"transport_error"' \
    '"code":"http_status"' '"http_status":500'

it_fault fault:Server.ServerProxy.AccessDenied
it_query $HETU
it_expect "fault:Server.ServerProxy.AccessDenied" 3 \
    '"code":"Server.ServerProxy.AccessDenied"' '"origin":"server_proxy"'

it_fault fault:Server.ClientProxy.NetworkError
it_query $HETU
it_expect "fault:Server.ClientProxy.NetworkError" 3 '"origin":"client_proxy"'

# The default drip (64 bytes/s) would need about a minute for one answer;
# a faster drip shows the long-deadline case: slow, but found.
it_fault slow_drip:2048
it_query $HETU
it_expect "slow_drip:2048 (long deadline)" 0 '"outcome":"found"'

it_fault none
it_query $HETU
it_expect "back to none" 0 '"outcome":"found"'

it_finish
