#!/usr/bin/env bash
# `vayla audit reconcile` against the simulator's operational monitoring
# (docs/audit.md, "Reconciling with the security server"):
#   - after a load of queries (found, not found, faults, metaservices) the
#     store and the security server agree (exit 0), as JSON too;
#   - records deleted from the store (guard triggers dropped), and an
#     exchange made straight to the simulator with the client certificate,
#     are named exactly, as not_in_audit (exit 2);
#   - an outcome rewritten in the store is an outcome_mismatch;
#   - a security server that lost its records (a restarted simulator)
#     makes every query not_at_security_server;
#   - a range the security server cannot vouch for yet exits 4.
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_need sqlite3 /usr/bin/python3
it_start_sim
SS=SERVER:FI-TEST/MUN/0101263-6/vayla-sim
ECHO_P=FI-TEST/GOV/0245437-2/vayla-echo

now_ms() { date +%s%3N; }
iso() { date -u -d "@$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ; }
# wait_past MS: until the security server vouches for MS + margin (offset 0).
wait_past() {
    while [ "$(now_ms)" -lt $(($1 + 3500)) ]; do sleep 0.2; done
}
# reconcile FROM_MS TO_MS [options]: RRC and ROUT.
reconcile() {
    local from=$1 to=$2
    shift 2
    ROUT=$("$VAYLA" audit reconcile -c "$ENV/vayla.conf" --from "$(iso "$from")" \
        --to "$(iso "$to")" --security-server "$SS" --margin 2 "$@" \
        2>"$IT_DIR/rec.err")
    RRC=$?
}
# diff_ids KIND: the message ids of the differences of KIND (sorted).
diff_ids() {
    printf '%s' "$ROUT" | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
print(" ".join(sorted(d["message_id"] for d in j["differences"] if d["kind"] == sys.argv[1])))' "$1"
}

# ---- a load ---------------------------------------------------------------------
T0=$(now_ms)
for h in 150380-903V 010100-999N 260991-999R 020365-999P 111070-905D \
    220585-912K 300672-9414 020282-9047 030383-9060 040484-908S; do
    it_query "$h"
done
it_fault fault:Server.ServerProxy.AccessDenied
it_query 150380-903V
it_query 010100-999N
it_fault none
"$VAYLA" meta list-methods $ECHO_P -c "$ENV/vayla.conf" >/dev/null 2>&1
"$VAYLA" meta get-wsdl $ECHO_P/echo/v1 -c "$ENV/vayla.conf" >/dev/null 2>&1
"$VAYLA" meta get-wsdl $ECHO_P/none -c "$ENV/vayla.conf" >/dev/null 2>&1
T1=$(now_ms)
LOAD=$(sqlite3 "$ENV/audit.db" "SELECT count(*) FROM records WHERE kind = 'intent'")
[ "$LOAD" = 16 ] && it_log "ok: 16 queries in the store" || it_fail "load: $LOAD intents"
wait_past "$T1"

reconcile "$T0" $((T1 + 1))
[ "$RRC" = 0 ] && printf '%s' "$ROUT" | grep -q '^agree: 0 difference(s); 16 audited queries, 16 security server records' &&
    it_log "ok: they agree after the load" || it_fail "agree: exit $RRC: $ROUT $(cat "$IT_DIR/rec.err")"
reconcile "$T0" $((T1 + 1)) --json
printf '%s' "$ROUT" | grep -qF '"status":"agree","from":"' &&
    printf '%s' "$ROUT" | grep -qF '"complete":true' &&
    printf '%s' "$ROUT" | grep -qF '"clients":["SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo"]' &&
    printf '%s' "$ROUT" | grep -qF '"differences":[]}' && [ "$RRC" = 0 ] &&
    it_log "ok: agree as JSON" || it_fail "agree JSON: $RRC $ROUT"
# The reconcile runs' own queries are audited and agree next time.
n=$(sqlite3 "$ENV/audit.db" "SELECT count(*) FROM records WHERE kind = 'intent' AND service LIKE '%getSecurityServerOperationalData' AND purpose = 'audit reconcile'")
[ "$n" = 2 ] && it_log "ok: the operational data queries are audited" || it_fail "opmon intents: $n"
T2=$(now_ms)
wait_past "$T2"
reconcile "$T0" "$T2"
[ "$RRC" = 0 ] && it_log "ok: including the earlier reconcile queries" ||
    it_fail "second agree: $RRC $ROUT"

# ---- records deleted, and an exchange behind vayla's back -------------------------
sqlite3 "$ENV/audit.db" "SELECT message_id FROM records WHERE kind = 'intent' AND subject IN ('260991-999R', '300672-9414') ORDER BY message_id" >"$IT_DIR/deleted"
[ "$(wc -l <"$IT_DIR/deleted")" = 2 ] || it_fail "the two queries to delete: $(cat "$IT_DIR/deleted")"
triggers=$(sqlite3 "$ENV/audit.db" "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'records'")
for t in $triggers; do sqlite3 "$ENV/audit.db" "DROP TRIGGER $t"; done
while read -r mid; do
    sqlite3 "$ENV/audit.db" "DELETE FROM records WHERE message_id = '$mid'"
done <"$IT_DIR/deleted"
it_req "$IT_DIR/behind.xml" 's/msg-[0-9]*/behind-vayla-1/'
st=$(it_soap "$IT_DIR/behind.xml" "$IT_DIR/behind.ans")
[ "$st" = 200 ] && grep -q 'Paluukoodi' "$IT_DIR/behind.ans" &&
    it_log "ok: a query straight to the simulator" || it_fail "behind: $st"
T3=$(now_ms)
wait_past "$T3"
reconcile "$T0" "$T3" --json
want="$(tr '\n' ' ' <"$IT_DIR/deleted")behind-vayla-1"
got=$(diff_ids not_in_audit)
[ "$RRC" = 2 ] && [ "$got" = "$(printf '%s\n' $want | sort | tr '\n' ' ' | sed 's/ $//')" ] &&
    it_log "ok: exactly the deleted records and the exchange behind vayla's back" ||
    it_fail "not_in_audit: exit $RRC, got '$got', want '$want': $ROUT"
n=$(printf '%s' "$ROUT" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["differences"]))')
[ "$n" = 3 ] && it_log "ok: nothing else differs" || it_fail "differences: $n: $ROUT"
printf '%s' "$ROUT" | grep -qF '"kind":"not_in_audit","message_id":"behind-vayla-1","time":"' &&
    printf '%s' "$ROUT" | grep -qF '"service":"SERVICE:FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1","client":"SUBSYSTEM:FI-TEST/MUN/0101263-6/vayla-demo","audit":null,"security_server":{"succeeded":true}}' &&
    it_log "ok: the difference names service, client and outcome" || it_fail "difference JSON: $ROUT"
reconcile "$T0" "$T3"
[ "$RRC" = 2 ] && printf '%s' "$ROUT" | head -n 1 | grep -q '^KIND	MESSAGE_ID	TIME	SERVICE	AUDIT	SECURITY_SERVER$' &&
    printf '%s' "$ROUT" | grep -q '^not_in_audit	behind-vayla-1	' &&
    printf '%s' "$ROUT" | grep -q '^differences: 3 difference(s)' &&
    it_log "ok: the table" || it_fail "table: $RRC $ROUT"

# ---- an outcome rewritten in the store ------------------------------------------------
mid=$(sqlite3 "$ENV/audit.db" "SELECT i.message_id FROM records i JOIN records o ON o.ref_seq = i.seq WHERE o.result_class = 'fault' LIMIT 1")
sqlite3 "$ENV/audit.db" "UPDATE records SET result_class = 'found', fault_code = NULL WHERE kind = 'outcome' AND message_id = '$mid'"
reconcile "$T0" "$T3" --json
[ "$RRC" = 2 ] && [ "$(diff_ids outcome_mismatch)" = "$mid" ] &&
    printf '%s' "$ROUT" | grep -qF '"audit":{"result_class":"found"},"security_server":{"succeeded":false,"fault_code":"Server.ServerProxy.AccessDenied"}' &&
    it_log "ok: a rewritten outcome is an outcome_mismatch" || it_fail "outcome_mismatch $mid: $ROUT"

# ---- a security server without the records ---------------------------------------------
it_stop_sim
it_start_sim
T4=$(now_ms)
wait_past "$T4"
reconcile "$T0" "$T3" --json
n=$(diff_ids not_at_security_server | wc -w)
# Every query of the load but the two deleted: 16 - 2 = 14 (the faulted
# metaservice included: it reached the security server), and none of the
# operational data queries (a security server need not record those).
[ "$RRC" = 2 ] && [ "$n" = 14 ] && it_log "ok: the lost records: 14 not_at_security_server" ||
    it_fail "not_at_security_server: exit $RRC, $n: $ROUT $(cat "$IT_DIR/rec.err")"

# ---- not yet covered -----------------------------------------------------------------------
T5=$(now_ms)
reconcile $((T5 - 1000)) $((T5 + 60000))
[ "$RRC" = 4 ] && printf '%s' "$ROUT" | grep -q '^incomplete: 0 difference(s)' &&
    it_log "ok: a range in the future is incomplete (exit 4)" || it_fail "incomplete: $RRC $ROUT"

# A record in the last committed second: the page looks full (its last
# record's second + 1 is nextRecordsFrom) and the next page is refused as
# not available yet. Coverage ends there; that is no failure.
while [ $(($(now_ms) % 1000)) -gt 300 ]; do sleep 0.05; done
it_query 150380-903V
while [ $(($(now_ms) % 1000)) -gt 100 ]; do sleep 0.02; done
T6=$(now_ms)
reconcile $((T6 - 3000)) $((T6 + 60000))
[ "$RRC" = 4 ] && ! grep -q 'SOAP fault' "$IT_DIR/rec.err" &&
    it_log "ok: the last committed second ends the coverage" ||
    it_fail "last second: $RRC $ROUT $(cat "$IT_DIR/rec.err")"

# ---- usage -----------------------------------------------------------------------------------
"$VAYLA" audit reconcile -c "$ENV/vayla.conf" --from 2026-01-01 >/dev/null 2>&1
[ $? = 1 ] && it_log "ok: --to is required" || it_fail "--to missing"
"$VAYLA" audit reconcile -c "$ENV/vayla.conf" --from 2026-01-02 --to 2026-01-01 \
    --security-server "$SS" >/dev/null 2>&1
[ $? = 1 ] && it_log "ok: a reversed range" || it_fail "reversed range"
"$VAYLA" audit reconcile -c "$ENV/vayla.conf" --from 2026-01-01 --to 2026-01-02 \
    >/dev/null 2>"$IT_DIR/rec.err"
[ $? = 1 ] && grep -q 'security_server' "$IT_DIR/rec.err" &&
    it_log "ok: the security server must be named" || it_fail "no --security-server"
it_finish
