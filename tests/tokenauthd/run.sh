#!/bin/bash
# run.sh BUILD_DIR - tests of tokenauthd with real HTTP requests (make check-tokenauthd).
#
#  1. listeners: Unix socket mode/group, stale and foreign socket files,
#     plain TCP refused off loopback, TLS >= 1.2;
#  2. every endpoint over the Unix socket and over TLS: success and each
#     failure (bad JSON, missing field, wrong API key, expired and revoked
#     tokens, oversized body, wrong method/path/content type), with the
#     codes of tokenauthd(8);
#  3. signatures: good, bad, stale timestamp, replayed nonce, missing;
#  4. per-client rate limit and lockout; per-user lockout as for logins;
#  5. SIGHUP reload (good and bad file), SIGTERM, detached mode; sd_notify
#     (READY/RELOADING/STOPPING) to a NOTIFY_SOCKET of our own, and
#     systemd-analyze verify of the unit (notify.sh);
#  6. the PAM module and the SASL plugin with verify = remote through it;
#  7. 5 s of wrk at 64 connections against an ASan build: no errors;
#  8. kill -9 under load, restart: integrity_check ok, no issued token lost;
#  9. no token or key in any log.
# Last line: "tokenauthd: N passed, M failed"; exit status 1 on any failure.
set -u
B=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

finish() {
	for p in "$FIX"/*.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done
	echo "tokenauthd: $pass passed, $fail failed"
	[ -n "${TA_KEEP:-}" ] || rm -rf "$FIX"
	[ "$fail" -eq 0 ]
	exit $?
}
die() { bad "$*"; finish; }

make_fixture || die "fixture (openssl, tokenauth init)"
trap 'finish' INT TERM

SOCK=$FIX/td.sock
PPORT=$(free_port)
TPORT=$(free_port)
[ "$TPORT" = "$PPORT" ] && TPORT=$((PPORT + 1))
ADMINKEY=$(cat "$FIX/admin.key")
APIKEY=$(cat "$FIX/api.key")
CT="Content-Type: application/json"
group=root
getent group nogroup >/dev/null 2>&1 && group=nogroup

conf main "listen = unix:$SOCK,127.0.0.1:$PPORT" "socket_group = $group" \
    "admin_api_key_file = $FIX/admin.key" "sign_key_file = $FIX/sign.key" "max_failures = 3"
conf tls "listen = localhost:$TPORT" "tls_cert = $FIX/tls.crt" "tls_key = $FIX/tls.key" \
    "admin_api_key_file = $FIX/admin.key" "api_key_file = $FIX/api.key" "max_failures = 3" \
    "sign_key_file = $FIX/sign.key"

# ---- tokens made with the CLI ------------------------------------------------------
TOK=$(cli issue --user alice --tenant acme --param app=mail) || die "issue"
EXPTOK=$(cli issue --user exp --tenant acme --ttl 1s)
REVJSON=$(cli issue --user rev --tenant acme --json)
REVTOK=$(printf '%s' "$REVJSON" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
cli revoke "$(printf '%s' "$REVJSON" | sed -n 's/.*"id" *: *"\([0-9a-f]*\)".*/\1/p')" >/dev/null 2>&1
ADMTOK=$(cli issue --user admin)
LOCKTOK=$(cli issue --user lockme --tenant acme)
printf '%s\n' "$TOK" "$EXPTOK" "$REVTOK" "$ADMTOK" "$LOCKTOK" >"$FIX/secrets"

td_start main "$FIX/main.conf" || die "tokenauthd (unix + loopback) did not start: $(tail -3 "$FIX/main.log")"
td_start tls "$FIX/tls.conf" || die "tokenauthd (TLS) did not start: $(tail -3 "$FIX/tls.log")"

# req TRANSPORT METHOD PATH [curl args]: body to $FIX/body, headers to $FIX/hdr, prints status.
# Transports: unix, tcp (plain loopback), tls (adds x-api-key), tlsnokey.
req() {
	_t=$1 _m=$2 _p=$3
	shift 3
	case $_t in
	unix) _u="http://localhost$_p" && set -- --unix-socket "$SOCK" "$@" ;;
	tcp) _u="http://127.0.0.1:$PPORT$_p" ;;
	tls) _u="https://localhost:$TPORT$_p" && set -- --cacert "$FIX/tls.crt" -H "x-api-key: $APIKEY" "$@" ;;
	tlsnokey) _u="https://localhost:$TPORT$_p" && set -- --cacert "$FIX/tls.crt" "$@" ;;
	esac
	curl -s -m 10 -X "$_m" -o "$FIX/body" -D "$FIX/hdr" -w '%{http_code}' "$@" "$_u"
}

# t DESCRIPTION STATUS PATTERN TRANSPORT METHOD PATH [curl args]
t() {
	_d=$1 _s=$2 _pat=$3
	shift 3
	_got=$(req "$@")
	if [ "$_got" = "$_s" ] && grep -q -- "$_pat" "$FIX/body"; then
		ok "$_d"
	else
		bad "$_d (got $_got: $(head -c 160 "$FIX/body"))"
	fi
}

# newadm: a fresh admin access token RA (registration spends it) and its cenToken CEN.
newadm() {
	RA=$(cli issue --user admin --ttl 600)
	echo "$RA" >>"$FIX/secrets"
	CEN=$(printf '%s%s' admin "$RA" | openssl dgst -sha256 -hmac "$ADMINKEY" | awk '{print $NF}')
}
# rt DESCRIPTION STATUS PATTERN TRANSPORT BODY: a signed registration PUT with authToken RA.
rt() {
	_ts=$(date +%s)
	_n=$(openssl rand -hex 16)
	t "$1" "$2" "$3" "$4" PUT /token/registerActiveToken/admin -H "$CT" -H "X-Auth-Token: $RA" \
	    -H "X-TokenAuth-Timestamp: $_ts" -H "X-TokenAuth-Nonce: $_n" \
	    -H "X-TokenAuth-Signature: $(sig "$_ts" "$_n" PUT /token/registerActiveToken/admin "$5")" -d "$5"
}

# ---- 1. listeners -------------------------------------------------------------------
echo "== listeners"
check "unix socket has mode 0660" [ "$(stat -c %a "$SOCK")" = 660 ]
check "unix socket has group $group" [ "$(stat -c %G "$SOCK")" = "$group" ]
check "peer credentials logged for unix clients" \
    sh -c "curl -s --unix-socket '$SOCK' http://x/healthz >/dev/null && grep -q 'unix:uid=$(id -u),gid=' '$FIX/main.log'"
conf busy "listen = unix:$SOCK"
check "a live socket of another tokenauthd is not taken over" \
    sh -c "! '$TD' -c '$FIX/busy.conf' -f 2>'$FIX/busy.log' && grep -q 'in use' '$FIX/busy.log'"
: >"$FIX/file.sock"
conf foreign "listen = unix:$FIX/file.sock"
check "a regular file at the socket path is refused and left alone" \
    sh -c "! '$TD' -c '$FIX/foreign.conf' -f 2>'$FIX/foreign.log' && [ -f '$FIX/file.sock' ] && grep -q 'not a socket' '$FIX/foreign.log'"
mkdir -m 1777 "$FIX/public"
conf public "listen = unix:$FIX/public/td.sock"
check "a socket in a folder others can write to is refused (no root chmod through links)" \
    sh -c "! '$TD' -c '$FIX/public.conf' -f 2>'$FIX/public.log' && grep -q 'writable by group or others' '$FIX/public.log'"
conf samekey "listen = unix:$FIX/samekey.sock" "api_key_file = $FIX/admin.key" "admin_api_key_file = $FIX/admin.key"
check "one key for verifying and for /generate is refused" \
    sh -c "! '$TD' -c '$FIX/samekey.conf' -f 2>'$FIX/samekey.log' && grep -q 'same key' '$FIX/samekey.log'"
conf stale "listen = unix:$FIX/stale.sock"
td_start stale "$FIX/stale.conf" && td_stop stale KILL
check "kill -9 leaves a stale socket file" [ -S "$FIX/stale.sock" ]
check "a stale socket file is replaced on start" td_start stale "$FIX/stale.conf"
td_stop stale
conf public "listen = 0.0.0.0:$(free_port)"
check "plain TCP off loopback is refused without TLS" \
    sh -c "! '$TD' -c '$FIX/public.conf' -f 2>'$FIX/public.log' && grep -q 'not a loopback' '$FIX/public.log'"
conf halftls "listen = 127.0.0.1:$(free_port)" "tls_cert = $FIX/tls.crt"
check "tls_cert without tls_key is a configuration error" \
    sh -c "! '$TD' -c '$FIX/halftls.conf' -f 2>/dev/null"
check "TLS 1.3 handshake" curl -s -m 5 --cacert "$FIX/tls.crt" --tlsv1.3 -o /dev/null "https://localhost:$TPORT/healthz"
check "TLS 1.2 handshake" curl -s -m 5 --cacert "$FIX/tls.crt" --tlsv1.2 --tls-max 1.2 -o /dev/null "https://localhost:$TPORT/healthz"
check "TLS 1.1 refused" sh -c "! curl -s -m 5 -k --tlsv1 --tls-max 1.1 -o /dev/null 'https://localhost:$TPORT/healthz'"
check "plain HTTP to the TLS port fails" sh -c "! curl -s -m 5 -o /dev/null -f 'http://localhost:$TPORT/healthz'"
check "tokenauthd -t checks a configuration" sh -c "'$TD' -t -c '$FIX/main.conf' | grep -q 'configuration OK'"
# validate_path may not take a path of the route table (tokenauthd/routes.c)
conf clash "listen = unix:$FIX/clash.sock" "validate_path = /generate"
check "validate_path = /generate is refused at start, naming the endpoint it would shadow" \
    sh -c "! '$TD' -c '$FIX/clash.conf' -f 2>'$FIX/clash.log' && grep -q 'validate_path = /generate: this path is the service.s own endpoint POST /generate' '$FIX/clash.log' && [ ! -e '$FIX/clash.sock' ]"
conf clash2 "listen = unix:$FIX/clash2.sock" "validate_path = /token/x"
check "validate_path under /token/ is refused by tokenauthd -t, naming the reserved namespace" \
    sh -c "! '$TD' -t -c '$FIX/clash2.conf' >/dev/null 2>'$FIX/clash2.log' && grep -q 'clash2.conf: validate_path = /token/x: paths under /token/ are reserved for the service.s own endpoint PUT /token/registerActiveToken/{admin}' '$FIX/clash2.log'"

sleep 1 # let the 1 s token expire

# ---- 2. endpoints over the Unix socket and TLS ------------------------------------------
BIG=$FIX/big.json
{ printf '{"access_token":"'; head -c 20000 /dev/zero | tr '\0' a; printf '","tenantSpaceId":"acme","userAccount":"alice"}'; } >"$BIG"
for X in unix tls; do
	echo "== endpoints over $X"
	XK=$X
	[ $X = tls ] && XK=tlsnokey
	t "$X: GET /healthz" 200 '"status":"ok"' $X GET /healthz
	# /generate (seed 004)
	t "$X: /generate issues a token with parameters" 200 '"token":"tka_' $XK POST /generate \
	    -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"userAccount":"gen","tenantSpaceId":"acme","ttl":600,"file":"a.dwg","server":"s1"}'
	GENTOK=$(json_get token)
	echo "$GENTOK" >>"$FIX/secrets"
	exp=$(json_get expiration_time)
	now=$(date +%s)
	check "$X: expiration_time is now + ttl" [ "${exp:-0}" -ge $((now + 590)) -a "${exp:-0}" -le $((now + 610)) ]
	t "$X: /generate without API key -> 401 11001" 401 '"code":11001' $XK POST /generate -H "$CT" -d '{"userAccount":"gen"}'
	t "$X: /generate with wrong API key -> 401 11002" 401 '"code":11002' $XK POST /generate -H "x-api-key: nope-nope-nope-nope" -H "$CT" -d '{"userAccount":"gen"}'
	t "$X: /generate bad JSON -> 400 10001" 400 '"code":10001' $XK POST /generate -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"userAccount":'
	t "$X: /generate missing userAccount -> 400 10002" 400 '"code":10002' $XK POST /generate -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"tenantSpaceId":"acme"}'
	t "$X: /generate non-string parameter -> 400 10002" 400 '"code":10002' $XK POST /generate -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"userAccount":"gen","n":1}'
	t "$X: /generate bad ttl -> 400 10002" 400 '"code":10002' $XK POST /generate -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"userAccount":"gen","ttl":-5}'
	t "$X: /generate wrong content type -> 415 10006" 415 '"code":10006' $XK POST /generate -H "x-api-key: $ADMINKEY" -H "Content-Type: text/plain" -d '{"userAccount":"gen"}'
	t "$X: GET /generate -> 405 10008" 405 '"code":10008' $XK GET /generate
	check "$X: 405 names the allowed method" grep -qi '^Allow: POST' "$FIX/hdr"

	# validate (seed 000)
	t "$X: validate success -> retCode 0" 200 '{"retCode":0,"message":"validate success"}' $X POST "$VPATH" -H "$CT" -d "$(triple "$TOK" alice acme)"
	t "$X: validate a /generate token" 200 '"retCode":0' $X POST "$VPATH" -H "$CT" -d "$(triple "$GENTOK" gen acme)"
	t "$X: validate wrong token -> retCode 20001" 200 '"retCode":20001' $X POST "$VPATH" -H "$CT" -d "$(triple "tka_wrong" alice acme)"
	t "$X: validate other tenant -> retCode 20001" 200 '"retCode":20001' $X POST "$VPATH" -H "$CT" -d "$(triple "$TOK" alice other)"
	t "$X: validate expired -> retCode 20002" 200 '"retCode":20002' $X POST "$VPATH" -H "$CT" -d "$(triple "$EXPTOK" exp acme)"
	t "$X: validate revoked -> retCode 20003" 200 '"retCode":20003' $X POST "$VPATH" -H "$CT" -d "$(triple "$REVTOK" rev acme)"
	t "$X: validate bad JSON -> 400 retCode 10001" 400 '"retCode":10001' $X POST "$VPATH" -H "$CT" -d '{"access_token":"x",'
	t "$X: validate trailing garbage -> 400 10001" 400 '"code":10001' $X POST "$VPATH" -H "$CT" -d "$(triple "$TOK" alice acme)x"
	t "$X: validate duplicate member -> 400 10001" 400 '"code":10001' $X POST "$VPATH" -H "$CT" -d '{"access_token":"a","access_token":"b","tenantSpaceId":"","userAccount":"u"}'
	t "$X: validate JSON array -> 400 10001" 400 '"code":10001' $X POST "$VPATH" -H "$CT" -d '[1]'
	t "$X: validate missing tenantSpaceId -> 400 retCode 10002" 400 '"retCode":10002' $X POST "$VPATH" -H "$CT" -d "{\"access_token\":\"$TOK\",\"userAccount\":\"alice\"}"
	t "$X: validate number as userAccount -> 400 10002" 400 '"code":10002' $X POST "$VPATH" -H "$CT" -d "{\"access_token\":\"$TOK\",\"tenantSpaceId\":\"acme\",\"userAccount\":7}"
	t "$X: validate oversized body (Content-Length) -> 413 10005" 413 '"code":10005' $X POST "$VPATH" -H "$CT" --data-binary @"$BIG"
	t "$X: validate oversized body (chunked) -> 413 10005" 413 '"code":10005' $X POST "$VPATH" -H "$CT" -H "Transfer-Encoding: chunked" --data-binary @"$BIG"
	t "$X: validate empty body -> 400 10001" 400 '"code":10001' $X POST "$VPATH" -H "$CT"
	t "$X: unknown path -> 404 10007" 404 '"code":10007' $X GET /nope

	# /verify (seed 004)
	t "$X: /verify returns the bound parameters" 200 '"file":"a.dwg"' $X GET /verify -H "x-api-token: $GENTOK"
	check "$X: /verify names user and tenant" grep -q '"userAccount":"gen","tenantSpaceId":"acme"' "$FIX/body"
	t "$X: /verify wrong token -> 403 Wrong token" 403 '"error":"Wrong token"' $X GET /verify -H "x-api-token: tka_nope"
	t "$X: /verify expired -> 403 20002" 403 '"code":20002' $X GET /verify -H "x-api-token: $EXPTOK"
	t "$X: /verify revoked -> 403 20003" 403 '"code":20003' $X GET /verify -H "x-api-token: $REVTOK"
	t "$X: /verify without x-api-token -> 403" 403 '"error":"Wrong token"' $X GET /verify

	# /introspect (RFC 7662)
	t "$X: /introspect active token" 200 '"active":true,"sub":"alice"' $X POST /introspect --data-urlencode "token=$TOK"
	t "$X: /introspect expired -> active false" 200 '^{"active":false}$' $X POST /introspect -d "token=$EXPTOK"
	t "$X: /introspect revoked -> active false" 200 '^{"active":false}$' $X POST /introspect -d "token=$REVTOK"
	t "$X: /introspect without token -> 400 10002" 400 '"code":10002' $X POST /introspect -d "token_type_hint=access_token"
	t "$X: /introspect JSON body -> 415 10006" 415 '"code":10006' $X POST /introspect -H "$CT" -d '{}'

	# registration (seed 002): signed (SPEC §5), a fresh single-use authToken each time
	RP=/token/registerActiveToken/admin
	newadm
	RB="{\"username\":\"otp$X\",\"tenantSpaceId\":\"acme\",\"tokenSn\":\"SN-$X\",\"tokenType\":\"2\",\"cenToken\":\"$CEN\"}"
	rt "$X: register OTP token -> code 0 with Key URI" 200 '"code":0,"message":"Success","object":{' $XK "$RB"
	SECRET=$(sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$FIX/body")
	echo "$SECRET" >>"$FIX/secrets"
	rt "$X: the same authToken again -> 401 11008 (single-use)" 401 '"code":11008' $XK "$RB"
	newadm
	RB="{\"username\":\"otp$X\",\"tenantSpaceId\":\"acme\",\"tokenSn\":\"SN-$X\",\"tokenType\":\"2\",\"cenToken\":\"$CEN\"}"
	rt "$X: register again -> 409 29008" 409 '"code":29008' $XK "$RB"
	newadm
	t "$X: unsigned register -> 401 11003" 401 '"code":11003' $XK PUT $RP -H "$CT" -H "X-Auth-Token: $RA" -d "$RB"
	rt "$X: register with wrong cenToken -> 401 11008" 401 '"code":11008' $XK \
	    "{\"username\":\"x$X\",\"tokenSn\":\"S\",\"tokenType\":2,\"cenToken\":\"$(printf '%064d' 0)\"}"
	rt "$X: register SMS tokenType 1 -> 400 10002" 400 '"code":10002' $XK \
	    "{\"username\":\"y$X\",\"tokenSn\":\"S\",\"tokenType\":\"1\",\"cenToken\":\"$CEN\"}"
	rt "$X: register missing tokenSn -> 400 10002 with object null" 400 '"object":null' $XK \
	    "{\"username\":\"y$X\",\"tokenType\":\"2\",\"cenToken\":\"$CEN\"}"
	if [ -n "$SECRET" ]; then
		CODE=$(oathtool --totp -b "$SECRET")
		t "$X: registered OTP code validates" 200 '"retCode":0' $X POST "$VPATH" -H "$CT" -d "$(triple "$CODE" "otp$X" acme)"
		t "$X: the same OTP code again -> retCode 20001" 200 '"retCode":20001' $X POST "$VPATH" -H "$CT" -d "$(triple "$CODE" "otp$X" acme)"
	else
		bad "$X: no secret in the registration answer"
	fi
	t "$X: GET /metrics" 200 'tokenauthd_request_duration_seconds_bucket{le="+Inf"}' $X GET /metrics
	check "$X: metrics count results by outcome" grep -q 'tokenauthd_results_total{endpoint="validate",outcome="expired"}' "$FIX/body"
	check "$X: metrics count requests by status" grep -q 'tokenauthd_requests_total{endpoint="generate",status="401"}' "$FIX/body"
done

echo "== API key on the verify endpoints (TLS instance has api_key_file)"
t "validate without x-api-key -> 401 11001" 401 '"retCode":11001' tlsnokey POST "$VPATH" -H "$CT" -d "$(triple "$TOK" alice acme)"
t "validate with wrong x-api-key -> 401 11002" 401 '"code":11002' tlsnokey POST "$VPATH" -H "x-api-key: wrong-key-wrong-key" -H "$CT" -d "$(triple "$TOK" alice acme)"
t "/verify without x-api-key -> 401" 401 '"code":11001' tlsnokey GET /verify -H "x-api-token: $TOK"
t "plain loopback TCP serves validate" 200 '"retCode":0' tcp POST "$VPATH" -H "$CT" -d "$(triple "$TOK" alice acme)"

# ---- 3. signatures -----------------------------------------------------------------------
echo "== signatures"
SB=$(triple "$TOK" alice acme)
TS=$(date +%s)
N=$(openssl rand -hex 16)
S=$(sig "$TS" "$N" POST "$VPATH" "$SB")
signed() { t "$1" "$2" "$3" unix POST "$VPATH" -H "$CT" -H "X-TokenAuth-Timestamp: $4" -H "X-TokenAuth-Nonce: $5" -H "X-TokenAuth-Signature: $6" -d "$SB"; }
signed "signed request accepted" 200 '"retCode":0' "$TS" "$N" "$S"
signed "same nonce again -> 401 11006" 401 '"code":11006' "$TS" "$N" "$S"
N2=$(openssl rand -hex 16)
signed "signature over another body -> 401 11004" 401 '"code":11004' "$TS" "$N2" "$(sig "$TS" "$N2" POST "$VPATH" '{}')"
OLD=$((TS - 1000))
N3=$(openssl rand -hex 16)
signed "stale timestamp -> 401 11005" 401 '"code":11005' "$OLD" "$N3" "$(sig "$OLD" "$N3" POST "$VPATH" "$SB")"
t "nonce without signature -> 401 11003" 401 '"code":11003' unix POST "$VPATH" -H "$CT" -H "X-TokenAuth-Nonce: $N3" -d "$SB"
N4=$(openssl rand -hex 16)
t "signed GET /verify accepted" 200 '"userAccount":"alice"' unix GET /verify -H "x-api-token: $TOK" \
    -H "X-TokenAuth-Timestamp: $TS" -H "X-TokenAuth-Nonce: $N4" -H "X-TokenAuth-Signature: $(sig "$TS" "$N4" GET /verify "")"

# ---- 4. limits and lockouts ------------------------------------------------------------------
echo "== limits and lockouts"
for i in 1 2 3; do req unix POST "$VPATH" -H "$CT" -d "$(triple tka_bad lockme acme)" >/dev/null; done
t "user locked after max_failures wrong tokens -> retCode 20004" 200 '"retCode":20004' unix POST "$VPATH" -H "$CT" -d "$(triple "$LOCKTOK" lockme acme)"
t "a locked user's token fails /verify -> 403 20004" 403 '"code":20004' unix GET /verify -H "x-api-token: $LOCKTOK"
cli unlock --user lockme --tenant acme >/dev/null 2>&1
t "tokenauth unlock clears it" 200 '"retCode":0' unix POST "$VPATH" -H "$CT" -d "$(triple "$LOCKTOK" lockme acme)"

conf rate "listen = unix:$FIX/rate.sock" "max_failures = 2" "lockout = 60" "admin_api_key_file = $FIX/admin.key"
td_start rate "$FIX/rate.conf" -r 2 || bad "rate-limited tokenauthd did not start"
codes=""
for i in 1 2 3 4 5 6 7 8; do
	codes="$codes $(curl -s -o "$FIX/rbody.$i" -D "$FIX/rhdr.$i" -w '%{http_code}' --unix-socket "$FIX/rate.sock" -H "$CT" -d "$(triple "$TOK" alice acme)" "http://x$VPATH")"
done
check "rate limit (-r 2): burst served, then 429 ($codes)" sh -c "echo '$codes' | grep -q '^ 200 200 .*429'"
check "429 carries code 10009 and Retry-After" sh -c "grep -q '\"code\":10009' '$FIX/rbody.8' && grep -qi '^Retry-After: [0-9]' '$FIX/rhdr.8'"
td_stop rate
conf lock "listen = unix:$FIX/lock.sock" "max_failures = 2" "lockout = 60" "admin_api_key_file = $FIX/admin.key"
td_start lock "$FIX/lock.conf" || bad "lockout tokenauthd did not start"
for i in 1 2; do curl -s -o /dev/null --unix-socket "$FIX/lock.sock" -H "x-api-key: wrong-wrong-wrong-wrong" -H "$CT" -d '{"userAccount":"g"}' http://x/generate; done
curl -s -o "$FIX/body" --unix-socket "$FIX/lock.sock" -H "x-api-key: wrong-wrong-wrong-wrong" -H "$CT" -d '{"userAccount":"g"}' http://x/generate
check "client locked after 2 wrong API keys -> 429 11007 for a wrong key" grep -q '"code":11007' "$FIX/body"
curl -s -o "$FIX/body" --unix-socket "$FIX/lock.sock" -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"userAccount":"g"}' http://x/generate
check "... but the right key is still served (a locked uid is not locked out of its key)" grep -q '"token"' "$FIX/body"
check "the lockout is logged" grep -q 'client uid:0 locked' "$FIX/lock.log"
td_stop lock

# ---- 5. reload, stop, detach -------------------------------------------------------------------
echo "== signals and detaching"
conf hup "listen = unix:$FIX/hup.sock" "sign_key_file = $FIX/sign.key"
td_start hup "$FIX/hup.conf" || bad "hup tokenauthd did not start"
hupreq() { curl -s -o "$FIX/body" -w '%{http_code}' --unix-socket "$FIX/hup.sock" -H "$CT" "$@"; }
check "before reload: unsigned validate served" [ "$(hupreq -d "$SB" "http://x$VPATH")" = 200 ]
conf hup "listen = unix:$FIX/hup.sock" "sign_key_file = $FIX/sign.key" "require_signature = yes" "validate_path = /custom/validate"
kill -HUP "$(cat "$FIX/hup.pid")"
sleep 0.5
check "SIGHUP: new validate_path served, old one 404" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket '$FIX/hup.sock' -d '{}' http://x$VPATH)\" = 404 ]"
check "SIGHUP: require_signature now refuses unsigned -> 401 11003" sh -c "[ \"\$(curl -s -o '$FIX/body' -w '%{http_code}' --unix-socket '$FIX/hup.sock' -H '$CT' -d '$SB' http://x/custom/validate)\" = 401 ] && grep -q 11003 '$FIX/body'"
N5=$(openssl rand -hex 16)
TS5=$(date +%s)
check "SIGHUP: signed request at the new path accepted" [ "$(hupreq -H "X-TokenAuth-Timestamp: $TS5" -H "X-TokenAuth-Nonce: $N5" -H "X-TokenAuth-Signature: $(sig "$TS5" "$N5" POST /custom/validate "$SB")" -d "$SB" http://x/custom/validate)" = 200 ]
echo "bogus = 1" >>"$FIX/hup.conf"
kill -HUP "$(cat "$FIX/hup.pid")"
sleep 0.3
check "SIGHUP with a bad file: keeps serving the old configuration" sh -c "grep -q 'keeping the running configuration' '$FIX/hup.log' && curl -s --unix-socket '$FIX/hup.sock' http://x/healthz | grep -q ok"
conf hup "listen = unix:$FIX/hup.sock" "sign_key_file = $FIX/sign.key" "require_signature = yes" "validate_path = /verify"
kill -HUP "$(cat "$FIX/hup.pid")"
sleep 0.3
check "SIGHUP with validate_path = /verify: refused, the old configuration kept" sh -c "grep -q 'validate_path = /verify: this path is the service.s own endpoint GET /verify' '$FIX/hup.log' && [ \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket '$FIX/hup.sock' -H '$CT' -d '$SB' http://x/custom/validate)\" = 401 ]"
td_stop hup
check "SIGTERM: exit status 0" [ $? -eq 0 ]
check "SIGTERM: socket file removed" [ ! -e "$FIX/hup.sock" ]

conf det "listen = unix:$FIX/det.sock"
check "detached mode returns 0 once serving" "$TD" -c "$FIX/det.conf" -p "$FIX/det.pidfile"
check "detached: pid file written, socket answers" sh -c "[ -s '$FIX/det.pidfile' ] && curl -s --unix-socket '$FIX/det.sock' http://x/healthz | grep -q ok"
dpid=$(cat "$FIX/det.pidfile" 2>/dev/null)
[ -n "$dpid" ] && kill "$dpid"
for i in $(seq 50); do [ -e "$FIX/det.pidfile" ] || break; sleep 0.1; done
check "detached: SIGTERM removes pid file and socket" sh -c "[ ! -e '$FIX/det.pidfile' ] && [ ! -e '$FIX/det.sock' ]"

echo "== systemd: sd_notify and the unit"
. "$HERE/notify.sh"

# ---- 6. PAM and SASL with verify = remote ---------------------------------------------------------
echo "== PAM module and SASL plugin with verify = remote"
. "$HERE/remote.sh"

# ---- 7. load under ASan, 8. crash ------------------------------------------------------------------
echo "== load and crash"
. "$HERE/load.sh"

# ---- 9. log hygiene --------------------------------------------------------------------------------
echo "== logs"
cat "$FIX/admin.key" "$FIX/api.key" "$FIX/sign.key" >>"$FIX/secrets"
check "no token, OTP secret or key in any log" [ "$(grep -v '^$' "$FIX/secrets" | grep -Fl -f - "$FIX"/*.log | wc -l)" = 0 ]
check "one log line per request (main instance)" sh -c "[ \$(grep -c ' status=' '$FIX/main.log') -gt 50 ]"

td_stop main
check "main instance: SIGTERM exit status 0" [ $? -eq 0 ]
check "main instance: socket removed" [ ! -e "$SOCK" ]
td_stop tls
finish
