#!/usr/bin/env python3
"""load.py - a small load generator for tokenauthd nodes on Unix sockets.

Every answer is one line of the log (wall-clock seconds, so the shell can
set it against the moments it stopped or started something), and the
verdicts are counted by the caller:

  validate: SEND RECV CLIENT NODE LABEL HTTP CODE
  generate: SEND RECV CLIENT NODE USER HTTP CODE TOKEN

NODE is 1-based in the order of --socks; HTTP and CODE are "-" when the
node gave no answer (connection refused or cut); CODE is the retCode (or
code) of the JSON answer, TOKEN the token of a successful /generate ("-"
otherwise).

Usage:
  load.py validate --socks A,B,C --work FILE --clients N --out LOG
          [--passes P | --until STOPFILE]
      FILE has one "LABEL USER TENANT CREDENTIAL" per line (TENANT "-" for
      none); client i takes lines i, i+N, i+2N, ... and sends them to the
      nodes round robin, P times over (default 1) or until STOPFILE exists.
  load.py generate --socks A,B,C --admin-key-file F --clients N --out LOG
          (--until STOPFILE | --count N) [--prefix P]
      each client issues tokens through POST /generate for users
      P<client>_<n>, round robin over the nodes, until STOPFILE exists or
      N requests were sent in all (N distinct users).
Exits 0 once every client is done (the verdicts are the caller's to judge).
"""
import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time

VPATH = "/rest/cc-management/v1/thirdparty/thirdPartyValidate"


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


class Client:
    """One keep-alive connection per node; a broken one is made afresh."""

    def __init__(self, socks, timeout=10.0):
        self.socks = socks
        self.conns = [None] * len(socks)
        self.timeout = timeout

    def post(self, node, path, body, headers):
        """(http status or None, parsed JSON or None)."""
        for attempt in (0, 1):
            c = self.conns[node]
            fresh = c is None
            if fresh:
                c = self.conns[node] = UnixConn(self.socks[node], self.timeout)
            try:
                c.request("POST", path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    self.conns[node] = None
                try:
                    return r.status, json.loads(data)
                except ValueError:
                    return r.status, None
            except (OSError, http.client.HTTPException):
                c.close()
                self.conns[node] = None
                # a kept-alive connection the server closed between two
                # requests is retried once on a new one; a fresh one that
                # fails means the node gave no answer
                if fresh or attempt == 1:
                    return None, None
        return None, None


def code_of(doc):
    if not isinstance(doc, dict):
        return "-"
    for k in ("retCode", "code"):
        if isinstance(doc.get(k), int):
            return str(doc[k])
    return "0" if "token" in doc else "-"


def validate_client(args, i, lines, out, lock):
    cl = Client(args.socks)
    mine = lines[i :: args.clients]
    if not mine:
        return
    n = 0
    p = 0
    while True:
        if args.until:
            if os.path.exists(args.until):
                break
        elif p >= args.passes:
            break
        for label, user, tenant, cred in mine:
            node = (i + n) % len(args.socks)
            n += 1
            body = {"access_token": cred, "userAccount": user}
            body["tenantSpaceId"] = "" if tenant == "-" else tenant
            t0 = time.time()
            st, doc = cl.post(node, VPATH, json.dumps(body),
                              {"Content-Type": "application/json"})
            t1 = time.time()
            with lock:
                out.write("%.6f %.6f %d %d %s %s %s\n" % (
                    t0, t1, i, node + 1, label, st if st else "-", code_of(doc)))
            if args.until and os.path.exists(args.until):
                break
        p += 1


def generate_client(args, i, key, out, lock):
    cl = Client(args.socks)
    n = 0
    while True:
        if args.until and os.path.exists(args.until):
            break
        if args.count is not None:
            with lock:
                if args.count <= 0:
                    break
                args.count -= 1
        node = (i + n) % len(args.socks)
        user = "%s%d_%d" % (args.prefix, i, n)
        n += 1
        body = json.dumps({"userAccount": user, "tenantSpaceId": "acme"})
        t0 = time.time()
        st, doc = cl.post(node, "/generate", body,
                          {"Content-Type": "application/json", "x-api-key": key})
        t1 = time.time()
        tok = doc.get("token") if isinstance(doc, dict) else None
        ok = st in (200, 201) and isinstance(tok, str) and tok
        with lock:
            out.write("%.6f %.6f %d %d %s %s %s %s\n" % (
                t0, t1, i, node + 1, user, st if st else "-", code_of(doc),
                tok if ok else "-"))
        if st is None:
            time.sleep(0.01)  # a dead node: do not spin


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("validate", "generate"))
    ap.add_argument("--socks", required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work")
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--until")
    ap.add_argument("--count", type=int)
    ap.add_argument("--admin-key-file")
    ap.add_argument("--prefix", default="gen")
    args = ap.parse_args()
    args.socks = args.socks.split(",")
    lock = threading.Lock()
    out = open(args.out, "w", buffering=1)
    threads = []
    if args.mode == "validate":
        lines = []
        with open(args.work) as f:
            for ln in f:
                parts = ln.split()
                if len(parts) == 4:
                    lines.append(parts)
        target, extra = validate_client, (lines,)
    else:
        if not (args.until or args.count) or not args.admin_key_file:
            ap.error("generate needs --until or --count, and --admin-key-file")
        with open(args.admin_key_file) as f:
            key = f.read().strip()
        target, extra = generate_client, (key,)
    for i in range(args.clients):
        t = threading.Thread(target=target, args=(args, i) + extra + (out, lock))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
