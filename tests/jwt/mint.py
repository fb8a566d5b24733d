#!/usr/bin/python3
"""Tokens and key sets for the jwt tests, made by an independent
implementation: PyJWT (python3-jwt) and python3-cryptography, with keys
from `openssl genpkey`.

  mint.py jwks KID:ALG:PEM ...         the public JWKS of those keys
  mint.py token PEM ALG [options]      a compact JWS on stdout

Options of token: --kid K, --claims JSON (merged over the defaults),
--drop NAME (remove a default claim), --header JSON (merged), --payload TEXT
(raw payload bytes instead of JSON claims), --hs-secret FILE (HS256 with
FILE's bytes as the secret, whatever PEM is), --tamper flip|truncate,
--pad N (a claim of N filler bytes).
"""
import argparse, base64, hmac, hashlib, json, sys, time

import jwt
from jwt.algorithms import get_default_algorithms, RSAAlgorithm, ECAlgorithm, OKPAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def load(pem):
    return serialization.load_pem_private_key(open(pem, "rb").read(), None)


def public_jwk(kid, alg, pem):
    pub = load(pem).public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        j = json.loads(RSAAlgorithm.to_jwk(pub))
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        j = json.loads(ECAlgorithm.to_jwk(pub))
    else:
        j = json.loads(OKPAlgorithm.to_jwk(pub))
    j.update({"kid": kid, "use": "sig"})
    if alg != "-":
        j["alg"] = alg
    return j


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("jwks")
    j.add_argument("keys", nargs="+")
    t = sub.add_parser("token")
    t.add_argument("pem")
    t.add_argument("alg")
    t.add_argument("--kid")
    t.add_argument("--claims", default="{}")
    t.add_argument("--drop", action="append", default=[])
    t.add_argument("--header", default="{}")
    t.add_argument("--payload")
    t.add_argument("--hs-secret")
    t.add_argument("--tamper")
    t.add_argument("--pad", type=int, default=0)
    a = ap.parse_args()
    if a.cmd == "jwks":
        keys = [public_jwk(*k.split(":", 2)) for k in a.keys]
        print(json.dumps({"keys": keys}))
        return
    now = int(time.time())
    claims = {"iss": "https://idp.example/realms/acme", "aud": "tokenauth", "sub": "alice",
              "exp": now + 300, "iat": now, "nbf": now, "tid": "acme",
              "scope": "openid mail", "client_id": "mailclient"}
    claims.update(json.loads(a.claims))
    for d in a.drop:
        claims.pop(d, None)
    if a.pad:
        claims["pad"] = "x" * a.pad
    header = {"alg": a.alg, "typ": "at+jwt"}
    if a.kid:
        header["kid"] = a.kid
    header.update(json.loads(a.header))
    if a.payload is None and a.hs_secret is None and a.alg.lower() != "none" and \
            json.loads(a.header) == {}:
        # the ordinary path: PyJWT itself builds and signs the token
        tok = jwt.encode(claims, load(a.pem), algorithm=a.alg,
                         headers={k: v for k, v in header.items() if k != "alg"})
    else:
        payload = a.payload.encode() if a.payload is not None else json.dumps(claims).encode()
        si = (b64u(json.dumps(header).encode()) + "." + b64u(payload)).encode()
        if a.alg.lower() == "none":
            sig = b""
        elif a.hs_secret:
            sig = hmac.new(open(a.hs_secret, "rb").read(), si, hashlib.sha256).digest()
        else:
            algo = get_default_algorithms()[a.alg]
            sig = algo.sign(si, algo.prepare_key(load(a.pem)))
        tok = si.decode() + "." + b64u(sig)
    if a.tamper == "truncate":
        tok = tok[:-10]
    elif a.tamper == "flip":
        h, p, s = tok.split(".")
        raw = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        raw[len(raw) // 2] ^= 0x01
        tok = h + "." + p + "." + b64u(bytes(raw))
    print(tok)


main()
