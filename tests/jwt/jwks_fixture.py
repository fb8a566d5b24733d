#!/usr/bin/python3
"""JWKS endpoint for the jwt tests: HTTPS on 127.0.0.1, a port the kernel
picks (printed as "READY <port>").  GET /jwks answers the file --jwks as it
is at that moment (rewrite it to rotate keys); every GET appends one line
to --log, so tests count fetches.  /slow waits --delay seconds first;
/500 fails; /garbage answers a body that is no key set.
"""
import argparse, ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_GET(self):
        with open(A.log, "a") as f:
            f.write(self.path + "\n")
        if self.path == "/slow":
            time.sleep(A.delay)
        if self.path == "/500":
            code, body = 500, b"{}"
        elif self.path == "/garbage":
            code, body = 200, b"<html>not a key set</html>"
        else:
            code, body = 200, open(A.jwks, "rb").read()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--jwks", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--delay", type=float, default=5)
    A = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(A.cert, A.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("READY", srv.server_address[1], flush=True)
    srv.serve_forever()


main()
