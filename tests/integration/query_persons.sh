#!/bin/bash
# Happy path for every test person of the built-in dataset, through
# `vayla query person` -> vayla-sim (HTTPS, SSLAUTH, pinned CA).
. "$(dirname "$0")/lib.sh"
it_init "$@"
it_start_sim

it_query 150380-903V
it_expect "normal adult" 0 '"status":"ok"' '"outcome":"found"' \
    'Testinen' '"turvakielto":false' '"message_id":'

it_query 260991-999R
it_expect "turvakielto" 0 '"outcome":"found"' '"turvakielto":true'

it_query 020365-999P
it_expect "deceased" 0 '"status":"ok"' 'Edesmennyt' '"deceased":true'

# Passivated hetu: 0002 with the new hetu; follow_passivated re-queries.
it_query 111070-905D
it_expect "passivated, followed" 0 '"status":"ok"' '111070-917T' 'Vaihtunut'

it_conf vtj follow_passivated false
it_query 111070-905D
it_expect "passivated, not followed" 4 '"outcome":"passivated"' \
    '111070-917T'
it_conf vtj follow_passivated true

it_query 010100-999N
it_expect "not found" 4 '"outcome":"not_found"'

it_query 220585-912K
it_expect "guardian (PERUSSANOMA 3)" 0 '"outcome":"found"' 'Huoltaja'
it_query 220585-912K --product HUOLTAJA-HUOLLETTAVAT
it_expect "guardian with dependants" 0 '"outcome":"found"' \
    '130516A926D' '040919A937Y'

it_query 130516A926D
it_expect "child under 15" 0 '"outcome":"under_15"' 'Ella'
it_query 130516A926D --product HUOLLETTAVA-HUOLTAJAT
it_expect "child with guardian" 0 '220585-912K'

it_query 300672-9414
it_expect "former names, foreign address" 0 '"outcome":"found"' \
    'Entinen' 'Storgatan 12' '752'

# The message log has every exchange, by message id.
id=$(printf '%s' "$QOUT" | sed -n 's/.*"message_id":"\([^"]*\)".*/\1/p')
if [ -z "$id" ]; then
    it_fail "no message_id in the last query output"
elif ! curl -sS --max-time 10 \
    "http://127.0.0.1:$CONTROL_PORT/log/$id/response" | grep -q 'requestHash'
then
    it_fail "message log has no response for $id"
else
    it_log "ok: message log has $id"
fi
# One rule for caller texts: surrounding white space is trimmed before the
# request is built (and compared so in the echo), control characters are
# refused before anything is sent.
QOUT=$("$VAYLA" query person 150380-903V --user-id ' it-user-1 ' \
    --issue 'trail ' -c "$ENV/vayla.conf" 2>"$IT_DIR/query.err")
QRC=$?
it_expect "--issue with a trailing space" 0 '"outcome":"found"'
QOUT=$("$VAYLA" query person 150380-903V --user-id it-user-1 \
    --issue "$(printf 'a\tb')" -c "$ENV/vayla.conf" 2>"$IT_DIR/query.err")
QRC=$?
it_expect "--issue with a TAB" 1 '"code":"invalid_purpose"'
QOUT=$("$VAYLA" query person 150380-903V --user-id ' ' --issue x \
    -c "$ENV/vayla.conf" 2>"$IT_DIR/query.err")
QRC=$?
it_expect "--user-id of white space only" 1

n=$(ls "$ENV/messagelog" | grep -c '\.request\.xml$')
[ "$n" -ge 11 ] || it_fail "message log directory has $n requests, expected >= 11"

it_finish
