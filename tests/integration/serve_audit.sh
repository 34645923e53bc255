#!/usr/bin/env bash
# The audit store under a running daemon (hardening items 3 and 4):
#   - a store that cannot commit (locked by another process for longer
#     than the intent may wait): the caller gets 503 audit_unavailable
#     with the message id, nothing is sent, and once the store recovers
#     the intent that committed late is closed by a "not_sent" outcome:
#     no intent is left looking like a query that may have reached DVV;
#   - the store's file deleted under the daemon: queries are refused with
#     503 and /readyz says not ready, instead of answering with records
#     written to a deleted file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need sqlite3 /usr/bin/python3
it_start_sim
sv_start

sv_post "$(sv_person 150380-903V)" -H "$(sv_token)"
sv_expect "a query before the lock" 200 '"outcome":"found"'
sent_before=$(grep -c -- '-> 200' "$IT_DIR/sim.err")

# Hold a write lock on the store for 7 s (the intent waits at most 5 s).
/usr/bin/python3 - "$ENV/audit.db" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
time.sleep(7)
c.execute("ROLLBACK")
PY
LOCK_PID=$!
sleep 0.5
sv_post "$(sv_person 150380-903V)" -H "$(sv_token)"
sv_expect "a query while the store is locked" 503 \
    '"code":"audit_unavailable"' 'nothing was sent' '"message_id":"'
mid=$(sv_message_id)
wait "$LOCK_PID"
sent_after=$(grep -c -- '-> 200' "$IT_DIR/sim.err")
[ "$sent_before" = "$sent_after" ] &&
    it_log "ok: nothing reached the security server" ||
    it_fail "the security server saw the query ($sent_before -> $sent_after)"
# The writer retries: the late intent and its closing outcome land.
for _ in $(seq 1 50); do
    n=$(sqlite3 "$ENV/audit.db" "SELECT count(*) FROM records WHERE message_id = '$mid'" 2>/dev/null)
    [ "$n" = 2 ] && break
    sleep 0.2
done
rows=$(sqlite3 "$ENV/audit.db" "SELECT kind || ':' || coalesce(result_class, '') FROM records WHERE message_id = '$mid' ORDER BY seq")
if [ "$rows" = "$(printf 'intent:\noutcome:not_sent')" ]; then
    it_log "ok: the late intent is closed by not_sent"
else
    it_fail "records of $mid: $(printf '%s' "$rows" | tr '\n' ' ')"
fi
"$VAYLA" audit verify -c "$ENV/vayla.conf" >"$IT_DIR/verify.out" 2>&1 ||
    it_fail "audit verify after the lock: $(cat "$IT_DIR/verify.out")"

# The store deleted under the daemon.
rm -f "$ENV/audit.db" "$ENV/audit.db-wal" "$ENV/audit.db-shm"
sv_post "$(sv_person 150380-903V)" -H "$(sv_token)"
sv_expect "a query after the store was deleted" 503 '"code":"audit_unavailable"'
out=$(curl -sS --max-time 10 --cacert "$ENV/ca.pem" -w '\n%{http_code}' "$API/readyz")
if [ "$(printf '%s' "$out" | tail -n 1)" = 503 ] &&
    printf '%s' "$out" | grep -q '"audit_store":"failing"'; then
    it_log "ok: /readyz reports the deleted store"
else
    it_fail "/readyz after the store was deleted: $out"
fi
[ "$IT_FAILS" -eq 0 ] || exit 1
echo "serve_audit: all checks passed"
