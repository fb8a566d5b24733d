#!/bin/sh
# jwt.sh BUILD - attacks at the jwt backend (SECURITY.md, "OIDC access
# tokens"): one case per attack, each through the real CLI
# (`tokenauth verify`, exactly as a login), each checking the verdict and
# that the token never reaches the output.  Tokens are minted by PyJWT
# (tests/jwt/mint.py) with keys from `openssl genpkey`; the JWKS endpoint
# is tests/jwt/jwks_fixture.py over HTTPS on 127.0.0.1, counting fetches.
# Ends with "attacks-jwt: N passed, N failed".
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
JWT_HERE=$(cd "$HERE/../jwt" && pwd)
W=$(mktemp -d /tmp/ta-attacks-jwt-XXXXXX) || exit 1
chmod 700 "$W"
. "$HERE/../cli/lib.sh"
. "$JWT_HERE/lib.sh"
trap jwt_cleanup EXIT
trap 'exit 130' INT TERM
: >"$W/results"
jwt_keys
F=$(conf file "jwks_file = $W/jwks.json" "jwt_tenant_claim = tid")
"$TA" -c "$F" init >/dev/null 2>&1
R="$W/rsa.pem"
good=$(mint "$R" RS256 --kid r1)
case_ 0 "control: a good RS256 token" "$F" "$good"

# ---- forged algorithms and keys ----------------------------------------------------------
for a in none None NONE nOnE; do
	case_ 1 "alg: $a" "$F" "$(mint "$R" "$a" --kid r1)"
done
err_has "alg none refused" "alg none named"
case_ 1 "HS256 signed with the RSA public key as secret" "$F" \
	"$(mint "$R" HS256 --kid r1 --hs-secret "$W/rsa.pub")"
err_has "alg not in jwt_algorithms" "HS256 refusal named"
case_ 1 "HS256 signed with the EC public key as secret" "$F" \
	"$(mint "$R" HS256 --kid e1 --hs-secret "$W/ec.pub")"
EVILJWK=$(jwks x:-:"$W/evil.pem" | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["keys"][0]))')
case_ 1 "header jwk: the attacker's own key" "$F" \
	"$(mint "$W/evil.pem" RS256 --kid r1 --header "{\"jwk\": $EVILJWK}")"
err_has "never trusted" "carried key named"
for h in jku x5u; do
	case_ 1 "header $h: the attacker's key URL" "$F" \
		"$(mint "$W/evil.pem" RS256 --kid r1 --header "{\"$h\": \"https://127.0.0.1:1/evil\"}")"
done
case_ 1 "header x5c: the attacker's certificate" "$F" \
	"$(mint "$W/evil.pem" RS256 --kid r1 --header '{"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}')"
case_ 1 "signed by the attacker's key under our kid" "$F" "$(mint "$W/evil.pem" RS256 --kid r1)"
case_ 1 "header crit" "$F" "$(mint "$R" RS256 --kid r1 --header '{"crit": ["exp"], "exp": 1}')"
case_ 1 "alg outside jwt_algorithms (RS384)" "$F" "$(mint "$R" RS384 --kid r1)"

# ---- hostile kids --------------------------------------------------------------------------
case_ 1 "kid ../../etc/passwd (unknown)" "$F" "$(mint "$R" RS256 --kid "../../etc/passwd")"
err_has "unknown kid" "unknown kid named"
for k in "../../../../etc/passwd" "/etc/shadow" "r1\"" "' OR '1'='1" "r1; DROP TABLE tokens; --"; do
	case_ 1 "kid $k" "$F" "$(mint "$R" RS256 --kid "$k")"
done
case_ 1 "kid with a control character" "$F" "$(mint "$R" RS256 --kid "$(printf 'r1\001')")"
[ -f /etc/passwd ] && ok

# ---- claims -------------------------------------------------------------------------------
now=$(date +%s)
case_ 1 "exp missing" "$F" "$(mint "$R" RS256 --kid r1 --drop exp)"
err_has "exp missing" "missing exp named"
case_ 1 "exp passed (beyond the leeway)" "$F" "$(mint "$R" RS256 --kid r1 --claims "{\"exp\": $((now - 120))}")"
err_has "exp passed" "expiry named"
case_ 1 "exp a string" "$F" "$(mint "$R" RS256 --kid r1 --claims '{"exp": "tomorrow"}')"
case_ 1 "nbf in the future" "$F" "$(mint "$R" RS256 --kid r1 --claims "{\"nbf\": $((now + 600))}")"
case_ 1 "iat in the future" "$F" "$(mint "$R" RS256 --kid r1 --claims "{\"iat\": $((now + 600))}")"
case_ 0 "nbf within the leeway" "$F" "$(mint "$R" RS256 --kid r1 --claims "{\"nbf\": $((now + 30))}")"
case_ 1 "wrong iss" "$F" "$(mint "$R" RS256 --kid r1 --claims '{"iss": "https://evil.example/realms/acme"}')"
case_ 1 "iss with a trailing slash" "$F" "$(mint "$R" RS256 --kid r1 --claims "{\"iss\": \"$ISS/\"}")"
case_ 1 "aud missing" "$F" "$(mint "$R" RS256 --kid r1 --drop aud)"
case_ 1 "aud wrong" "$F" "$(mint "$R" RS256 --kid r1 --claims '{"aud": "someone-else"}')"
case_ 1 "aud an array without ours" "$F" "$(mint "$R" RS256 --kid r1 --claims '{"aud": ["a", "b"]}')"
case_ 0 "aud an array with ours" "$F" "$(mint "$R" RS256 --kid r1 --claims '{"aud": ["a", "tokenauth"]}')"
case_ 1 "token of another user" "$F" "$(mint "$R" RS256 --kid r1 --claims '{"sub": "mallory"}')"
case_ 1 "user claim missing" "$F" "$(mint "$R" RS256 --kid r1 --drop sub)"
case_ 1 "token of another tenant" "$F" "$(mint "$R" RS256 --kid r1 --claims '{"tid": "globex"}')"
err_has "tenant claim names another tenant" "tenant named"
# no jwt_tenant_claim: a token names no tenant, so it is good for the
# configured tenant only; with tenant_from_user it used to open
# alice@globex, alice@anything
T=$(conf tfu "jwks_file = $W/jwks.json" "tenant_from_user = yes")
case_ 0 "no tenant claim: the configured tenant" "$T" "$good" alice
case_ 1 "no tenant claim: alice@globex with acme's token" "$T" "$good" alice@globex
err_has "no jwt_tenant_claim" "tenant refusal named"
case_ 1 "duplicate claims (sub twice)" "$F" \
	"$(mint "$R" RS256 --kid r1 --payload "{\"iss\":\"$ISS\",\"aud\":\"tokenauth\",\"exp\":$((now + 300)),\"sub\":\"mallory\",\"sub\":\"alice\",\"tid\":\"acme\"}")"
err_has "duplicate claims" "duplicates named"
case_ 1 "non-JSON payload" "$F" "$(mint "$R" RS256 --kid r1 --payload 'alice is admin')"
err_has "payload is not a JSON object" "non-JSON named"
case_ 1 "payload a JSON array" "$F" "$(mint "$R" RS256 --kid r1 --payload '["alice"]')"
case_ 1 "escaped NUL in the user claim" "$F" \
	"$(mint "$R" RS256 --kid r1 --payload "{\"iss\":\"$ISS\",\"aud\":\"tokenauth\",\"exp\":$((now + 300)),\"sub\":\"alice\\\\u0000x\",\"tid\":\"acme\"}")"

# ---- signatures and size ---------------------------------------------------------------------
case_ 1 "truncated signature" "$F" "$(mint "$R" RS256 --kid r1 --tamper truncate)"
case_ 1 "bit-flipped signature (RS256)" "$F" "$(mint "$R" RS256 --kid r1 --tamper flip)"
case_ 1 "bit-flipped signature (ES256)" "$F" "$(mint "$W/ec.pem" ES256 --kid e1 --tamper flip)"
# ECDSA signature malleability: R || S must be exactly 64 bytes (RFC 7518
# 3.4); cjose halves whatever it gets, so zero-padded R and S, or one
# trailing byte, were accepted as the same signature
for form in trail1 pad0 pad10; do
	case_ 1 "ES256 signature re-spelled ($form)" "$F" "$("$PY" - "$W/ec.pem" "$form" "$ISS" <<'PYEOF'
import base64, json, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
claims = {"iss": sys.argv[3], "aud": "tokenauth", "sub": "alice", "tid": "acme",
          "exp": int(time.time()) + 300}
si = b(b'{"alg":"ES256","kid":"e1"}') + "." + b(json.dumps(claims).encode())
r, s = decode_dss_signature(key.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
R, S = r.to_bytes(32, "big"), s.to_bytes(32, "big")
sig = {"trail1": R + S + b"\x99", "pad0": b"\0" + R + b"\0" + S,
       "pad10": b"\0" * 10 + R + b"\0" * 10 + S}[sys.argv[2]]
print(si + "." + b(sig))
PYEOF
)"
	err_has "signature length wrong for the alg" "ES256 length refusal named ($form)"
done
case_ 1 "bit-flipped signature (EdDSA)" "$F" "$(mint "$W/ed.pem" EdDSA --kid d1 --tamper flip)"
case_ 1 "signature segment empty" "$F" "$(echo "$good" | sed 's/\.[^.]*$/./')"
case_ 1 "padding in a segment" "$F" "$(echo "$good" | sed 's/\./=./')"
big=$(mint "$R" RS256 --kid r1 --pad 12000)
[ ${#big} -gt 16384 ] && ok || bad "the big token is only ${#big} bytes"
case_ 2 "16 KiB token: refused on input" "$F" "$big"
err_has "longer than 8193 bytes" "size refusal named"
# one byte past the JWT cap reaches the core's gate, which refuses it
over=$("$PY" -c 'print("eyJ" + "A" * (8193 - 3 - 9) + ".e30.c2ln")')
[ ${#over} = 8193 ] && ok || bad "over is ${#over} bytes"
case_ 1 "8193-byte JWT shape: refused by the gate" "$F" "$over"
err_has "longer than 512 bytes (8192 for a JWT" "gate refusal named"
case_ 0 "a 6 KiB token is a JWT still" "$F" "$(mint "$R" RS256 --kid r1 --pad 4000)"
# a long credential that is no JWT stays capped at 512 bytes
case_ 1 "700 bytes that are no JWT" "$F" "$(head -c 700 /dev/zero | tr '\0' a)"

# ---- the JWKS endpoint -----------------------------------------------------------------------
cp "$W/jwks.json" "$W/served.json"
start_fixture u "$W/served.json"
U=https://127.0.0.1:$PORT
UPID=$FIXPID
C=$(conf url "jwks_url = $U/jwks" "jwks_min_refresh = 2")
case_ 0 "jwks_url: fetched over HTTPS" "$C" "$good"
[ "$(fetches u)" = 1 ] && ok || bad "first check: $(fetches u) fetches, wanted 1"
case_ 0 "jwks_url: second process uses the on-disk cache" "$C" "$good"
[ "$(fetches u)" = 1 ] && ok || bad "cached: $(fetches u) fetches, wanted 1"
m=$(stat -c %a "$(echo "$W"/state-url/jwks-cache-*.json)")
[ "$m" = 600 ] && ok || bad "jwks-cache.json mode $m"
sleep 2.2
case_ 1 "unknown kid: refused after one refetch" "$C" "$(mint "$W/rsa2.pem" RS256 --kid r2)"
[ "$(fetches u)" = 2 ] && ok || bad "unknown kid: $(fetches u) fetches, wanted exactly 2"
case_ 1 "unknown kid again within jwks_min_refresh: no fetch" "$C" "$(mint "$W/rsa2.pem" RS256 --kid r3)"
[ "$(fetches u)" = 2 ] && ok || bad "min-refresh: $(fetches u) fetches, wanted 2"
# rotation: r2 added, r1 removed, no restart (a new process is a login)
jwks r2:-:"$W/rsa2.pem" e1:ES256:"$W/ec.pem" >"$W/served.json"
sleep 2.2
case_ 0 "rotation: the new kid is fetched and accepted" "$C" "$(mint "$W/rsa2.pem" RS256 --kid r2)"
[ "$(fetches u)" = 3 ] && ok || bad "rotation: $(fetches u) fetches, wanted 3"
case_ 1 "rotation: the removed key no longer works" "$C" "$good"
kill "$UPID" 2>/dev/null
wait "$UPID" 2>/dev/null
case_ 0 "fixture stopped: the cached set still serves" "$C" "$(mint "$W/rsa2.pem" RS256 --kid r2)"
# max age: the cache file's fetch time moved into the past, endpoint down
"$PY" - "$(echo "$W"/state-url/jwks-cache-*.json)" <<'PYEOF'
import json, sys, time
p = sys.argv[1]
c = json.load(open(p))
c["fetched"] = int(time.time()) - 90000
c["attempted"] = int(time.time()) - 90000
json.dump(c, open(p, "w"))
PYEOF
case_ 3 "max age passed, endpoint down: unavailable (fail closed)" "$C" "$(mint "$W/rsa2.pem" RS256 --kid r2)"
err_has "younger than jwks_max_age" "stale set named"
# a fetch time in the future (clock ahead, edited file) must not keep the set forever
"$PY" - "$(echo "$W"/state-url/jwks-cache-*.json)" <<'PYEOF'
import json, sys, time
p = sys.argv[1]
c = json.load(open(p))
c["fetched"] = int(time.time()) + 10 * 365 * 86400
c["attempted"] = int(time.time()) + 10 * 365 * 86400
json.dump(c, open(p, "w"))
PYEOF
case_ 3 "a cache stamped in the future, endpoint down: unavailable (taken as old)" "$C" \
	"$(mint "$W/rsa2.pem" RS256 --kid r2)"
# a lying endpoint: garbage keeps the last good set
start_fixture g "$W/served.json"
G=$(conf garbage "jwks_url = https://127.0.0.1:$PORT/garbage")
case_ 3 "garbage key set and nothing cached: unavailable" "$G" "$good"
err_has "bad key set" "garbage named"
# a lying endpoint: a key whose n is 4k+1 base64url characters (cjose 0.6.2
# aborts on those): skipped, never handed to cjose, no crash
printf '{"keys":[{"kty":"RSA","kid":"r1","n":"AQABA","e":"AQAB"}]}' >"$W/lying.json"
start_fixture l "$W/lying.json"
Y=$(conf lying "jwks_url = https://127.0.0.1:$PORT/jwks")
case_ 3 "JWKS key with a 4k+1 base64url member: refused, no crash" "$Y" "$good"
err_has "no usable signing key" "bad key named"
# a slow endpoint is bounded by timeout_ms
start_fixture s "$W/served.json" --delay 10
S=$(conf slow "jwks_url = https://127.0.0.1:$PORT/slow" "timeout_ms = 1000")
t0=$(date +%s%N)
case_ 3 "slow endpoint: bounded by timeout_ms" "$S" "$good"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 4000 ] && ok || bad "slow endpoint took $ms ms"
# wrong CA: TLS verification is on
N=$(conf noca "jwks_url = https://127.0.0.1:$PORT/jwks" "ca_file = /etc/ssl/certs/ca-certificates.crt")
case_ 3 "JWKS server certificate not trusted" "$N" "$good"
# failed fetches share the bound too: with the endpoint answering a bad
# set, every new process (a login) with an unknown kid used to refetch,
# since only a good fetch wrote the attempt time to the cache file
cp "$W/jwks.json" "$W/failing.json"
start_fixture ff "$W/failing.json"
FF=$(conf failing "jwks_url = https://127.0.0.1:$PORT/jwks" "jwks_min_refresh = 30")
case_ 0 "failing endpoint: first fetch good" "$FF" "$good"
echo '{"keys":[]}' >"$W/failing.json"
"$PY" - "$(echo "$W"/state-failing/jwks-cache-*.json)" <<'PYEOF'
import json, sys, time
p = sys.argv[1]
c = json.load(open(p))
c["fetched"] = c["attempted"] = int(time.time()) - 40
json.dump(c, open(p, "w"))
PYEOF
for i in 1 2 3 4; do
	case_ 1 "failing endpoint: unknown kid $i" "$FF" "$(mint "$W/evil.pem" RS256 --kid "f$i")"
done
[ "$(fetches ff)" = 2 ] && ok || bad "failing endpoint: $(fetches ff) fetches for 4 logins, wanted 2"
case_ 0 "failing endpoint: the last good set still serves" "$FF" "$good"
[ "$(fetches ff)" = 2 ] && ok || bad "failing endpoint: $(fetches ff) fetches, wanted 2"
# two configurations sharing a store folder, each with its own jwks_url:
# one jwks-cache.json for both meant each login overwrote the other's
# set and fetched again (6 fetches for 6 logins); one file per URL now
start_fixture pp "$W/jwks.json"
PA=$(conf pp "jwks_url = https://127.0.0.1:$PORT/a/jwks")
mv "$PA" "$W/ppa.conf"
PB=$(conf pp "jwks_url = https://127.0.0.1:$PORT/b/jwks")
for i in 1 2 3; do
	case_ 0 "shared store folder, issuer A, login $i" "$W/ppa.conf" "$good"
	case_ 0 "shared store folder, issuer B, login $i" "$PB" "$good"
done
[ "$(fetches pp)" = 2 ] && ok || bad "shared store folder: $(fetches pp) fetches for 6 logins, wanted 2"
summary "attacks-jwt"
