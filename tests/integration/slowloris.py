#!/usr/bin/python3
"""A hostile client for the daemon tests: holds many connections that
never finish a request, and opens them again when the server closes them.

  slowloris.py HOST PORT CA COUNT [--tls-share F] [--sources N]
               [--seconds S] [--unix PATH --unix-count K]

A share F of the TCP connections complete the TLS handshake and then send
one byte of a request head every two seconds; the rest connect and never
send a byte (not even a TLS ClientHello). Connections come from N source
addresses 127.0.0.2.. (a per-address cap on the server does not stop
them). With --unix, K more connections on the UNIX socket trickle a head
the same way. Prints a line 'open=N reconnects=M' every second and runs
for S seconds (or until killed).
"""
import argparse
import asyncio
import ssl
import sys
import time

HEAD = b"POST /v1/vtj/person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

stats = {"open": 0, "reconnects": 0}


async def slow(opener, trickle):
    while True:
        try:
            reader, writer = await opener()
        except (OSError, ssl.SSLError, asyncio.TimeoutError):
            await asyncio.sleep(0.2)
            continue
        stats["open"] += 1
        try:
            i = 0
            while True:
                if trickle:
                    writer.write(HEAD[i % len(HEAD):i % len(HEAD) + 1])
                    await writer.drain()
                    i += 1
                try:
                    data = await asyncio.wait_for(reader.read(4096), 2.0)
                    if not data:
                        break  # the server closed it
                except asyncio.TimeoutError:
                    pass
        except (OSError, ssl.SSLError, ConnectionError):
            pass
        finally:
            stats["open"] -= 1
            try:
                writer.close()
            except Exception:
                pass
        stats["reconnects"] += 1
        await asyncio.sleep(0.1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("ca")
    ap.add_argument("count", type=int)
    ap.add_argument("--tls-share", type=float, default=0.5)
    ap.add_argument("--sources", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--unix")
    ap.add_argument("--unix-count", type=int, default=0)
    a = ap.parse_args()

    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.check_hostname = False
    tasks = []
    ntls = int(a.count * a.tls_share)
    for i in range(a.count):
        src = ("127.0.0.%d" % (2 + i % a.sources), 0)
        if i < ntls:
            def opener(src=src):
                return asyncio.wait_for(asyncio.open_connection(
                    a.host, a.port, ssl=ctx, local_addr=src), 10)
            tasks.append(asyncio.create_task(slow(opener, True)))
        else:
            def opener(src=src):
                return asyncio.wait_for(asyncio.open_connection(
                    a.host, a.port, local_addr=src), 10)
            tasks.append(asyncio.create_task(slow(opener, False)))
    for i in range(a.unix_count):
        def opener():
            return asyncio.open_unix_connection(a.unix)
        tasks.append(asyncio.create_task(slow(opener, True)))
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        await asyncio.sleep(1)
        print("open=%d reconnects=%d" % (stats["open"], stats["reconnects"]),
              flush=True)
    for t in tasks:
        t.cancel()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
