#!/usr/bin/python3
"""Send one raw HTTP request (bytes as given, escapes \\r \\n \\t \\xNN
decoded) over TLS or a UNIX socket and print the status line, the body
and whether the server closed the connection (within 10 s).

  rawhttp.py tls HOST PORT CA REQUEST
  rawhttp.py unix PATH REQUEST
"""
import codecs
import socket
import ssl
import sys


def main():
    kind = sys.argv[1]
    if kind == "tls":
        host, port, ca, req = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        s = ctx.wrap_socket(socket.create_connection((host, port), timeout=10))
    else:
        path, req = sys.argv[2], sys.argv[3]
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(path)
    raw = codecs.escape_decode(req.encode())[0]
    s.sendall(raw)
    out = b""
    closed = False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except (socket.timeout, ssl.SSLError, ConnectionError):
        pass
    head, _, body = out.partition(b"\r\n\r\n")
    print(head.split(b"\r\n")[0].decode(errors="replace"))
    print(body.decode(errors="replace"))
    print("rawhttp: the server closed" if closed else "rawhttp: the server kept it open")


main()
