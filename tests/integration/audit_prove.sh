#!/bin/bash
# Proving audited queries end to end against the simulator's signed
# message log: queries through `vayla query person` and the daemon, then
# `vayla asic fetch|conf` and `vayla audit prove` (proven), an audit
# record that disagrees with the containers (a tampered COPY of the
# store), a message id not audited, a simulator that logs bodies altered
# (body_logging=false: request_differs with the hint), records not yet
# time-stamped, an unreachable security server, and
# GET /v1/audit/prove/{id} with and without `allow = audit`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need sqlite3

it_asic_conf() { # KEY VALUE in sim.conf [asic]
    sed -i "s#^$1 = .*#$1 = $2#" "$ENV/sim.conf"
}

# prove NAME RC PATTERN... [-- ARGS]: run `vayla audit prove ARGS`;
# check the exit status and that stdout has every fixed-string PATTERN.
prove() {
    local name=$1 rc=$2 pats=() got
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        pats+=("$1")
        shift
    done
    shift
    POUT=$("$VAYLA" audit prove "$@" 2>"$IT_DIR/prove.err")
    got=$?
    if [ "$got" != "$rc" ]; then
        it_fail "$name: exit $got, expected $rc: $POUT $(head -c 600 "$IT_DIR/prove.err")"
        return
    fi
    for p in "${pats[@]}"; do
        printf '%s' "$POUT" | grep -qF -- "$p" ||
            { it_fail "$name: output lacks $p: $POUT"; return; }
    done
    it_log "ok: $name"
}

qid() { printf '%s' "$QOUT" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p'; }

C="$ENV/vayla.conf"
it_asic_conf timestamping single
it_start_sim
it_query 150380-903V
id1=$(qid)
it_query 010100-999N
id2=$(qid)
[ -n "$id1" ] && [ -n "$id2" ] || it_fail "no message ids: $QOUT"

# Downloads.
"$VAYLA" asic conf -c "$C" -o "$IT_DIR/vc" 2>"$IT_DIR/e" ||
    it_fail "asic conf: $(cat "$IT_DIR/e")"
[ -s "$IT_DIR/vc/verificationconf/instance-identifier" ] &&
    [ -s "$IT_DIR/vc/verificationconf/FI-TEST/shared-params.xml" ] ||
    it_fail "asic conf: unpacked layout: $(find "$IT_DIR/vc")"
"$VAYLA" asic conf -c "$C" -o "$IT_DIR/vc.zip" 2>"$IT_DIR/e" ||
    it_fail "asic conf .zip: $(cat "$IT_DIR/e")"
"$VAYLA" asic fetch -c "$C" --query-id "$id1" -o "$IT_DIR/q.zip" \
    2>"$IT_DIR/e" || it_fail "asic fetch: $(cat "$IT_DIR/e")"
"$VAYLA" verify --conf "$IT_DIR/vc.zip" "$IT_DIR/q.zip" >"$IT_DIR/v" 2>&1 ||
    it_fail "fetched zip does not verify: $(cat "$IT_DIR/v")"
"$VAYLA" asic fetch -c "$C" --query-id "$id1" --response-only --unique \
    -o "$IT_DIR/r.asice" 2>"$IT_DIR/e" || it_fail "fetch unique"
"$VAYLA" verify --conf "$IT_DIR/vc" "$IT_DIR/r.asice" >"$IT_DIR/v" 2>&1 &&
    grep -q ": valid response $id1" "$IT_DIR/v" ||
    it_fail "unique response: $(cat "$IT_DIR/v")"
"$VAYLA" asic fetch -c "$C" --query-id no-such-id -o "$IT_DIR/x" \
    2>"$IT_DIR/e"
rc=$?
[ "$rc" = 4 ] && grep -q "not found" "$IT_DIR/e" ||
    it_fail "fetch unknown id: exit $rc $(cat "$IT_DIR/e")"
"$VAYLA" asic fetch -c "$C" --query-id "$id1" --unique -o "$IT_DIR/x" \
    2>"$IT_DIR/e"
[ $? = 1 ] || it_fail "--unique alone is a usage error"
# Without the client certificate the security server refuses (401).
grep -v '^client_\(cert\|key\) = ' "$C" >"$ENV/nocert.conf"
"$VAYLA" asic fetch -c "$ENV/nocert.conf" --query-id "$id1" -o "$IT_DIR/x" \
    2>"$IT_DIR/e"
rc=$?
[ "$rc" = 5 ] && grep -q "not allowed (HTTP 401" "$IT_DIR/e" ||
    it_fail "fetch without client certificate: exit $rc $(cat "$IT_DIR/e")"
prove "not allowed: fetch_failed" 2 '"code":"not_allowed"' -- \
    -c "$ENV/nocert.conf" --conf "$IT_DIR/vc" --json "$id1"
it_log "ok: asic fetch and asic conf"

# Proven, with the configuration downloaded and given.
prove "two queries proven" 0 "$id1: proven" "$id2: proven" -- -c "$C" \
    "$id1" "$id2"
prove "proven with --conf, JSON" 0 '"verdict":"proven"' '"digest_match":true' \
    -- -c "$C" --conf "$IT_DIR/vc" --json "$id1"
prove "not in audit" 2 '"verdict":"not_in_audit"' -- -c "$C" --json \
    no-such-id
prove "range summary" 0 "summary: 2 queries: proven 2" -- -c "$C" \
    --from 2000-01-01 --to 2100-01-01
prove "usage" 1 -- -c "$C"

# An audit record that disagrees: a copy of the store, trigger dropped.
cp "$ENV/vayla.conf" "$ENV/t.conf"
sqlite3 "$ENV/audit.db" ".backup '$ENV/t.db'"
sed -i "s#^path = audit.db#path = t.db#" "$ENV/t.conf"
sqlite3 "$ENV/t.db" "DROP TRIGGER records_append_only;
UPDATE records SET response_sha512 = zeroblob(64) WHERE kind = 'outcome' AND message_id = '$id1';
UPDATE records SET request_sha512 = zeroblob(64) WHERE kind = 'intent' AND message_id = '$id2';" ||
    it_fail "tamper the copy"
prove "tampered response digest" 2 "$id1: NOT PROVEN response_differs" \
    "$id2: NOT PROVEN request_differs" -- -c "$ENV/t.conf" "$id1" "$id2"

# The daemon: a query, then GET /v1/audit/prove/{id} without and with
# `allow = audit`, and 502 once the security server is gone.
prove_api() { # ID: sets HCODE, HBODY
    local out
    out=$(curl -sS --max-time 60 --cacert "$ENV/ca.pem" -H "$(sv_token)" \
        -w '\n%{http_code}' "$API/v1/audit/prove/$1" 2>"$IT_DIR/curl.err")
    HCODE=$(printf '%s' "$out" | tail -n 1)
    HBODY=$(printf '%s' "$out" | sed '$d')
}
sv_start
sv_post "$(sv_person 150380-903V)" -H "$(sv_token)"
sv_expect "daemon query" 200
id5=$(sv_message_id)
prove_api "$id5"
sv_expect "API without allow = audit" 403 '"code":"forbidden"'
sv_stop
sed -i 's/^allow = vtj_person, xroad_soap$/&, audit/' "$ENV/vayla.conf"
sv_start
prove_api "$id5"
sv_expect "API proven" 200 '"verdict":"proven"' "\"message_id\":\"$id5\"" \
    '"proven":true'
prove_api "$id1"
sv_expect "API proves a CLI query" 200 '"verdict":"proven"'
prove_api no-such-id
sv_expect "API not in audit" 404 '"code":"not_in_audit"'
prove "the daemon's query by the CLI" 0 "$id5: proven" -- -c "$C" "$id5"
curl -sS --max-time 20 --cacert "$ENV/ca.pem" -H "$(sv_token)" \
    -o "$IT_DIR/metrics" "$API/metrics"
grep -q 'route="audit_prove",status="200"' "$IT_DIR/metrics" ||
    it_fail "no audit_prove metrics"
grep -q "method=GET path=/v1/audit/prove/$id5 status=200" "$IT_DIR/serve.err" ||
    it_fail "access log: $(grep audit/prove "$IT_DIR/serve.err" | head -2)"
it_stop_sim
prove_api "$id5"
sv_expect "API, security server gone" 502 \
    '"code":"security_server_unreachable"'
sv_stop

# Bodies not logged: the signed messages are not the audited ones.
it_asic_conf body_logging false
it_start_sim
it_query 150380-903V
id3=$(qid)
prove "body logging off" 2 "request_differs [message_body_not_logged]" \
    "hint: " "message-body-logging" -- -c "$C" "$id3"
it_stop_sim

# Batch time-stamps far apart: not time-stamped yet.
it_asic_conf body_logging true
it_asic_conf timestamping batch
it_asic_conf batch_interval_ms 600000
it_start_sim
it_query 150380-903V
id4=$(qid)
prove "not time-stamped" 2 '"verdict":"not_timestamped"' -- -c "$C" --json \
    "$id4"
it_stop_sim

# The security server is gone.
prove "unreachable" 1 -- -c "$C" "$id1"
grep -q "cannot be reached" "$IT_DIR/prove.err" ||
    it_fail "unreachable: $(cat "$IT_DIR/prove.err")"
prove "unreachable with --conf" 2 '"verdict":"fetch_failed"' -- -c "$C" \
    --conf "$IT_DIR/vc" --json "$id1"

it_finish
