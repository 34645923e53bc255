#!/usr/bin/env bash
# Signed checkpoints of the audit chain (hardening item 5). The chain
# alone proves that the rows it holds were not edited; it cannot prove
# that rows at its end were not removed together with chain_state. The
# checkpoints `vayla serve` writes (and the journal keeps) can:
#   - verify --anchors --anchor-key: an untouched store is intact;
#   - a store whose tail was cut (rows and chain_state rewound): verify
#     without anchors still calls it intact (what the chain alone knows),
#     verify with the checkpoints says BROKEN (exit 2);
#   - vayla serve refuses to start on that store;
#   - a checkpoint signed by another key is refused, an empty checkpoint
#     file is "not anchored" (exit 2), and checkpoints go on reaching
#     their file after a reload;
#   - a row deleted under the running daemon: the next checkpoint round
#     finds it, /readyz fails and the operational log says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need sqlite3 openssl
it_conf audit checkpoint_every 2
it_start_sim
sv_start

q_some() {
    for h in "$@"; do
        sv_post "$(sv_person "$h")" -H "$(sv_token)"
        case $HCODE in 200 | 404) ;; *) it_fail "query $h: HTTP $HCODE $HBODY" ;; esac
    done
}
q_some 150380-903V 010101-123N 150380-903V
# A reload frees the configuration the checkpoint file's name came from;
# the checkpoints after it must still reach the same file.
kill -HUP "$SV_PID"
i=0
until grep -q "generation 2 active" "$IT_DIR/serve.err"; do
    i=$((i + 1))
    [ "$i" -gt 100 ] && { it_fail "reload not reported"; break; }
    sleep 0.1
done
before=$(grep -c '^vayla-audit-checkpoint 1 ' "$ENV/audit-checkpoints.log")
q_some 150380-903V 010101-123N
sv_stop
[ "$SV_RC" = 0 ] || it_fail "vayla serve exited $SV_RC"

CPS="$ENV/audit-checkpoints.log"
n=$(grep -c '^vayla-audit-checkpoint 1 ' "$CPS" 2>/dev/null || echo 0)
if [ "$n" -ge 3 ] && ! grep -qv ' sig=' "$CPS"; then
    it_log "ok: $n signed checkpoints in audit-checkpoints.log"
else
    it_fail "checkpoints: $n lines; file: $(head -c 600 "$CPS" 2>/dev/null)"
fi
if [ "$n" -gt "$before" ]; then
    it_log "ok: checkpoints after a reload still go to the file ($before, then $n)"
else
    it_fail "no checkpoint in the file after the reload ($before, then $n)"
fi
head=$(sqlite3 "$ENV/audit.db" "SELECT head_seq FROM chain_state")
last=$(tail -n 1 "$CPS" | sed -n 's/.* seq=\([0-9]*\) .*/\1/p')
[ "$head" = "$last" ] && it_log "ok: the last checkpoint is the head ($head)" ||
    it_fail "last checkpoint seq=$last, head $head"

# verify_rc NAME WANT_RC PATTERN ARGS...: run audit verify and check.
verify_rc() {
    local name=$1 want=$2 pat=$3 rc
    shift 3
    "$VAYLA" audit verify -c "$ENV/vayla.conf" "$@" >"$IT_DIR/verify.out" 2>&1
    rc=$?
    if [ "$rc" = "$want" ] && grep -q -- "$pat" "$IT_DIR/verify.out"; then
        it_log "ok: $name"
    else
        it_fail "$name: exit $rc (want $want): $(head -c 600 "$IT_DIR/verify.out")"
    fi
}

verify_rc "verify against the checkpoints" 0 "intact" \
    --anchors "$CPS" --anchor-key "$ENV/checkpoint.pub"

# A checkpoint signed by another key is not a checkpoint.
openssl genpkey -algorithm ed25519 -out "$IT_DIR/other.key" 2>/dev/null
openssl pkey -in "$IT_DIR/other.key" -pubout -out "$IT_DIR/other.pub" 2>/dev/null
verify_rc "checkpoints against another key are refused" 1 "signature" \
    --anchors "$CPS" --anchor-key "$IT_DIR/other.pub"

# An emptied checkpoint file anchors nothing: it must not pass as one.
: >"$IT_DIR/empty.log"
verify_rc "an empty checkpoint file is not an anchored chain" 2 "NOT ANCHORED" \
    --anchors "$IT_DIR/empty.log" --anchor-key "$ENV/checkpoint.pub"

cp "$ENV/audit.db" "$IT_DIR/audit.db.orig"

# Cut the tail: the last query's two rows and chain_state rewound to the
# row before them, as someone with write access to the file could.
cut=$((head - 2))
sqlite3 "$ENV/audit.db" <<SQL || it_fail "could not cut the store"
DELETE FROM records WHERE seq > $cut;
UPDATE chain_state SET head_seq = $cut,
    head_hash = (SELECT row_hash FROM records WHERE seq = $cut);
SQL
verify_rc "the cut chain alone still looks intact" 0 "intact"
verify_rc "the checkpoints find the cut" 2 "BROKEN" \
    --anchors "$CPS" --anchor-key "$ENV/checkpoint.pub"

# vayla serve refuses to start on it.
"$VAYLA" serve -c "$ENV/vayla.conf" --ready-file "$IT_DIR/cut.ready" \
    >"$IT_DIR/cut.out" 2>"$IT_DIR/cut.err" &
cut_pid=$!
for _ in $(seq 1 100); do
    kill -0 "$cut_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$cut_pid" 2>/dev/null; then
    kill -TERM "$cut_pid"
    wait "$cut_pid"
    it_fail "vayla serve started on a store cut below its checkpoint"
else
    wait "$cut_pid"
    rc=$?
    if [ "$rc" != 0 ] && [ ! -s "$IT_DIR/cut.ready" ] &&
        grep -q "does not verify.*truncated or rewritten" "$IT_DIR/cut.err"; then
        it_log "ok: vayla serve refuses the cut store (exit $rc)"
    else
        it_fail "vayla serve on the cut store: exit $rc: $(tail -c 600 "$IT_DIR/cut.err")"
    fi
fi

# A row deleted under the running daemon. The checkpoint file first
# grows past the 64 MiB that `audit verify --anchors` reads (a sparse
# file's zero bytes stand for years of earlier checkpoints): start-up
# reads only the file's tail, so the daemon still starts at once.
cp "$IT_DIR/audit.db.orig" "$ENV/audit.db"
rm -f "$ENV/audit.db-wal" "$ENV/audit.db-shm"
truncate -s 65M "$IT_DIR/cps.big"
printf '\n' >>"$IT_DIR/cps.big"
cat "$CPS" >>"$IT_DIR/cps.big"
mv "$IT_DIR/cps.big" "$CPS"
t0=$(date +%s%N)
sv_start
t1=$(date +%s%N)
it_log "ok: started with a $(du -h --apparent-size "$CPS" | cut -f1) checkpoint file in $(((t1 - t0) / 1000000)) ms"
sv_post "$(sv_person 150380-903V)" -H "$(sv_token)"
sv_expect "a query on the restored store" 200 '"outcome":"found"'
ready=$(curl -sS --max-time 10 --cacert "$ENV/ca.pem" -o /dev/null -w '%{http_code}' "$API/readyz")
[ "$ready" = 200 ] || it_fail "/readyz before the deletion: $ready"
top=$(sqlite3 "$ENV/audit.db" "SELECT max(seq) FROM records")
sqlite3 "$ENV/audit.db" "DELETE FROM records WHERE seq = $top" ||
    it_fail "could not delete record $top"
sv_post "$(sv_person 010101-123N)" -H "$(sv_token)"
for _ in $(seq 1 50); do
    out=$(curl -sS --max-time 10 --cacert "$ENV/ca.pem" -w '\n%{http_code}' "$API/readyz")
    [ "$(printf '%s' "$out" | tail -n 1)" = 503 ] && break
    sleep 0.2
done
if [ "$(printf '%s' "$out" | tail -n 1)" = 503 ] &&
    grep -q "audit chain changed under the daemon" "$IT_DIR/serve.err"; then
    it_log "ok: a deleted row fails /readyz and is logged"
else
    it_fail "after deleting record $top: /readyz: $out; log: $(tail -c 400 "$IT_DIR/serve.err")"
fi
sv_stop
[ "$IT_FAILS" -eq 0 ] || exit 1
echo "serve_checkpoints: all checks passed"
