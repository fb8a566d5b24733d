#!/usr/bin/env python3
"""rawhttp.py - raw HTTP for the tokenauthd attack tests (no curl rewriting).

  rawhttp.py send HOST PORT [SRC]  < request   send the bytes as they are
      (the request text uses literal "\\r\\n"; pass -x to expand \\r \\n \\0
      escapes first), read until the server closes or 3 s pass, print what
      came back (latin-1) to stdout.
  rawhttp.py hold HOST PORT N SECONDS       open N connections, send part of
      a request line and headers, trickle one header byte a second, and keep
      them open SECONDS; prints how many the server had closed by then.
      HOST may be unix:PATH (PORT is then ignored).
"""
import socket
import sys
import time


def send(host, port, src, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(3)
    s.connect((host, port))
    out = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    s.close()
    return out


def connect(host, port):
    if host.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(host[5:])
        return s
    return socket.create_connection((host, port), timeout=2)


def hold(host, port, n, secs):
    conns = []
    for _ in range(n):
        s = connect(host, port)
        try:
            s.sendall(b"POST /generate HTTP/1.1\r\nHost: x\r\nX-a: ")
        except OSError:
            pass  # refused at once: counted as closed below
        conns.append(s)
    closed = set()
    end = time.time() + secs
    while time.time() < end:
        for i, s in enumerate(conns):
            if i in closed:
                continue
            try:
                s.sendall(b"a")
            except OSError:
                closed.add(i)
        time.sleep(1)
    for s in conns:
        s.close()
    print(len(closed))


def main():
    if sys.argv[1] == "send":
        args = [a for a in sys.argv[2:] if a != "-x"]
        data = sys.stdin.buffer.read()
        if "-x" in sys.argv:
            data = (data.decode("latin-1").replace("\\r", "\r").replace("\\n", "\n")
                    .replace("\\0", "\0").encode("latin-1"))
        src = args[2] if len(args) > 2 else None
        sys.stdout.buffer.write(send(args[0], int(args[1]), src, data))
    elif sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))


main()
