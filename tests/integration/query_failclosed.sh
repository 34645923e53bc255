#!/bin/bash
# VTJ answers judged fail-closed, on both faces, from the simulator's
# shapes that the first vayla got wrong (each check cites its rule):
# unknown protection, default redaction, and the HTTP-status rules of the
# one query pipeline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_start_sim

# Issue 11 ("VTJ answers, fail-closed"), docs/vtj.md §6: a Turvakielto
# element without its TurvakieltoTieto child is not a documented "not
# protected" shape, so protection is unknown (null).
it_query 090989-918M
it_expect "Turvakielto without TurvakieltoTieto: unknown" 0 \
    '"outcome":"found"' '"turvakielto":null'

# api.md: addresses are removed whenever turvakielto is true or null.
it_conf caller.demo redact_protected_addresses true
sv_start
TOKEN=$(sv_token)
sv_post "$(sv_person 090989-918M)" -H "$TOKEN"
sv_expect "daemon, redact on: unknown protection is redacted" 200 \
    '"turvakielto":null' '"addresses_redacted":true'
printf '%s' "$HBODY" | grep -qF Sumutie &&
    it_fail "daemon, redact on: unknown protection: address still there"

# Issue 10 / api.md status table: a valid, non-fault answer with an HTTP
# status other than 200/500 is http_status (502), as the CLI says; so is
# HTTP 500 with a body that is not a SOAP message (cli.md "Decisions").
it_fault http_status:203
sv_post "$(sv_person 150380-903V)" -H "$TOKEN"
sv_expect "daemon, http_status:203" 502 '"code":"http_status"'
it_fault http500_garbage
sv_post "$(sv_person 150380-903V)" -H "$TOKEN"
sv_expect "daemon, http500_garbage" 502 '"code":"http_status"'
it_fault none
sv_stop

# Issue 11: redact_protected_addresses defaults to redacting; a caller
# that is entitled to protected addresses opts out.
it_unconf redact_protected_addresses
sv_start
sv_post "$(sv_person 101090-920D)" -H "$TOKEN"
sv_expect "daemon, default policy: protected address redacted" 200 \
    '"turvakielto":true' '"addresses_redacted":true'
printf '%s' "$HBODY" | grep -qF Piilokuja &&
    it_fail "daemon, default policy: protected address still there"
it_conf caller.demo redact_protected_addresses false
kill -HUP "$SV_PID"
sleep 1
sv_post "$(sv_person 101090-920D)" -H "$TOKEN"
sv_expect "daemon, an entitled caller opts out" 200 '"turvakielto":true' \
    Piilokuja
sv_stop

# The CLI redacts the same way, unless the operator says otherwise.
it_query 101090-920D
it_expect "CLI: protected address redacted by default" 0 \
    '"addresses_redacted":true'
printf '%s' "$QOUT" | grep -qF Piilokuja &&
    it_fail "CLI: protected address still there"
it_query 101090-920D --protected-addresses
it_expect "CLI --protected-addresses" 0 '"turvakielto":true' Piilokuja

it_finish
