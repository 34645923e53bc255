#!/usr/bin/env bash
# Every TCP connection of the daemon and of the simulator has TCP_NODELAY
# (issue 12): without it a TLS answer written as several records waits for
# the peer's delayed ACK, about 40 ms a leg. Checked on the system calls
# (strace), in the shape `vayla dev init` writes: a TLS query from a
# caller, mTLS from vayla to the simulator; then the simulator's plain
# HTTP port and a query on vayla's UNIX socket (no TCP there: nothing to
# set, nothing to fail). nodelay_check.py reads the traces and is checked
# first on a trace without the option, so a blind checker cannot pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
sv_init "$@"
it_need strace
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
calls=socket,connect,accept,accept4,setsockopt,close

# strace must be allowed to trace here (ptrace may be refused in a sandbox).
if ! strace -qq -o /dev/null true 2>/dev/null; then
    echo "SKIP: strace cannot trace in this environment"
    exit 77
fi

# The checker must see a missing option.
cat >"$IT_DIR/blind.st" <<'TRACE'
100 accept4(7, {sa_family=AF_INET, sin_port=htons(4000), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_NONBLOCK) = 9
100 setsockopt(9, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0
101 socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 10
101 connect(10, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
100 close(9) = 0
TRACE
if out=$("$PY" "$here/nodelay_check.py" blind "$IT_DIR/blind.st") ||
    [ "$(printf '%s\n' "$out" | grep -c '^FAIL:')" -ne 2 ]; then
    it_fail "nodelay_check.py passed a trace without TCP_NODELAY: $out"
else
    it_log "ok: the checker finds both connections without TCP_NODELAY"
fi

# The simulator and the daemon, each under strace (the traced process is
# the child of the strace process).
cat >"$IT_DIR/sim-traced" <<SH
#!/bin/sh
exec strace -f -qq -e trace=$calls -o "$IT_DIR/sim.st" "$VAYLA_SIM" "\$@"
SH
cat >"$IT_DIR/vayla-traced" <<SH
#!/bin/sh
exec strace -f -qq -e trace=$calls -o "$IT_DIR/vayla.st" "$VAYLA" "\$@"
SH
chmod +x "$IT_DIR/sim-traced" "$IT_DIR/vayla-traced"
REAL_SIM=$VAYLA_SIM
VAYLA_SIM=$IT_DIR/sim-traced
it_start_sim
REAL_VAYLA=$VAYLA
VAYLA=$IT_DIR/vayla-traced
sv_start
VAYLA=$REAL_VAYLA
VAYLA_SIM=$REAL_SIM

sv_post "$(sv_person 150380-903V)" -H "$(sv_token)"
sv_expect "TLS query through the traced daemon and simulator" 200
curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$HTTP_PORT/" ||
    it_fail "the simulator's plain HTTP port did not answer"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
    --unix-socket "$ENV/vayla.sock" -H 'Content-Type: application/json' \
    --data "$(sv_person 150380-903V)" http://localhost/v1/vtj/person)
[ "$code" = 200 ] || it_fail "UNIX-socket query: HTTP $code"

# Stop both: signal the traced child, strace then exits with its status.
stop_traced() { # PID NAME
    local child
    child=$(pgrep -P "$1" | head -n 1)
    kill -TERM "${child:-$1}" 2>/dev/null
    wait "$1" 2>/dev/null
}
stop_traced "$SV_PID" vayla
SV_PID=""
stop_traced "$IT_SIM_PID" vayla-sim
IT_SIM_PID=""

for who in vayla sim; do
    if out=$("$PY" "$here/nodelay_check.py" "$who" "$IT_DIR/$who.st"); then
        it_log "ok: $out"
    else
        it_fail "$out"
    fi
done
# The daemon's outbound connection to the security server is in the trace.
grep -q 'connect(.*AF_INET' "$IT_DIR/vayla.st" ||
    it_fail "no outbound connect() in the daemon's trace"
it_finish
