#!/usr/bin/python3
"""Check an strace log (strace -f -e trace=socket,connect,accept,accept4,
setsockopt,close) for TCP connections without TCP_NODELAY.

Every TCP connection a process accepted, and every one it opened with
connect(), must get setsockopt(fd, SOL_TCP, TCP_NODELAY, [1]) before the
descriptor is closed or reused: without it a TLS answer written as several
records meets the Nagle / delayed-ACK stall (about 40 ms a leg).

    nodelay_check.py NAME TRACE

Prints one line per connection found and exits 1 when one lacks the option
or when the trace holds no TCP connection at all (nothing was checked).
"""
import re
import sys

CALL = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
RESULT = re.compile(r"\)\s+=\s+(-?\d+)(?:\s|$)")


def check(name, lines):
    pending = {}  # fd -> connection still waiting for TCP_NODELAY
    nodelay = {}  # fd of a stream socket() -> TCP_NODELAY set on it
    unfinished = {}  # pid -> (call, text so far)
    seen = 0
    bad = []

    def settle(fd, why):
        desc = pending.pop(fd, None)
        if desc is not None:
            bad.append(f"{desc}: no TCP_NODELAY before {why}")

    for line in lines:
        line = line.rstrip("\n")
        m = CALL.match(line)
        if not m:
            continue
        pid, resumed, call, rest = m.groups()
        if call and rest.endswith("<unfinished ...>"):
            unfinished[pid] = (call, rest[: -len("<unfinished ...>")])
            continue
        if resumed:
            call, head = unfinished.pop(pid, (resumed, ""))
            rest = head + rest
        r = RESULT.search(rest)
        if not r:
            continue
        ret = int(r.group(1))
        if call in ("accept", "accept4") and ret >= 0 and "AF_INET" in rest:
            settle(ret, "the descriptor was reused")
            pending[ret] = f"{name}: accepted connection fd {ret}"
            seen += 1
        elif call == "socket" and ret >= 0:
            settle(ret, "the descriptor was reused")
            nodelay[ret] = False
        elif call == "setsockopt" and ret == 0:
            a = re.match(r"(\d+), SOL_TCP, TCP_NODELAY, \[1\]", rest)
            if a:
                fd = int(a.group(1))
                pending.pop(fd, None)
                nodelay[fd] = True
        elif call == "connect" and "AF_INET" in rest and ("= 0" in rest or "EINPROGRESS" in rest):
            fd = int(rest.split(",", 1)[0])
            if not nodelay.get(fd, False):
                pending[fd] = f"{name}: outbound connection fd {fd}"
            seen += 1
        elif call == "close" and ret == 0:
            fd = int(rest.split(")", 1)[0])
            settle(fd, "it was closed")
            nodelay.pop(fd, None)
    for fd in list(pending):
        settle(fd, "the end of the trace")
    return seen, bad


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: nodelay_check.py NAME TRACE")
    with open(sys.argv[2], encoding="utf-8", errors="replace") as f:
        seen, bad = check(sys.argv[1], f)
    for b in bad:
        print("FAIL:", b)
    if seen == 0:
        print(f"FAIL: {sys.argv[1]}: no TCP connection in the trace")
        sys.exit(1)
    print(f"{sys.argv[1]}: {seen} TCP connection(s), {len(bad)} without TCP_NODELAY")
    sys.exit(1 if bad else 0)
