#!/usr/bin/env python3
"""notify.py TOKENAUTHD CONFIG LISTEN_SOCK NOTIFY_SOCK LOG - sd_notify without systemd.

Plays the service manager's half of Type=notify: binds a Unix datagram
socket, starts tokenauthd -f with NOTIFY_SOCKET naming it, and checks
READY=1 once the listening socket answers, RELOADING=1 (with
MONOTONIC_USEC) then READY=1 around SIGHUP -- after a good file and after
a bad one -- and STOPPING=1 on SIGTERM.  Prints "ok - ..." or
"not ok - ..." lines for tests/tokenauthd/notify.sh; never leaves the
service running.
"""
import os
import signal
import socket
import subprocess
import sys

TD, CONF, LSOCK, NSOCK, LOG = sys.argv[1:6]


def result(good, what):
    print(("ok - " if good else "not ok - ") + "notify: " + what, flush=True)


def recv(ns, timeout=10.0):
    """The next notification as a dict (KEY -> VALUE), or None after timeout."""
    ns.settimeout(timeout)
    try:
        data = ns.recv(4096)
    except socket.timeout:
        return None
    out = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def healthz():
    """True when the Unix listener answers GET /healthz with ok."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(5)
            c.connect(LSOCK)
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            body = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                body += chunk
        return body.startswith(b"HTTP/1.1 200") and b"ok" in body
    except OSError:
        return False


def reload_round(ns, p, what):
    p.send_signal(signal.SIGHUP)
    m = recv(ns)
    result(m is not None and m.get("RELOADING") == "1" and m.get("MONOTONIC_USEC", "").isdigit(),
           what + ": RELOADING=1 with MONOTONIC_USEC (got %r)" % (m,))
    m = recv(ns)
    result(m is not None and m.get("READY") == "1", what + ": READY=1 after it (got %r)" % (m,))
    result(healthz(), what + ": still answering")


def main():
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(NSOCK)
    env = dict(os.environ, NOTIFY_SOCKET=NSOCK)
    with open(LOG, "w") as log:
        p = subprocess.Popen([TD, "-c", CONF, "-f"], env=env, stderr=log,
                             stdin=subprocess.DEVNULL)
    try:
        m = recv(ns)
        result(m is not None and m.get("READY") == "1", "READY=1 at start (got %r)" % (m,))
        # no waiting: READY=1 must mean the socket is open and served
        result(healthz(), "the listening socket answers as soon as READY=1 arrives")
        result(m is not None and "STATUS" in m, "a STATUS= line with READY=1")

        reload_round(ns, p, "SIGHUP")
        with open(CONF) as f:
            good = f.read()
        with open(CONF, "a") as f:
            f.write("no_such_key = 1\n")
        reload_round(ns, p, "SIGHUP with a bad file")
        with open(CONF, "w") as f:
            f.write(good)

        p.send_signal(signal.SIGTERM)
        m = recv(ns)
        result(m is not None and m.get("STOPPING") == "1", "STOPPING=1 on SIGTERM (got %r)" % (m,))
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        result(rc == 0, "exit status 0 after SIGTERM (got %r)" % (rc,))
        result(recv(ns, 0.2) is None, "nothing after STOPPING=1")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        ns.close()
        os.unlink(NSOCK)


main()
