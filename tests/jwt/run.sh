#!/bin/sh
# run.sh BUILD - the jwt backend through every real entry point (make
# check-jwt): the CLI (`tokenauth verify`), PAM (pamtester under
# pam_wrapper), SASL (OAUTHBEARER and XOAUTH2 through Cyrus SASL's
# sasl-sample-server) and tokenauthd (validate and /introspect over its
# Unix socket, with curl).  Tokens are minted by PyJWT (mint.py) with keys
# from `openssl genpkey`: RS256, PS256, ES256 and EdDSA.  The attacks are
# in tests/attacks/jwt.sh.  Ends with "jwt: N passed, N failed".
set -u
B=$(cd "$1" && pwd)
JWT_HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/ta-jwt-XXXXXX) || exit 1
chmod 700 "$W"
. "$JWT_HERE/../cli/lib.sh"
. "$JWT_HERE/lib.sh"
TDPID=""
cleanup() {
	[ -n "$TDPID" ] && kill "$TDPID" 2>/dev/null
	jwt_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$W/results"
jwt_keys
R="$W/rsa.pem"
F=$(conf file "jwks_file = $W/jwks.json" "jwt_tenant_claim = tid")
"$TA" -c "$F" init >/dev/null 2>&1

# ---- the CLI: four algorithms, options ---------------------------------------------------------
case_ 0 "RS256 accepted" "$F" "$(mint "$R" RS256 --kid r1)"
out_has valid "verdict printed"
case_ 0 "PS256 accepted" "$F" "$(mint "$R" PS256 --kid r1)"
case_ 0 "ES256 accepted" "$F" "$(mint "$W/ec.pem" ES256 --kid e1)"
case_ 0 "EdDSA (Ed25519) accepted" "$F" "$(mint "$W/ed.pem" EdDSA --kid d1)"
case_ 0 "a token without kid, one key fits the alg" "$F" "$(mint "$W/ec.pem" ES256)"
case_ 1 "ES256 token under the RSA key's kid" "$F" "$(mint "$W/ec.pem" ES256 --kid r1)"
P=$(conf ps "jwks_file = $W/jwks.json" "jwt_algorithms = PS256")
case_ 1 "RS256 outside jwt_algorithms = PS256" "$P" "$(mint "$R" RS256 --kid r1)"
case_ 0 "PS256 inside jwt_algorithms = PS256" "$P" "$(mint "$R" PS256 --kid r1)"
S=$(conf scope "jwks_file = $W/jwks.json" "jwt_required_scope = mail openid")
case_ 0 "required scopes present (scope string)" "$S" "$(mint "$R" RS256 --kid r1)"
case_ 0 "required scopes present (scp array)" "$S" \
	"$(mint "$R" RS256 --kid r1 --drop scope --claims '{"scp": ["mail", "openid"]}')"
case_ 1 "a required scope missing" "$S" "$(mint "$R" RS256 --kid r1 --claims '{"scope": "openid"}')"
err_has "jwt_required_scope" "missing scope named"
T=$(conf typ "jwks_file = $W/jwks.json" "jwt_typ = at+jwt")
case_ 0 "jwt_typ at+jwt matches" "$T" "$(mint "$R" RS256 --kid r1)"
case_ 0 "jwt_typ matches application/at+jwt" "$T" "$(mint "$R" RS256 --kid r1 --header '{"typ": "application/at+jwt"}')"
case_ 1 "jwt_typ: a JWT typ refused" "$T" "$(mint "$R" RS256 --kid r1 --header '{"typ": "JWT"}')"
E=$(conf email "jwks_file = $W/jwks.json" "jwt_user_claim = preferred_username")
case_ 0 "jwt_user_claim = preferred_username" "$E" \
	"$(mint "$R" RS256 --kid r1 --claims '{"preferred_username": "alice", "sub": "f3a1"}')"
head -c 48 /dev/urandom | base64 -w0 >"$W/hs.key"
chmod 600 "$W/hs.key"
H=$(conf hs "jwt_hs256_key_file = $W/hs.key" "jwt_algorithms = HS256")
case_ 0 "HS256 with jwt_hs256_key_file" "$H" "$(mint "$R" HS256 --hs-secret "$W/hs.key")"
case_ 1 "HS256 with another secret" "$H" "$(mint "$R" HS256 --hs-secret "$W/rsa.pub")"
H2=$(conf hs2 "jwks_file = $W/jwks.json" "jwt_algorithms = RS256,HS256")
case_ 2 "HS256 in jwt_algorithms without jwt_hs256_key_file: configuration error" "$H2" "$(mint "$R" RS256 --kid r1)"
err_has "go together" "config error named"
case_ 2 "jwt_algorithms = none refused" "$(conf none "jwks_file = $W/jwks.json" "jwt_algorithms = RS256,none")" "$(mint "$R" RS256 --kid r1)"
err_has "never none" "none named"
case_ 2 "jwt_algorithms = HS512 refused" "$(conf hs512 "jwks_file = $W/jwks.json" "jwt_algorithms = HS512")" "$(mint "$R" RS256 --kid r1)"
case_ 2 "jwks_url must be https" "$(conf http "jwks_url = http://127.0.0.1/jwks")" "$(mint "$R" RS256 --kid r1)"
err_has "expected one https:// URL" "https named"
case_ 2 "verify=jwt without jwt_issuer" "$(conf noiss "jwks_file = $W/jwks.json" "jwt_issuer = ")" "$(mint "$R" RS256 --kid r1)"
# jwt beside local: a tka_ token goes to the store, a JWT to the jwt backend
L=$(conf both "jwks_file = $W/jwks.json" "verify = jwt,local")
"$TA" -c "$L" init >/dev/null 2>&1
TKA=$("$TA" -c "$L" issue --user alice --tenant acme 2>/dev/null)
case_ 0 "verify = jwt,local: a local token" "$L" "$TKA"
case_ 0 "verify = jwt,local: a JWT" "$L" "$(mint "$R" RS256 --kid r1)"
# failures count: max_failures 2 locks after two refused JWTs
K=$(conf lock "jwks_file = $W/jwks.json" "max_failures = 2")
"$TA" -c "$K" init >/dev/null 2>&1
case_ 1 "refused JWT 1 (counted)" "$K" "$(mint "$R" RS256 --kid r1 --tamper flip)"
case_ 1 "refused JWT 2 (counted: locks)" "$K" "$(mint "$R" RS256 --kid r1 --tamper flip)"
case_ 1 "a good JWT while locked" "$K" "$(mint "$R" RS256 --kid r1)"
err_has "locked" "lockout applies to JWTs"

# ---- PAM: pamtester under pam_wrapper ----------------------------------------------------------
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
mkdir -p "$W/svc"
printf 'auth required %s config=%s\n' "$B/pam_tokenauth.so" "$F" >"$W/svc/jwt"
pt() { # pt SERVICE USER TOKEN -> pamtester's output in $W/pt
	printf '%s\n' "$3" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/svc" \
		pamtester "$1" "$2" authenticate >"$W/pt" 2>&1
}
if pt jwt alice "$(mint "$R" RS256 --kid r1)"; then ok; else bad "PAM: RS256 JWT refused: $(cat "$W/pt")"; fi
if pt jwt alice "$(mint "$W/ed.pem" EdDSA --kid d1 --pad 2000)"; then ok; else bad "PAM: a 3 KiB EdDSA JWT refused: $(cat "$W/pt")"; fi
if pt jwt bob "$(mint "$R" RS256 --kid r1)"; then bad "PAM: alice's JWT logged bob in"; else ok; fi
grep -q "Authentication failure" "$W/pt" && ok || bad "PAM: wrong user: $(cat "$W/pt")"
# PAM_AUTHTOK from an earlier module (pam_wrapper's pam_set_items), use_first_pass
printf 'auth required %s\nauth required %s config=%s use_first_pass\n' \
	"/usr/lib/$MULTIARCH/pam_wrapper/pam_set_items.so" "$B/pam_tokenauth.so" "$F" >"$W/svc/jwtuse"
ptstack() { # ptstack USER TOKEN: the token as PAM_AUTHTOK, nothing typed
	PAM_AUTHTOK=$2 LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/svc" \
		pamtester jwtuse "$1" authenticate </dev/null >"$W/pt" 2>&1
}
if ptstack alice "$(mint "$W/ec.pem" ES256 --kid e1)"; then ok; else bad "PAM: JWT as PAM_AUTHTOK (use_first_pass) refused: $(cat "$W/pt")"; fi
if ptstack bob "$(mint "$W/ec.pem" ES256 --kid e1)"; then bad "PAM: PAM_AUTHTOK JWT of alice logged bob in"; else ok; fi
# max age passed, endpoint gone: PAM_AUTHINFO_UNAVAIL
cp "$W/jwks.json" "$W/served.json"
start_fixture p "$W/served.json"
C=$(conf pamurl "jwks_url = https://127.0.0.1:$PORT/jwks")
printf 'auth required %s config=%s\n' "$B/pam_tokenauth.so" "$C" >"$W/svc/jwturl"
if pt jwturl alice "$(mint "$R" RS256 --kid r1)"; then ok; else bad "PAM: jwks_url: $(cat "$W/pt")"; fi
kill "$FIXPID"
wait "$FIXPID" 2>/dev/null
"$PY" -c 'import json,sys,time; p=sys.argv[1]; c=json.load(open(p)); c["fetched"]=c["attempted"]=int(time.time())-90000; json.dump(c,open(p,"w"))' \
	"$(echo "$W"/state-pamurl/jwks-cache-*.json)"
if pt jwturl alice "$(mint "$R" RS256 --kid r1)"; then bad "PAM: stale keys accepted"; else ok; fi
grep -q "Authentication service cannot retrieve authentication info" "$W/pt" && ok ||
	bad "PAM: stale keys, endpoint down: not PAM_AUTHINFO_UNAVAIL: $(cat "$W/pt")"
case_ 3 "CLI: stale keys, endpoint down: exit 3" "$C" "$(mint "$R" RS256 --kid r1)"

# jwks_refresh: a set older than it is fetched again at the next check.
# Ages are whole seconds, so jwks_refresh = 1 failed when the two checks
# fell either side of a second boundary: 5 s leaves a slow machine room.
start_fixture rf "$W/jwks.json"
RF=$(conf refresh "jwks_url = https://127.0.0.1:$PORT/jwks" "jwks_refresh = 5" "jwks_min_refresh = 0")
case_ 0 "jwks_refresh: first check fetches" "$RF" "$(mint "$R" RS256 --kid r1)"
case_ 0 "jwks_refresh: within it, no fetch" "$RF" "$(mint "$R" RS256 --kid r1)"
[ "$(fetches rf)" = 1 ] && ok || bad "within jwks_refresh: $(fetches rf) fetches, wanted 1"
sleep 5.2
case_ 0 "jwks_refresh: after it, fetched again" "$RF" "$(mint "$R" RS256 --kid r1)"
[ "$(fetches rf)" = 2 ] && ok || bad "after jwks_refresh: $(fetches rf) fetches, wanted 2"

# ---- SASL: OAUTHBEARER and XOAUTH2 through sasl-sample-server --------------------------------
mkdir -p "$W/plug" "$W/sconf"
cp "$B/libtokenauth.so" "$W/plug/"
printf 'tokenauth_config: %s\nlog_level: 5\n' "$F" >"$W/sconf/sample.conf"
srv() { # srv MECH MESSAGE [SECOND]: the server's answer in $W/sout
	{
		printf 'C: %s\n' "$(printf '%s\000%s' "$1" "$2" | base64 -w0)"
		[ $# -ge 3 ] && printf 'C: %s\n' "$(printf "$3" | base64 -w0)"
	} >"$W/sin"
	SASL_CONF_PATH=$W/sconf timeout 20 sasl-sample-server -p "$W/plug" -s smtp -m "$1" \
		<"$W/sin" >"$W/sout" 2>&1
}
ob() { printf 'n,a=%s,\001auth=Bearer %s\001\001' "$1" "$2"; }
xo() { printf 'user=%s\001auth=Bearer %s\001\001' "$1" "$2"; }
big=$(mint "$R" RS256 --kid r1 --pad 5000)
[ ${#big} -gt 7000 ] && [ ${#big} -le 8192 ] && ok || bad "big JWT is ${#big} bytes"
for mech in OAUTHBEARER XOAUTH2; do
	m=ob
	[ $mech = XOAUTH2 ] && m=xo
	srv $mech "$($m alice "$(mint "$R" RS256 --kid r1)")"
	grep -q '^Username: alice$' "$W/sout" && ok || bad "SASL $mech: JWT refused: $(tail -3 "$W/sout")"
	srv $mech "$($m bob "$(mint "$W/ec.pem" ES256 --kid e1)")" '\001'
	if grep -q '^Username:' "$W/sout"; then bad "SASL $mech: alice's JWT accepted for bob"; else ok; fi
	grep -q "authentication failure" "$W/sout" && ok || bad "SASL $mech: wrong user: $(tail -3 "$W/sout")"
done
# sasl-sample-server reads lines of at most 8 KiB of base64: the big JWT goes
# through libsasl2 in process (tests/sasl/sasl_loop), both mechanisms, and
# every fourth attempt with a wrong token, which must fail
printf 'alice %s\n' "$big" >"$W/big.txt"
"$B/tests/sasl/sasl_loop" threads "$W/plug" "$F" 1 8 "$W/big.txt" >"$W/loop" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q "1 x 8 authentications.*: 8 correct, 0 wrong" "$W/loop"; then ok; else
	bad "SASL in process: a ${#big}-byte JWT (exit $rc): $(tail -3 "$W/loop")"
fi

# ---- tokenauthd: validate and /introspect ---------------------------------------------------------
D=$(conf td "jwks_file = $W/jwks.json" "jwt_tenant_claim = tid" "listen = unix:$W/td.sock")
"$B/tokenauthd" -c "$D" -f 2>"$W/td.log" &
TDPID=$!
for _ in $(seq 200); do grep -q "tokenauthd ready" "$W/td.log" && break; sleep 0.05; done
rq() { # rq PATH curl-args... -> body in $W/body, prints the status
	p=$1
	shift
	curl -s -m 10 --unix-socket "$W/td.sock" -o "$W/body" -w '%{http_code}' "$@" "http://localhost$p"
}
VP=/rest/cc-management/v1/thirdparty/thirdPartyValidate
tok=$(mint "$R" RS256 --kid r1)
s=$(rq $VP -H 'Content-Type: application/json' \
	-d "{\"access_token\":\"$tok\",\"tenantSpaceId\":\"acme\",\"userAccount\":\"alice\"}")
[ "$s" = 200 ] && grep -q '"retCode":0' "$W/body" && ok || bad "tokenauthd validate: $s $(cat "$W/body")"
s=$(rq $VP -H 'Content-Type: application/json' \
	-d "{\"access_token\":\"$tok\",\"tenantSpaceId\":\"acme\",\"userAccount\":\"bob\"}")
[ "$s" = 200 ] && ! grep -q '"retCode":0' "$W/body" && ok || bad "tokenauthd validate, wrong user: $s $(cat "$W/body")"
s=$(rq /introspect --data-urlencode "token=$tok")
[ "$s" = 200 ] && ok || bad "introspect status $s"
for f in '"active":true' '"sub":"alice"' '"username":"alice"' "\"iss\":\"$ISS\"" '"aud":"tokenauth"' \
	'"exp":' '"iat":' '"scope":"openid mail"' '"client_id":"mailclient"'; do
	grep -qF "$f" "$W/body" && ok || bad "introspect lacks $f: $(cat "$W/body")"
done
s=$(rq /introspect --data-urlencode "token=$(mint "$R" RS256 --kid r1 --tamper flip)")
[ "$s" = 200 ] && [ "$(cat "$W/body")" = '{"active":false}' ] && ok || bad "introspect, bad signature: $s $(cat "$W/body")"
s=$(rq /introspect --data-urlencode "token=$(mint "$R" RS256 --kid r1 --claims '{"aud": "other"}')")
[ "$(cat "$W/body")" = '{"active":false}' ] && ok || bad "introspect, wrong aud: $(cat "$W/body")"
s=$(rq /introspect --data-urlencode "token=$big")
grep -q '"active":true' "$W/body" && ok || bad "introspect, ${#big}-byte JWT: $s $(cat "$W/body")"
grep -qF "$tok" "$W/td.log" && bad "tokenauthd logged a token" || ok
kill "$TDPID"
wait "$TDPID" 2>/dev/null
TDPID=""
summary "jwt"
