#!/usr/bin/env bash
# A TLS answer leaves the daemon as one TLS record in one write (issue 12).
# evhttp puts an answer's head and body into the output as two chunks and
# libevent's TLS bufferevent writes each chunk as its own record: two
# packets and two wake-ups of the caller per answer, where nginx sends
# one. Checked on the system calls (strace): two queries on one kept-alive
# TLS connection, in the shape `vayla dev init` writes, and the writes on
# that connection between the reads of each request and the next read.
# The checker is first shown a trace with a split answer, so a blind
# checker cannot pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need strace curl
calls=accept,accept4,read,recvfrom,recvmsg,write,writev,sendto,sendmsg,close

if ! strace -qq -o /dev/null true 2>/dev/null; then
    echo "SKIP: strace cannot trace in this environment"
    exit 77
fi

# answer_writes TRACE: for every run of writes on the caller's connection
# (the one accepted TCP connection) that follows a read, the number of
# writes in it. The handshake's flights and the session tickets come
# first; the last two runs are the two answers (the caller then only
# closes).
answer_writes() {
    awk '
    /accept4?\(.*AF_INET/ { if (match($0, /= [0-9]+$/)) fd = substr($0, RSTART + 2) + 0; next }
    fd == "" { next }
    {
        if (!match($0, /^[0-9]+ +[a-z0-9]+\(/)) next
        call = $2; sub(/\(.*/, "", call)
        split($2, a, "("); f = a[2]; sub(/,.*/, "", f)
        if (f + 0 != fd || f == "") next
        rv = $NF
        if (call == "close") { if (n) print n; n = 0; fd = ""; next }
        if (call ~ /^(read|recvfrom|recvmsg)$/) {
            if (rv ~ /^[0-9]+$/ && rv > 0) { if (n) print n; n = 0; inreq = 1 }
            else if (rv == "0") { if (n) print n; n = 0; inreq = 0 }
            next
        }
        if (rv ~ /^[0-9]+$/ && rv > 0 && inreq) n++
    }
    END { if (n) print n }' "$1"
}

# The checker must see a split answer.
cat >"$IT_DIR/split.st" <<'TRACE'
100 accept4(7, {sa_family=AF_INET, sin_port=htons(4000), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 9
101 read(9, "\27\3\3\1#", 5) = 5
101 read(9, "\217\341"..., 291) = 291
101 read(9, 0x7f, 5) = -1 EAGAIN (Resource temporarily unavailable)
101 write(9, "\27\3\3\0\266"..., 187) = 187
101 write(9, "\27\3\3\5x"..., 1405) = 1405
101 read(9, "", 5) = 0
101 close(9) = 0
TRACE
if [ "$(answer_writes "$IT_DIR/split.st")" != 2 ]; then
    it_fail "the checker did not see an answer written in two writes"
else
    it_log "ok: the checker counts a split answer as two writes"
fi

cat >"$IT_DIR/vayla-traced" <<SH
#!/bin/sh
exec strace -f -qq -e trace=$calls -o "$IT_DIR/vayla.st" "$VAYLA" "\$@"
SH
chmod +x "$IT_DIR/vayla-traced"
it_start_sim
REAL_VAYLA=$VAYLA
VAYLA=$IT_DIR/vayla-traced
sv_start
VAYLA=$REAL_VAYLA

body=$(sv_person 150380-903V)
codes=$(curl -sS --max-time 60 --cacert "$ENV/ca.pem" -o /dev/null \
    -w '%{http_code} %{num_connects}\n' -H "$(sv_token)" \
    -H 'Content-Type: application/json' --data "$body" "$API/v1/vtj/person" \
    --next --cacert "$ENV/ca.pem" -o /dev/null -w '%{http_code} %{num_connects}\n' \
    -H "$(sv_token)" -H 'Content-Type: application/json' --data "$body" \
    "$API/v1/vtj/person" 2>"$IT_DIR/curl.err")
[ "$codes" = "$(printf '200 1\n200 0')" ] ||
    it_fail "two queries on one TLS connection: $codes $(cat "$IT_DIR/curl.err")"

child=$(pgrep -P "$SV_PID" | head -n 1)
kill -TERM "${child:-$SV_PID}" 2>/dev/null
wait "$SV_PID" 2>/dev/null
SV_PID=""

writes=$(answer_writes "$IT_DIR/vayla.st" | tail -n 2 | tr '\n' ' ')
case "$writes" in
"1 1 ") it_log "ok: each of the two TLS answers left in one write" ;;
*) it_fail "writes per TLS answer on the caller's connection: '$writes' (expected '1 1 ')" ;;
esac
it_finish
