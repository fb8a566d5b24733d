#!/bin/sh
# make bench (jwt part): tokens and a key set from PyJWT (tests/jwt/mint.py)
# with keys from openssl genpkey, then bench_jwt.  Usage: jwt.sh BUILD_DIR
set -eu
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
M="$HERE/../tests/jwt/mint.py"
W=$(mktemp -d /tmp/ta-jbench-XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 700 "$W"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/ec.pem" 2>/dev/null
/usr/bin/python3 "$M" jwks r1:RS256:"$W/rsa.pem" e1:ES256:"$W/ec.pem" >"$W/jwks.json"
/usr/bin/python3 "$M" token "$W/rsa.pem" RS256 --kid r1 --claims '{"exp": 4000000000}' >"$W/rs256.tok"
/usr/bin/python3 "$M" token "$W/ec.pem" ES256 --kid e1 --claims '{"exp": 4000000000}' >"$W/es256.tok"
"$B/bench_jwt" "$W"
