#!/usr/bin/env bash
# The daemon under a connection-exhaustion attack (issue: hardening item
# 1): 2,000 connections that never finish a request (half never send a
# byte, half complete TLS and trickle a header byte every two seconds,
# from 40 source addresses, reopened whenever the server closes them), and
# 200 more trickling on the UNIX socket. Authenticated queries on TCP (TLS)
# and on the UNIX socket must still be answered within a second each.
# Run in the production shape: TLS towards callers as `vayla dev init`
# writes it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need /usr/bin/python3
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 4096 ]; then
    echo "SKIP: the descriptor limit ($(ulimit -Hn)) is too low for 2,000 connections"
    exit 77
fi
ulimit -n "$(ulimit -Hn)"
it_start_sim
sv_start

ATTACK_PID=""
stop_attack() {
    if [ -n "$ATTACK_PID" ]; then
        kill "$ATTACK_PID" 2>/dev/null
        wait "$ATTACK_PID" 2>/dev/null
        ATTACK_PID=""
    fi
}
trap 'stop_attack; sv_cleanup' EXIT

/usr/bin/python3 "$(dirname "$0")/slowloris.py" 127.0.0.1 "$API_PORT" \
    "$ENV/ca.pem" 2000 --tls-share 0.5 --sources 40 --seconds 60 \
    --unix "$ENV/vayla.sock" --unix-count 200 >"$IT_DIR/attack.out" 2>&1 &
ATTACK_PID=$!

# Wait until the attack fills every budget: the server then closes its
# connections as fast as it opens them (bounded).
for _ in $(seq 1 100); do
    re=$(tail -n 1 "$IT_DIR/attack.out" 2>/dev/null | sed -n 's/.*reconnects=\([0-9]*\).*/\1/p')
    [ -n "$re" ] && [ "$re" -ge 2000 ] && break
    sleep 0.2
done
it_log "attack: $(tail -n 1 "$IT_DIR/attack.out")"

# t_query NAME CURL_ARGS...: one query, answered 200 within a second.
t_query() {
    local name=$1 out t
    shift
    out=$(curl -sS --max-time 5 -H 'Content-Type: application/json' \
        --data "$(sv_person 150380-903V)" \
        -w '\n%{http_code} %{time_total}' "$@" 2>"$IT_DIR/curl.err")
    t=$(printf '%s' "$out" | tail -n 1)
    if [ "${t%% *}" != 200 ]; then
        it_fail "$name: HTTP ${t%% *}: $(head -c 200 "$IT_DIR/curl.err")"
    elif ! awk -v s="${t#* }" 'BEGIN { exit !(s < 1.0) }'; then
        it_fail "$name: answered in ${t#* } s, not within 1 s"
    else
        it_log "ok: $name in ${t#* } s"
    fi
}

for i in 1 2 3 4 5; do
    t_query "TCP+TLS query $i under attack" --cacert "$ENV/ca.pem" \
        -H "$(sv_token)" "$API/v1/vtj/person"
    t_query "UNIX socket query $i under attack (peer uid)" \
        --unix-socket "$ENV/vayla.sock" http://localhost/v1/vtj/person
    sleep 0.5
done

# Deadlines and eviction closed the attack's connections.
sleep 11
metrics=$(curl -sS --max-time 5 --cacert "$ENV/ca.pem" "$API/metrics")
for reason in deadline evicted; do
    n=$(printf '%s\n' "$metrics" | sed -n "s/^vayla_connections_closed_total{reason=\"$reason\"} //p")
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then
        it_fail "no connection closed for reason $reason"
    else
        it_log "ok: $n connections closed ($reason)"
    fi
done
t_query "TCP+TLS query after 11 s of attack" --cacert "$ENV/ca.pem" \
    -H "$(sv_token)" "$API/v1/vtj/person"
it_log "attack: $(tail -n 1 "$IT_DIR/attack.out")"
stop_attack
[ "$IT_FAILS" -eq 0 ] || exit 1
echo "serve_slow: all checks passed"
