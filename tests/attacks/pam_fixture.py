#!/usr/bin/env python3
"""A seed-004 (kudo) verify endpoint for tests/attacks/pam.sh.

Plain HTTP/1.1 on 127.0.0.1, connections kept alive, pipelined requests
answered in order as soon as each one is complete: exactly the server a
request smuggled inside a header needs.  Blank lines between requests are
skipped (RFC 9112 section 2.2), so a smuggled request followed by the
client's own final CRLF is read as one more request and nothing else.

  GET /healthz   200 {"status": "ok"}
  GET /verify    200 {"userAccount": U, "tenantSpaceId": ""} when the
                 x-api-token is a known token of U, else 403
  POST /cec      seed 000: retCode 0 when access_token is a known token
                 of userAccount, else retCode 1
  POST /introspect  RFC 7662: active when the form's token is known
(a repeated JSON key or form field: the last one wins, as in most servers,
so a client that let a credential add one would be caught)

Every request is logged, one JSON object a line, to --log: method, path,
every header, the body, and the raw bytes of the request head (so a test
can assert that a password never arrived in any form).  Prints
"READY <port>" once listening.
"""
import argparse, json, socket, threading, urllib.parse

ARGS = None
TOKENS = {}
LOCK = threading.Lock()


def log(entry):
    with LOCK, open(ARGS.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def answer(conn, code, obj):
    body = json.dumps(obj).encode()
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}[code]
    head = (f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    conn.sendall(head + body)


def verdict(tok):
    user = TOKENS.get(tok)
    if user is None:
        return 403, {"error": "Wrong token"}
    return 200, {"userAccount": user, "tenantSpaceId": ""}


def handle(conn, method, path, headers, body):
    if method == "GET" and path == "/healthz":
        return answer(conn, 200, {"status": "ok"})
    if method == "GET" and path == "/verify":
        return answer(conn, *verdict(headers.get("x-api-token", "")))
    if method == "POST" and path == "/cec":
        try:
            req = json.loads(body)
            ok = TOKENS.get(req["access_token"]) == req["userAccount"]
        except Exception:
            return answer(conn, 400, {"retCode": 2})
        return answer(conn, 200, {"retCode": 0 if ok else 1, "message": "v"})
    if method == "POST" and path == "/introspect":
        form = urllib.parse.parse_qs(body.decode("latin-1"))
        user = TOKENS.get((form.get("token") or [""])[-1])
        out = {"active": True, "sub": user} if user else {"active": False}
        return answer(conn, 200, out)
    return answer(conn, 404, {"error": "no such path"})


def serve(conn):
    buf = b""
    try:
        while True:
            while buf.startswith(b"\r\n") or buf.startswith(b"\n"):
                buf = buf[2:] if buf.startswith(b"\r\n") else buf[1:]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    return
                more = conn.recv(65536)
                if not more:
                    return
                buf += more
                continue
            head, buf = buf[:end], buf[end + 4:]
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            headers, raw_headers = {}, []
            for line in lines[1:]:
                name, _, value = line.partition(":")
                raw_headers.append([name, value.strip()])
                headers[name.strip().lower()] = value.strip()
            n = int(headers.get("content-length", "0") or 0)
            while len(buf) < n:
                more = conn.recv(65536)
                if not more:
                    return
                buf += more
            body, buf = buf[:n], buf[n:]
            entry = {"request": lines[0], "headers": raw_headers,
                     "body": body.decode("latin-1"), "head": head.decode("latin-1")}
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                log(entry)
                return answer(conn, 400, {"error": "bad request line"})
            log(entry)
            handle(conn, parts[0], parts[1], headers, body)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", action="append", default=[], help="TOKEN=USER")
    ARGS = ap.parse_args()
    for t in ARGS.token:
        tok, _, user = t.rpartition("=")
        TOKENS[tok] = user
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print("READY", s.getsockname()[1], flush=True)
    while True:
        conn, _ = s.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
