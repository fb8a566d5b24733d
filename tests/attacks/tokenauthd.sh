#!/bin/sh
# tokenauthd.sh BUILD - attacks on tokenauthd at its network boundary
# (SECURITY.md), run by tests/attacks/run.sh against a real tokenauthd on
# TCP 127.0.0.1 (and, for the limits table, other 127.0.0.0/8 sources):
#
#  1. issue 9 defect 3: nine sources that shared one probe window under the
#     old unkeyed FNV-1a; eight locked out, the ninth must still be served
#     and the eight stay locked; lockout evasion by source port, header
#     name case and key case;
#  2. defect 5: a captured registration replayed as is, with another body,
#     unsigned, and with its spent authToken; no signing key -> 11010;
#  3. defect 8: /generate with reserved parameter names, duplicate keys;
#     the CLI's --param under the same rule; a planted row's parameters
#     never shadow /verify's own members;
#  4. request smuggling (CL+TE, two Content-Length, bad coding, bare CR,
#     space before colon), oversized bodies and headers, JSON with NUL,
#     \u0000 and trailing bytes;
#  5. a slow client holding partial headers open while others are served;
#  6. log forging: a userAccount full of log fields is quoted in the log;
#     a request method made of log fields or raw high bytes is shown as '?';
#  7. a locked address still gets answers for the right API/admin key or a
#     valid signature (a co-located process cannot lock a verifying host
#     out), wrong or missing ones still get 429 11007, failures still count,
#     the rate limit still applies;
#  8. slowloris: connections trickling header bytes are closed by the total
#     deadline; one Unix uid is capped at 512 connections, others served.
#
# Starts and stops its own daemons; binds only 127.0.0.x.
# Last line: "attacks-tokenauthd: N passed, M failed".
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
B=$(cd "${1:?usage: tokenauthd.sh BUILD}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/tokenauthd/lib.sh"
. "$ROOT/tests/cli/lib.sh" # ok/bad/expect/summary over "$W/results"
RAW="python3 $ROOT/tests/tokenauthd/rawhttp.py"

W=$(mktemp -d "${TMPDIR:-/tmp}/ta-att-td.XXXXXX") || exit 1
: >"$W/results"
FIX=
cleanup() {
	if [ -n "$FIX" ]; then
		for p in "$FIX"/*.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done
		rm -rf "$FIX"
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# c DESCRIPTION COMMAND...: ok when the command succeeds.
c() {
	_d=$1
	shift
	if "$@"; then ok; else bad "$_d"; fi
}

if ! command -v python3 >/dev/null || ! command -v curl >/dev/null; then
	bad "python3 and curl are needed"
	summary "attacks-tokenauthd"
	exit 1
fi
make_fixture || { bad "fixture (openssl, tokenauth init)"; summary "attacks-tokenauthd"; exit 1; }
P=$(free_port)
ADMINKEY=$(cat "$FIX/admin.key")
CT="Content-Type: application/json"
VPATH=/rest/cc-management/v1/thirdparty/thirdPartyValidate
RP=/token/registerActiveToken/admin
U=http://127.0.0.1:$P

conf att "listen = 127.0.0.1:$P" "admin_api_key_file = $FIX/admin.key" \
    "sign_key_file = $FIX/sign.key" "max_failures = 5" "lockout = 300"
td_start att "$FIX/att.conf" || { bad "tokenauthd did not start: $(tail -3 "$FIX/att.log")"; summary "attacks-tokenauthd"; exit 1; }
alive() { kill -0 "$(cat "$FIX/att.pid")" 2>/dev/null; }

# st [curl args] URL: HTTP status, body in $W/body ("000" when no answer).
st() { curl -s -m 5 -o "$W/body" -w '%{http_code}' "$@"; }
body_has() { grep -q -- "$1" "$W/body"; }
# raw: send stdin (with \r \n \0 escapes) as is; the answer to $W/raw.
raw() { $RAW send 127.0.0.1 "$P" "$@" -x >"$W/raw" 2>/dev/null; }
nstatus() { grep -c '^HTTP/1\.[01] ' "$W/raw"; }
gen() { # gen SRC KEY: POST /generate from source address SRC
	st --interface "$1" -H "x-api-key: $2" -H "$CT" -d '{"userAccount":"gen"}' "$U/generate"
}

# ---- 1. the limits table (defect 3) -------------------------------------------------
echo "== limits: one probe window, lockout evasion"
ADDRS=$(python3 "$ROOT/tests/tokenauthd/fnv_collide.py" 9)
set -- $ADDRS
c "nine colliding sources computed with the old FNV-1a" [ $# -eq 9 ]
i=0
for a in "$@"; do
	i=$((i + 1))
	[ $i -eq 9 ] && break
	for k in 1 2 3 4 5; do gen "$a" wrong-key-wrong-key-wrong >/dev/null; done
done
NINTH=$9
s9=$(gen "$NINTH" "$ADMINKEY")
c "9th source in the old shared window is answered (got $s9), not a crash" [ "$s9" = 200 ]
c "the service is still running" alive
c "healthz still answers" [ "$(st "$U/healthz")" = 200 ]
locked=0
i=0
for a in "$@"; do
	i=$((i + 1))
	[ $i -eq 9 ] && break
	[ "$(gen "$a" wrong-key-wrong-key-wrong)" = 429 ] && body_has '"code":11007' && locked=$((locked + 1))
done
c "all 8 locked sources stay locked for a wrong key ($locked/8)" [ "$locked" = 8 ]
a1=$1
s=$(st --interface "$a1" --local-port 40000-40100 -H "x-api-key: wrong-key-wrong-key-wrong" -H "$CT" -d '{"userAccount":"g"}' "$U/generate")
c "lockout holds from another source port ($s)" [ "$s" = 429 ]
s=$(st --interface "$a1" -H "X-API-KEY: wrong-key-wrong-key-wrong" -H "$CT" -d '{"userAccount":"g"}' "$U/generate")
c "lockout holds with the header name in upper case ($s)" [ "$s" = 429 ]
# key case: 4 failures, then the key in upper case is a 5th failure, not a pass
E=127.0.200.9
for k in 1 2 3 4; do gen "$E" wrong-key-wrong-key-wrong >/dev/null; done
UPKEY=$(printf '%s' "$ADMINKEY" | tr a-f A-F)
s=$(gen "$E" "$UPKEY")
c "the key in another case is a wrong key ($s)" [ "$s" = 401 ]
s=$(gen "$E" wrong-key-wrong-key-wrong)
c "... and counts: 5th failure locks ($s)" [ "$s" = 429 ]
c "lockouts are logged with the client address" grep -q "client $a1 locked" "$FIX/att.log"

# IPv6: the limits key is the /64 (a host owns a whole /64), shown by the lockout log line
P6=$(free_port)
conf v6 "listen = [::1]:$P6" "admin_api_key_file = $FIX/admin.key" "max_failures = 2"
if td_start v6 "$FIX/v6.conf" 2>/dev/null && curl -s -g -m 2 -o /dev/null "http://[::1]:$P6/healthz"; then
	for k in 1 2; do st -g -H "x-api-key: wrong-key-wrong-key-wrong" -H "$CT" -d '{"userAccount":"g"}' "http://[::1]:$P6/generate" >/dev/null; done
	c "IPv6 clients are keyed per /64 (::1 counts as ::/64)" grep -q 'client ::/64 locked' "$FIX/v6.log"
	td_stop v6
else
	td_stop v6
	echo "(skip: no IPv6 loopback)"
fi

if ! alive; then # the old code dies above; go on so each section shows its own result
	bad "tokenauthd crashed; restarting it for the other sections"
	td_start att "$FIX/att.conf" || { summary "attacks-tokenauthd"; exit 1; }
fi

# ---- 2. registration replay (defect 5) -------------------------------------------------
echo "== registration: replay, other body, unsigned, spent authToken"
newadm() {
	RA=$(cli issue --user admin --ttl 600)
	CEN=$(printf '%s%s' admin "$RA" | openssl dgst -sha256 -hmac "$ADMINKEY" | awk '{print $NF}')
}
rbody() { printf '{"username":"%s","tokenSn":"SN-%s","tokenType":"2","cenToken":"%s"%s}' "$1" "$1" "$CEN" "${2:-}"; }
# sput TS NONCE SIG BODY [port]: a PUT with given signature headers
sput() {
	st -X PUT -H "$CT" -H "X-Auth-Token: $RA" -H "X-TokenAuth-Timestamp: $1" \
	    -H "X-TokenAuth-Nonce: $2" -H "X-TokenAuth-Signature: $3" -d "$4" "${5:-$U}$RP"
}
newadm
B1=$(rbody victim1)
TS=$(date +%s)
N=$(openssl rand -hex 16)
S=$(sig "$TS" "$N" PUT "$RP" "$B1")
c "the captured signed registration succeeds" [ "$(sput "$TS" "$N" "$S" "$B1")" = 200 ]
s=$(sput "$TS" "$N" "$S" "$B1")
c "replayed as is -> 401 11006 ($s)" sh -c "[ $s = 401 ] && grep -q '\"code\":11006' '$W/body'"
B2=$(rbody victim2 ',"secret":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"')
N2=$(openssl rand -hex 16)
s=$(sput "$TS" "$N2" "$S" "$B2")
c "replayed with another body (attacker's secret) -> 401 11004 ($s)" sh -c "[ $s = 401 ] && grep -q '\"code\":11004' '$W/body'"
s=$(st -X PUT -H "$CT" -H "X-Auth-Token: $RA" -d "$B2" "$U$RP")
c "replayed unsigned with another body -> 401 11003 ($s)" sh -c "[ $s = 401 ] && grep -q '\"code\":11003' '$W/body'"
N3=$(openssl rand -hex 16)
TS3=$(date +%s)
s=$(sput "$TS3" "$N3" "$(sig "$TS3" "$N3" PUT "$RP" "$B2")" "$B2")
c "the spent authToken, even freshly signed -> 401 11008 ($s)" sh -c "[ $s = 401 ] && grep -q '\"code\":11008' '$W/body' && grep -q 'already used' '$W/body'"
newadm
B2=$(rbody victim2)
N4=$(openssl rand -hex 16)
TS4=$(date +%s)
s=$(sput "$TS4" "$N4" "$(sig "$TS4" "$N4" PUT "$RP" "$B2")" "$B2")
c "victim2 got no OTP from the replays: its own registration works ($s)" [ "$s" = 200 ]
P2=$(free_port)
[ "$P2" = "$P" ] && P2=$((P + 1))
conf nosign "listen = 127.0.0.1:$P2" "admin_api_key_file = $FIX/admin.key"
if td_start nosign "$FIX/nosign.conf"; then
	c "no sign_key_file: warned at start" grep -q 'refused (code 11010)' "$FIX/nosign.log"
	newadm
	s=$(st -X PUT -H "$CT" -H "X-Auth-Token: $RA" -d "$(rbody victim3)" "http://127.0.0.1:$P2$RP")
	c "no sign_key_file: registration refused -> 403 11010 ($s)" sh -c "[ $s = 403 ] && grep -q '\"code\":11010' '$W/body'"
	td_stop nosign
else
	bad "tokenauthd without sign_key_file did not start"
fi
# The opt-out, once the configuration knows the key: unsigned works, the authToken is still single-use.
conf optout "listen = 127.0.0.1:$P2" "admin_api_key_file = $FIX/admin.key" "register_allow_unsigned = yes"
if "$TD" -t -c "$FIX/optout.conf" >/dev/null 2>&1 && td_start optout "$FIX/optout.conf"; then
	newadm
	s=$(st -X PUT -H "$CT" -H "X-Auth-Token: $RA" -d "$(rbody victim4)" "http://127.0.0.1:$P2$RP")
	c "register_allow_unsigned = yes: the seed's request works ($s)" [ "$s" = 200 ]
	s=$(st -X PUT -H "$CT" -H "X-Auth-Token: $RA" -d "$(rbody victim5)" "http://127.0.0.1:$P2$RP")
	c "register_allow_unsigned = yes: replay with another body -> 401 11008 ($s)" [ "$s" = 401 ]
	td_stop optout
else
	echo "(skip: register_allow_unsigned not yet a configuration key)"
fi

# ---- 3. /generate parameters (defect 8) ----------------------------------------------------
echo "== /generate: reserved names, duplicates"
g() { st -H "x-api-key: $ADMINKEY" -H "$CT" -d "$1" "$U/generate"; }
for n in expiration_time Expiration_Time token token_id active sub exp jti username retCode; do
	s=$(g "{\"userAccount\":\"g\",\"$n\":\"x\"}")
	c "/generate with parameter $n -> 400 naming it ($s)" sh -c "[ $s = 400 ] && grep -q '\"code\":10002' '$W/body' && grep -qi \"'$n' is reserved\" '$W/body'"
done
s=$(g '{"userAccount":"g","ttl":"600"}')
c "/generate with ttl as a string -> 400 naming ttl ($s)" sh -c "[ $s = 400 ] && grep -q 'ttl' '$W/body'"
s=$(g '{"userAccount":"g","UserAccount":"h"}')
c "/generate with UserAccount beside userAccount -> 400 ($s)" [ "$s" = 400 ]
s=$(g '{"userAccount":"g","userAccount":"admin"}')
c "/generate with duplicate userAccount -> 400 10001 ($s)" sh -c "[ $s = 400 ] && grep -q '\"code\":10001' '$W/body'"
s=$(g '{"userAccount":"g","file":"a","file":"b"}')
c "/generate with a duplicate parameter -> 400 10001 ($s)" [ "$s" = 400 ]
s=$(g '{"userAccount":"g","file":"a"}')
c "/generate with an ordinary parameter still works ($s)" [ "$s" = 200 ]
GT=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$W/body")
s=$(st -H "x-api-token: $GT" "$U/verify")
c "/verify answer has expiration_time once ($s)" sh -c "[ \$(grep -o '\"expiration_time\"' '$W/body' | wc -l) = 1 ]"
# The CLI stores parameters through the same core: on 7957fc2 'issue --param
# expiration_time=1' (or UserAccount=root) was stored and /verify then carried
# two expiration_time members, the stored one first.
for n in expiration_time UserAccount TENANTSPACEID exp token; do
	cli issue --user g --ttl 1d --param "$n=1" >/dev/null
	c "tokenauth issue --param $n=1 is refused (rc $?)" [ $? -eq 2 ]
done
# A row that reached the store another way (a hostile source of 'store copy',
# a row from before the rule) must not shadow our members either.
sqlite3 "$FIX/db/tokenauth.db" "UPDATE tokens SET params='{\"Expiration_Time\":\"9\",\"userAccount\":\"root\",\"n\":\"1\",\"N\":\"2\",\"file\":\"a\"}' WHERE user='g'" 2>>"$W/sqlite.err"
s=$(st -H "x-api-token: $GT" "$U/verify")
c "/verify of a planted row: our members once each, no case twin ($s)" sh -c "[ $s = 200 ] &&
    [ \$(grep -oi '\"expiration_time\"' '$W/body' | wc -l) = 1 ] &&
    [ \$(grep -oi '\"useraccount\"' '$W/body' | wc -l) = 1 ] &&
    [ \$(grep -oi '\"n\"' '$W/body' | wc -l) -le 1 ] &&
    grep -q '\"userAccount\":\"g\"' '$W/body' && grep -q '\"file\":\"a\"' '$W/body'"

# ---- 4. framing, sizes, JSON ---------------------------------------------------------------
echo "== smuggling, oversized input, hostile JSON"
printf 'POST /generate HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | raw
c "Content-Length + Transfer-Encoding -> one 400 10011, connection closed" sh -c "[ $(nstatus) = 1 ] && grep -q '10011' '$W/raw' && grep -qi '^Connection: close' '$W/raw'"
printf 'POST /generate HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 4\\r\\nContent-Length: 40\\r\\n\\r\\nabcdGET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | raw
c "two Content-Length headers -> one 400 10011, no second request" sh -c "[ $(nstatus) = 1 ] && grep -q '10011' '$W/raw'"
printf 'POST /generate HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 4\\r\\nContent-Length: 4\\r\\n\\r\\nabcd' | raw
c "two equal Content-Length headers -> 400 10011" grep -q '10011' "$W/raw"
printf 'POST /generate HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\nTransfer-Encoding: identity\\r\\n\\r\\n0\\r\\n\\r\\n' | raw
c "two Transfer-Encoding headers -> 400, nothing served" sh -c "! grep -q '\"token\"' '$W/raw' && grep -q '^HTTP/1.1 400' '$W/raw'"
printf 'POST /generate HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: gzip, chunked\\r\\n\\r\\n0\\r\\n\\r\\n' | raw
c "a coding other than chunked -> 400" grep -q '^HTTP/1.1 400' "$W/raw"
printf 'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-a: b\\rX-api-key: %s\\r\\n\\r\\n' "$ADMINKEY" | raw
c "bare CR inside a header (CRLF injection) -> 400 10011" grep -q '10011' "$W/raw"
printf 'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-a : b\\r\\n\\r\\n' | raw
c "space before the colon -> 400" grep -q '^HTTP/1.1 400' "$W/raw"
printf 'POST /generate HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n\\r\\n' | raw
c "bad chunk size -> 400" grep -q '^HTTP/1.1 400' "$W/raw"
printf 'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-a: b\\0c\\r\\n\\r\\n' | raw
c "NUL in a header: no crash" alive
{ printf 'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-big: '; head -c 100000 /dev/zero | tr '\0' a; printf '\\r\\n\\r\\n'; } | raw
c "a 100 kB header is refused (4xx)" grep -q '^HTTP/1.1 4[0-9][0-9]' "$W/raw"
{ printf 'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n'; for i in $(seq 3000); do printf 'X-h%d: v\\r\\n' "$i"; done; printf '\\r\\n'; } | raw
c "3000 headers are refused (4xx)" grep -q '^HTTP/1.1 4[0-9][0-9]' "$W/raw"
BIG=$W/big.json
{ printf '{"access_token":"'; head -c 20000 /dev/zero | tr '\0' a; printf '","tenantSpaceId":"","userAccount":"u"}'; } >"$BIG"
c "oversized body (Content-Length) -> 413" [ "$(st -H "$CT" --data-binary @"$BIG" "$U$VPATH")" = 413 ]
c "oversized body (chunked) -> 413" [ "$(st -H "$CT" -H "Transfer-Encoding: chunked" --data-binary @"$BIG" "$U$VPATH")" = 413 ]
printf 'POST %s HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 99999999999999999999\\r\\n\\r\\n' "$VPATH" | raw
c "absurd Content-Length -> 4xx, no wait for the body" grep -q '^HTTP/1.1 4[0-9][0-9]' "$W/raw"
printf 'POST %s HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 59\\r\\n\\r\\n{"access_token":"a\\0b","tenantSpaceId":"","userAccount":"u"}' "$VPATH" | raw
c "raw NUL in a JSON string -> 400 10001" grep -q '"code":10001' "$W/raw"
s=$(st -H "$CT" -d '{"access_token":"a\u0000b","tenantSpaceId":"","userAccount":"u"}' "$U$VPATH")
c "\\u0000 in a JSON string -> 400 10001 ($s)" sh -c "[ $s = 400 ] && grep -q '\"code\":10001' '$W/body'"
s=$(st -H "$CT" -d '{"access_token":"a","tenantSpaceId":"","userAccount":"u"} {}' "$U$VPATH")
c "trailing bytes after the JSON object -> 400 10001 ($s)" [ "$s" = 400 ]
s=$(st -H "$CT" -d '{"access_token":"a","access_token":"b","tenantSpaceId":"","userAccount":"u"}' "$U$VPATH")
c "duplicate keys in validate -> 400 10001 ($s)" [ "$s" = 400 ]
s=$(st -H "$CT" -d '{"access_token":"a","tenantSpaceId":"","userAccount":"u\r\nX: y"}' "$U$VPATH")
c "control bytes in userAccount -> 400 ($s)" [ "$s" = 400 ]
c "the service survived all of it" alive

# ---- 5. slow clients ---------------------------------------------------------------------
echo "== slowloris"
$RAW hold 127.0.0.1 "$P" 100 6 >"$W/hold" 2>&1 &
HP=$!
sleep 1.5
t0=$(date +%s%N)
s=$(st --interface 127.0.5.5 "$U/healthz")
t1=$(date +%s%N)
c "while 100 connections hold partial headers, others are served ($s, $(((t1 - t0) / 1000000)) ms)" \
    [ "$s" = 200 -a $(((t1 - t0) / 1000000)) -lt 2000 ]
s=$(st --interface 127.0.5.6 -H "$CT" -d "$(triple tka_x u "")" "$U$VPATH")
c "validate is served meanwhile ($s)" [ "$s" = 200 ]
wait "$HP"
c "the slow connections ended cleanly" alive
c "the service still answers afterwards" [ "$(st "$U/healthz")" = 200 ]

# ---- 6. log forging through the request log ---------------------------------------------
echo "== request log: forged fields"
FORGE='mallory status=200 code=0 outcome=success user=root'
st --interface 127.0.6.6 -H "$CT" -d "$(triple tka_x "$FORGE" "")" "$U$VPATH" >/dev/null
sleep 0.2
c "a userAccount with log fields is quoted in the request log" \
    grep -qF "user=\"$FORGE\"" "$FIX/att.log"
c "... and never appears unquoted" sh -c "! grep -F 'user=mallory' '$FIX/att.log'"
# The request method is the client's bytes too: a method "user=..." or
# "outcome=forged" came out unquoted ahead of our fields (before 2026-12).
printf 'user=eve /healthz HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | raw
printf 'outcome=forged\233 /generate HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | raw
sleep 0.2
c "a method with log fields never appears in the request log" \
    sh -c "! grep -aF -e 'user=eve' -e 'outcome=forged' '$FIX/att.log'"
c "... nor a raw byte above 0x7e it carried" sh -c "! LC_ALL=C grep -a \"\$(printf '\\233')\" '$FIX/att.log'"
c "... the line is still written, with the method as '?'" \
    grep -qE 'tcp:127\.0\.0\.1:[0-9]+ \? /generate status=405' "$FIX/att.log"

# ---- 7. a co-located process cannot lock a verifying host out ----------------------------
echo "== lockout: the right key still works for a locked address"
P3=$(free_port)
[ "$P3" = "$P" ] && P3=$((P + 2))
U3=http://127.0.0.1:$P3
conf vh "listen = 127.0.0.1:$P3" "api_key_file = $FIX/api.key" "admin_api_key_file = $FIX/admin.key" \
    "sign_key_file = $FIX/sign.key" "max_failures = 5" "lockout = 300"
APIKEY=$(cat "$FIX/api.key")
if td_start vh "$FIX/vh.conf"; then
	H=127.0.77.1 # the verifying host; another process on it guesses
	for k in 1 2 3 4 5; do st --interface $H -H "x-api-key: wrong-key-wrong-key-wrong" -H "$CT" -d '{"userAccount":"g"}' "$U3/generate" >/dev/null; done
	vb=$(triple tka_x u "")
	s=$(st --interface $H -H "$CT" -d "$vb" "$U3$VPATH")
	c "locked address, no key -> 429 11007 ($s)" sh -c "[ $s = 429 ] && grep -q '\"code\":11007' '$W/body'"
	s=$(st --interface $H -H "x-api-key: wrong-key-wrong-key-wrong" -H "$CT" -d "$vb" "$U3$VPATH")
	c "locked address, wrong API key -> 429 11007, as before ($s)" sh -c "[ $s = 429 ] && grep -q '\"code\":11007' '$W/body'"
	s=$(st --interface $H -H "x-api-key: $APIKEY" -H "$CT" -d "$vb" "$U3$VPATH")
	c "locked address, the right API key: validate is answered ($s)" sh -c "[ $s = 200 ] && grep -q 'retCode' '$W/body'"
	s=$(st --interface $H -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"userAccount":"g"}' "$U3/generate")
	c "locked address, the right admin key: /generate is answered ($s)" [ "$s" = 200 ]
	TS=$(date +%s)
	N=$(openssl rand -hex 16)
	s=$(st --interface $H -H "x-api-key: $APIKEY" -H "$CT" -H "X-TokenAuth-Timestamp: $TS" -H "X-TokenAuth-Nonce: $N" \
	    -H "X-TokenAuth-Signature: $(sig "$TS" "$N" POST "$VPATH" "$vb")" -d "$vb" "$U3$VPATH")
	c "locked address, a valid signature: validate is answered ($s)" [ "$s" = 200 ]
	s=$(st --interface $H -H "x-api-key: $APIKEY" -H "$CT" -H "X-TokenAuth-Timestamp: $TS" -H "X-TokenAuth-Nonce: $N" \
	    -H "X-TokenAuth-Signature: $(sig "$TS" "$N" POST "$VPATH" "$vb")" -d "$vb" "$U3$VPATH")
	c "locked address, the same signature replayed -> 429 11007 ($s)" [ "$s" = 429 ]
	s=$(st --interface $H -H "x-api-key: wrong-key-wrong-key-wrong" -H "$CT" -d '{"userAccount":"g"}' "$U3/generate")
	c "the right key did not lift the lock for wrong keys ($s)" [ "$s" = 429 ]
	for k in 1 2 3 4; do st --interface $H -H "x-api-key: wrong-key-wrong-key-wrong" -H "$CT" -d '{"userAccount":"g"}' "$U3/generate" >/dev/null; done
	c "failures while locked still count (the lock doubles to 600 s)" grep -q "client $H locked for 600 s" "$FIX/vh.log"
	td_stop vh
else
	bad "tokenauthd with api_key_file did not start: $(tail -2 "$FIX/vh.log")"
fi
conf rl "listen = 127.0.0.1:$P3" "admin_api_key_file = $FIX/admin.key" "max_failures = 2" "lockout = 300"
if td_start rl "$FIX/rl.conf" -r 1; then
	H=127.0.77.2
	for k in 1 2; do st --interface $H -H "x-api-key: wrong-key-wrong-key-wrong" -H "$CT" -d '{"userAccount":"g"}' "$U3/generate" >/dev/null; done
	sleep 2.2 # refill the bucket (burst 2)
	codes=
	for k in 1 2 3 4; do codes="$codes $(st --interface $H -H "x-api-key: $ADMINKEY" -H "$CT" -d '{"userAccount":"g"}' "$U3/generate")"; done
	c "locked address, right key: the rate limit still applies ($codes)" sh -c "echo '$codes' | grep -q '^ 200 200 .*429'"
	td_stop rl
else
	bad "rate-limited tokenauthd did not start"
fi

# ---- 8. connection deadlines and per-client connection caps -------------------------------
echo "== slowloris: total deadlines, per-client connection cap"
c "the service survived sections 6-7" alive
t0=$(date +%s)
n=$($RAW hold 127.0.0.1 "$P" 100 8 2>/dev/null)
c "100 connections trickling a header byte a second are all closed within 8 s ($n/100)" [ "${n:-0}" = 100 ]
c "healthz answers afterwards" [ "$(st "$U/healthz")" = 200 ]
conf cap "listen = unix:$FIX/cap.sock" "admin_api_key_file = $FIX/admin.key"
if td_start cap "$FIX/cap.conf"; then
	chmod 711 "$FIX"
	chmod 666 "$FIX/cap.sock"
	$RAW hold "unix:$FIX/cap.sock" 0 600 4 >"$W/caphold" 2>&1 &
	HP=$!
	sleep 2
	if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
		t0=$(date +%s%N)
		s=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -m 3 -o /dev/null -w '%{http_code}' --unix-socket "$FIX/cap.sock" http://x/healthz)
		t1=$(date +%s%N)
		c "while uid $(id -u) holds 600 connections, another uid is served ($s, $(((t1 - t0) / 1000000)) ms)" \
		    [ "$s" = 200 -a $(((t1 - t0) / 1000000)) -lt 1000 ]
	fi
	wait "$HP"
	n=$(cat "$W/caphold")
	c "one uid holds at most 512 connections: >= 88 of 600 refused ($n)" [ "${n:-0}" -ge 88 ]
	td_stop cap
else
	bad "tokenauthd on a Unix socket did not start"
fi

td_stop att
c "tokenauthd stops cleanly (exit 0)" [ $? -eq 0 ]
summary "attacks-tokenauthd"
