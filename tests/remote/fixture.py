#!/usr/bin/env python3
"""Verify-endpoint fixture for the remote tests: HTTPS (or plain HTTP) on
127.0.0.1, one behaviour per path.  Prints "READY <port>" once listening.

  /ok /retcode1 /500 /badjson /noretcode /big /hang /redirect /dupkeys
  /introspect-active /introspect-inactive /introspect-other
  /kudo-ok /kudo-403 /kudo-other /kudo-exp     (GET, x-api-token)
  /ok-no-user  GET: 200 {"status": "ok"}, as a health check answers
  /apikey     200 only with the right x-api-key
  /signed     200 only with a valid SPEC 5 signature and a fresh nonce
  /expiring   cec success carrying expiration_time = now + 3
"""
import argparse, hashlib, hmac, json, os, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
SEEN = set()
LOCK = threading.Lock()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without NODELAY,
        # Nagle and the client's delayed ACK add 40 ms to every response
        import socket
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):
        pass

    def parse_request(self):
        ok = super().parse_request()
        if ok and ARGS.log:
            # one line per request: the path, and the x-api-token as received
            with LOCK, open(ARGS.log, "a") as f:
                f.write("%s %s %r\n" % (self.command, self.path,
                                         self.headers.get("x-api-token")))
        return ok

    def send(self, code, obj=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def signed_ok(self, body):
        ts = self.headers.get("X-TokenAuth-Timestamp", "")
        nonce = self.headers.get("X-TokenAuth-Nonce", "")
        sig = self.headers.get("X-TokenAuth-Signature", "")
        key = open(ARGS.sign_key, "rb").read().rstrip(b"\r\n")
        msg = f"{ts}\n{nonce}\n{self.command}\n{self.path}\n".encode() + body
        want = hmac.new(key, msg, hashlib.sha256).hexdigest()
        if not ts.isdigit() or abs(int(ts) - time.time()) > 300 or len(nonce) < 32:
            return 400
        if not hmac.compare_digest(want, sig):
            return 401
        with LOCK:
            if nonce in SEEN:
                return 409
            SEEN.add(nonce)
        if ARGS.record:
            with open(ARGS.record, "w") as f:
                json.dump({"ts": ts, "nonce": nonce, "sig": sig, "body": body.decode()}, f)
        return 200

    def cec(self, body):
        try:
            req = json.loads(body)
            ok = (req["userAccount"] == "alice" and req["tenantSpaceId"] == "acme"
                  and req["access_token"] == ARGS.token)
        except Exception:
            return self.send(400, {"retCode": 2, "message": "bad request"})
        return self.send(200, {"retCode": 0 if ok else 1, "message": "validate"})

    def do_POST(self):
        b = self.body()
        p = self.path
        if p == "/ok":
            return self.cec(b)
        if p == "/retcode1":
            return self.send(200, {"retCode": 1, "message": "no"})
        if p == "/500":
            return self.send(500, {"retCode": 0})
        if p == "/badjson":
            return self.send(200, raw=b'{"retCode": 0')
        if p == "/noretcode":
            return self.send(200, {"message": "validate success"})
        if p == "/dupkeys":
            return self.send(200, raw=b'{"retCode": 1, "retCode": 0}')
        if p == "/big":
            chunk = b" " * 65536
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(160):
                    self.wfile.write(chunk)
            except Exception:
                pass
            return
        if p == "/hang":
            time.sleep(30)
            return
        if p == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if p == "/apikey":
            if self.headers.get("x-api-key") != ARGS.api_key:
                return self.send(401, {"error": "bad api key"})
            return self.cec(b)
        if p == "/signed":
            code = self.signed_ok(b)
            if code != 200:
                return self.send(code, {"error": "signature refused"})
            return self.cec(b)
        if p == "/expiring":
            return self.send(200, {"retCode": 0, "expiration_time": int(time.time()) + 3})
        if p.startswith("/introspect-"):
            form = dict(x.split("=", 1) for x in b.decode().split("&") if "=" in x)
            active = p.endswith("active") and not p.endswith("inactive") and form.get("token") == ARGS.token
            out = {"active": active}
            if active:
                out["sub"] = "alice"
                out["exp"] = int(time.time()) + 3600
            if p.endswith("other"):
                out = {"active": True, "sub": "mallory"}
            if p.endswith("anon"):  # active for any token, naming nobody
                out = {"active": True, "exp": int(time.time()) + 3600}
            return self.send(200, out)
        return self.send(404, {"error": "no such path"})

    def do_GET(self):
        p = self.path
        tok = self.headers.get("x-api-token")
        if p == "/ok-no-user":  # what a health check answers: no verdict on any token
            return self.send(200, {"status": "ok"})
        if p.startswith("/kudo-"):
            if p == "/kudo-403" or tok != ARGS.token:
                return self.send(403, raw=b'{"error": "Wrong token"}')
            params = {"userAccount": "alice", "tenantSpaceId": "acme", "file": "x"}
            if p == "/kudo-other":
                params["userAccount"] = "mallory"
            if p == "/kudo-exp":
                params["expiration_time"] = int(time.time()) + 3
            return self.send(200, params)
        return self.send(404, {"error": "no such path"})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--tls11", action="store_true")
    ap.add_argument("--token", required=True)
    ap.add_argument("--api-key", default="")
    ap.add_argument("--sign-key", default="")
    ap.add_argument("--record", default="")
    ap.add_argument("--log", default="")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    if not ARGS.plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if ARGS.tls11:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    print("READY", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
