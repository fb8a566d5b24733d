#!/usr/bin/env python3
"""A PostgreSQL server that accepts the startup, says ReadyForQuery, then
never answers a query (a stalled backend, or a man in the middle that
keeps the connection open).  Usage: stall_server.py SOCKET_DIR PIDFILE"""
import os, socket, struct, sys, threading

d, pidfile = sys.argv[1], sys.argv[2]
path = os.path.join(d, ".s.PGSQL.5432")
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chmod(path, 0o777)
s.listen(64)
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))

def msg(t, body):
    return t + struct.pack("!I", len(body) + 4) + body

def serve(c):
    try:
        n = struct.unpack("!I", c.recv(4))[0]
        c.recv(n - 4)
        out = msg(b"R", struct.pack("!I", 0))
        for k, v in ((b"server_version", b"15.0"), (b"client_encoding", b"UTF8"),
                     (b"integer_datetimes", b"on"), (b"standard_conforming_strings", b"on")):
            out += msg(b"S", k + b"\0" + v + b"\0")
        out += msg(b"K", struct.pack("!II", 1, 2)) + msg(b"Z", b"I")
        c.sendall(out)
        while c.recv(65536):  # read and never answer
            pass
    except OSError:
        pass

while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
