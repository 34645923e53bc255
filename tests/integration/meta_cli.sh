#!/usr/bin/env bash
# `vayla meta` against the simulator (docs/cli.md): list-clients (XML and
# JSON answers, text and --json output, --instance), list-methods,
# allowed-methods, get-wsdl (stdout, -o FILE, --json), their faults and
# invalid answers with the query exit statuses, and the audit records of
# the SOAP ones (caller, end user, purpose).
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need sqlite3
it_start_sim
C="-c $ENV/vayla.conf"
ECHO_P=FI-TEST/GOV/0245437-2/vayla-echo

# run NAME RC CMD...: run vayla, check the exit status; output in OUT.
run() {
    local name=$1 rc=$2
    shift 2
    OUT=$("$VAYLA" "$@" 2>"$IT_DIR/err")
    local got=$?
    if [ "$got" = "$rc" ]; then
        it_log "ok: $name (exit $rc)"
    else
        it_fail "$name: exit $got, expected $rc; out: $(printf '%s' "$OUT" | head -c 400); err: $(head -c 400 "$IT_DIR/err")"
    fi
}
out_has() {
    printf '%s' "$OUT" | grep -qF -- "$2" && it_log "ok: $1" ||
        it_fail "$1: output lacks $2: $(printf '%s' "$OUT" | head -c 500)"
}
err_has() {
    grep -qF -- "$2" "$IT_DIR/err" && it_log "ok: $1" ||
        it_fail "$1: stderr lacks $2: $(head -c 500 "$IT_DIR/err")"
}

# ---- list-clients ----------------------------------------------------------
# shellcheck disable=SC2086
run "list-clients" 0 meta list-clients $C
[ "$(printf '%s\n' "$OUT" | wc -l)" = 5 ] && it_log "ok: five clients" ||
    it_fail "list-clients lines: $OUT"
out_has "list-clients text: id, name, subsystem name" \
    "$(printf 'SUBSYSTEM:FI-TEST/GOV/0245437-2/vayla-echo\tDigi- ja väestötietovirasto\tEcho service (vayla-sim)')"
# shellcheck disable=SC2086
run "list-clients --accept json --json" 0 meta list-clients --accept json --json $C
out_has "list-clients JSON" '"status":"ok","count":5,'
out_has "list-clients JSON entry" '{"id":"MEMBER:FI-TEST/MUN/0101263-6","object_type":"MEMBER","xroad_instance":"FI-TEST","member_class":"MUN","member_code":"0101263-6","name":"Demo municipality"}'
# shellcheck disable=SC2086
run "list-clients --instance EE" 0 meta list-clients --instance EE --json $C
out_has "no clients in another instance" '"count":0,"clients":[]'
# shellcheck disable=SC2086
run "list-clients --instance with a bad code" 1 meta list-clients --instance 'a/b' $C
# shellcheck disable=SC2086
run "list-clients --accept yaml" 1 meta list-clients --accept yaml $C

# ---- list-methods / allowed-methods ------------------------------------------
# shellcheck disable=SC2086
run "list-methods" 0 meta list-methods $ECHO_P $C
[ "$OUT" = "$(printf 'SERVICE:%s/echo/v1\nSERVICE:%s/echoAdmin/v1' $ECHO_P $ECHO_P)" ] &&
    it_log "ok: list-methods lists both services" || it_fail "list-methods: $OUT"
# shellcheck disable=SC2086
run "allowed-methods --json" 0 meta allowed-methods SUBSYSTEM:$ECHO_P --json \
    --user-id maija.meikalainen --issue "case 7" $C
out_has "allowed-methods JSON" "\"status\":\"ok\",\"outcome\":\"listed\",\"provider\":\"SUBSYSTEM:$ECHO_P\",\"services\":[{\"id\":\"SERVICE:$ECHO_P/echo/v1\",\"service_code\":\"echo\",\"service_version\":\"v1\"}]}"
AM_ID=$(printf '%s' "$OUT" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p')
# shellcheck disable=SC2086
run "list-methods of the VTJ provider" 0 meta list-methods FI-TEST/GOV/0245437-2/VTJkysely $C
[ "$OUT" = "SERVICE:FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1" ] &&
    it_log "ok: the VTJ provider's one service" || it_fail "VTJ list-methods: $OUT"
# shellcheck disable=SC2086
run "list-methods of an unknown provider" 3 meta list-methods FI-TEST/GOV/9999999-9/x --json $C
out_has "unknown provider: the client proxy's fault" '"code":"Server.ClientProxy.UnknownMember","string":"Could not find addresses for service provider'
out_has "unknown provider: the origin" '"origin":"client_proxy"'
err_has "the fault on stderr" "SOAP fault Server.ClientProxy.UnknownMember (client_proxy)"
# shellcheck disable=SC2086
run "list-methods with a bad PROVIDER" 1 meta list-methods 'FI-TEST/GOV' $C
# shellcheck disable=SC2086
run "list-methods without PROVIDER" 1 meta list-methods $C

# An answer that fails the checks, and a fault, through the same pipeline.
it_fault bad_request_hash
# shellcheck disable=SC2086
run "list-methods, requestHash of other bytes" 2 meta list-methods $ECHO_P --json $C
out_has "invalid answer" '"status":"invalid","error":{"code":"request_hash_mismatch"'
it_fault fault:Server.ServerProxy.ServiceFailed.NetworkError
# shellcheck disable=SC2086
run "allowed-methods, a provider-side fault" 3 meta allowed-methods $ECHO_P $C
err_has "the provider-side origin" "(server_proxy)"
it_fault drop
# shellcheck disable=SC2086
run "allowed-methods, no answer" 5 meta allowed-methods $ECHO_P $C
it_fault none

# ---- get-wsdl -----------------------------------------------------------------
# shellcheck disable=SC2086
run "get-wsdl to stdout" 0 meta get-wsdl $ECHO_P/echo/v1 $C
out_has "get-wsdl: a WSDL" "<wsdl:definitions"
out_has "get-wsdl: the address replaced" 'location="http://example.org/xroad-endpoint"'
# shellcheck disable=SC2086
run "get-wsdl -o FILE --json" 0 meta get-wsdl $ECHO_P/echo/v1 -o "$IT_DIR/echo.wsdl" --json $C
out_has "get-wsdl JSON" "\"status\":\"ok\",\"outcome\":\"wsdl\",\"service\":\"SERVICE:$ECHO_P/echo/v1\",\"bytes\":$(stat -c %s "$IT_DIR/echo.wsdl"),\"file\":\"$IT_DIR/echo.wsdl\"}"
grep -q '<wsdl:operation name="echo">' "$IT_DIR/echo.wsdl" && it_log "ok: the file holds the WSDL" ||
    it_fail "echo.wsdl: $(head -c 300 "$IT_DIR/echo.wsdl")"
# shellcheck disable=SC2086
run "get-wsdl --json with the WSDL inline" 0 meta get-wsdl $ECHO_P/echo/v1 --json $C
out_has "the WSDL as a JSON string" '"wsdl":"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wsdl:definitions'
# shellcheck disable=SC2086
run "get-wsdl of an unknown service" 3 meta get-wsdl $ECHO_P/nothing/v9 $C
err_has "unknown service" "Server.ServerProxy.UnknownService"
# shellcheck disable=SC2086
run "get-wsdl of an identifier that is no service" 1 meta get-wsdl FI-TEST/GOV/0245437-2 $C
# Four parts name a member's own service: here the member has none.
# shellcheck disable=SC2086
run "get-wsdl of a member-level service" 3 meta get-wsdl $ECHO_P $C
err_has "the member provides no services" "Server.ClientProxy.UnknownMember"
# shellcheck disable=SC2086
run "-o for list-methods" 1 meta list-methods $ECHO_P -o "$IT_DIR/x" $C

# ---- the audit trail ------------------------------------------------------------
rows=$(sqlite3 "$ENV/audit.db" "SELECT i.caller || '|' || i.end_user || '|' || i.purpose || '|' || i.service || '|' || o.result_class FROM records i JOIN records o ON o.ref_seq = i.seq WHERE i.message_id = '$AM_ID'")
[ "$rows" = "cli:uid=$(id -u)($(id -un))|maija.meikalainen|case 7|FI-TEST/GOV/0245437-2/vayla-echo/allowedMethods|listed" ] &&
    it_log "ok: allowed-methods is in the audit store" || it_fail "audit of $AM_ID: '$rows'"
n=$(sqlite3 "$ENV/audit.db" "SELECT count(*) FROM records WHERE kind = 'intent' AND end_user = '$(id -un)' AND purpose = 'metaservice'")
[ "$n" -ge 8 ] && it_log "ok: defaults: end user = the OS user, purpose = metaservice ($n queries)" ||
    it_fail "default texts: $n intents"
n=$(sqlite3 "$ENV/audit.db" "SELECT count(*) FROM records WHERE kind = 'outcome' AND result_class = 'wsdl'")
[ "$n" = 3 ] && it_log "ok: three WSDLs recorded" || it_fail "wsdl outcomes: $n"
n=$(sqlite3 "$ENV/audit.db" "SELECT count(*) FROM records WHERE subject = 'echo/v1'")
[ "$n" = 3 ] && it_log "ok: get-wsdl's subject is the service asked about" ||
    it_fail "get-wsdl subjects: $n"
"$VAYLA" audit verify -c "$ENV/vayla.conf" >"$IT_DIR/verify.out" 2>&1 &&
    it_log "ok: the store verifies" || it_fail "audit verify: $(cat "$IT_DIR/verify.out")"
# shellcheck disable=SC2086
run "--user-id with a control character" 1 meta list-methods $ECHO_P --user-id "$(printf 'a\tb')" $C
err_has "the text rule" "invalid_end_user"
it_finish
