#!/bin/bash
# attacks.sh BUILD_DIR - the portal's boundary under attack (make
# check-attacks-portal; SECURITY.md "The self-service portal"): one check
# each for a POST without / with a wrong / with another session's CSRF
# token, a cookie replayed after logout and after the idle timeout, the
# trusted header from an unlisted peer (and, as the control, from a listed
# one), another user's token id in the revoke form, framing (headers, and
# a frame from another origin in chromium), HTML/JS in a label, and a
# login brute force into the lockout.
# Last line: "portal attacks: N passed, M failed"; exit 1 on any failure.
set -u
SUITE="portal attacks"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
portal_init "${1:-build}"

[ -d "$HERE/node_modules/playwright-core" ] || die "playwright-core missing: make deps"
portal_fixture || die "fixture"
trap 'finish' INT TERM
P=$(portal_port)
Q=$(portal_port)
[ "$Q" = "$P" ] && Q=$((P + 1))
U=https://127.0.0.1:$P
portal_conf a "$P" "max_failures = 3" "lockout = 60" "portal_session_idle = 3" \
    "portal_trusted_header = X-Remote-User" "portal_trusted_proxies = 10.9.9.9, 192.0.2.0/24"
portal_conf b "$Q" "portal_trusted_header = X-Remote-User" "portal_trusted_proxies = 127.0.0.1" \
    "portal_max_tokens = 2"
portal_start a "$FIX/a.conf" || die "tokenauthd a did not start: $(tail -3 "$FIX/a.log")"
portal_start b "$FIX/b.conf" || die "tokenauthd b did not start: $(tail -3 "$FIX/b.log")"

rows() { # rows COOKIE: active tokens on the main page
	hc "$U/my/" -H "Cookie: __Host-tokenauth=$1" >/dev/null
	grep -o 'action="/my/revoke"' "$FIX/b" | wc -l
}
has_login_form() { grep -q 'name="password"' "$FIX/b"; }

# --- CSRF
A=$(login_cookie "$P" alice Alice-pw-1)
[ -n "$A" ] || die "alice cannot log in"
T=$(csrf_of "$P" "$A")
Bc=$(login_cookie "$P" bob Bob-pw-2)
BT=$(csrf_of "$P" "$Bc")
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$A" -d "label=nocsrf")
check "csrf: POST without a token -> 403" [ "$s" = 403 ]
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$A" -d "label=wrong&csrf=$(printf '%064d' 0)")
check "csrf: POST with a wrong token -> 403" [ "$s" = 403 ]
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$A" -d "label=other&csrf=$BT")
check "csrf: POST with another session's token -> 403" [ "$s" = 403 ]
check "csrf: nothing was created" [ "$(rows "$A")" = 0 ]
s=$(hc "$U/my/logout" -H "Cookie: __Host-tokenauth=$A" -d "csrf=")
check "csrf: logout without the token -> 403 (a cross-site page cannot log you out)" [ "$s" = 403 ]
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$A" -H "Origin: https://evil.example" -d "label=xorigin&csrf=$T")
check "csrf: a form from another Origin -> 403, even with the token" [ "$s" = 403 ]
s=$(hc "$U/my/login" -H "Origin: https://evil.example" -d "user=alice&password=Alice-pw-1")
check "login csrf: a login form posted from another Origin -> 403, no session" sh -c \
    "[ $s = 403 ] && ! grep -qi '^set-cookie' '$FIX/h'"
s=$(hc "$U/my/login" -H "Origin: null" -H "Sec-Fetch-Site: cross-site" -d "user=alice&password=Alice-pw-1")
check "login csrf: Origin null from another site (Sec-Fetch-Site) -> 403, no session" sh -c \
    "[ $s = 403 ] && ! grep -qi '^set-cookie' '$FIX/h'"
check "csrf: nothing was created from another Origin" [ "$(rows "$A")" = 0 ]
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$A" -H "Origin: https://127.0.0.1:$P" -d "label=good&csrf=$T")
check "control: with the session's token -> 200" [ "$s" = 200 ]

# --- another user's token id in the revoke form
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$Bc" -d "label=bobs&csrf=$BT")
btok=$(sed -n 's/.*id="new-token">\([^<]*\)<.*/\1/p' "$FIX/b")
hc "$U/my/" -H "Cookie: __Host-tokenauth=$Bc" >/dev/null
bid=$(sed -n 's/.*name="id" value="\([0-9a-z]*\)".*/\1/p' "$FIX/b" | head -1)
s=$(hc "$U/my/revoke" -H "Cookie: __Host-tokenauth=$A" -d "id=$bid&csrf=$T")
check "revoke: another user's token id -> 404" [ "$s" = 404 ]
check "revoke: bob's token still works (PAM)" apppw bob "$btok"
check "revoke: bob still lists it" [ "$(rows "$Bc")" = 1 ]

# --- headers on every kind of answer, framing
for path in /my/ /my/static/portal.css /my/nope; do
	hc "$U$path" -H "Cookie: __Host-tokenauth=$A" >/dev/null
	check "headers on $path: CSP default-src 'self'; frame-ancestors 'none'" \
	    grep -qi "^content-security-policy: default-src 'self'; frame-ancestors 'none'" "$FIX/h"
	check "headers on $path: X-Frame-Options DENY, no-referrer, nosniff, no-store" sh -c \
	    "grep -qi '^x-frame-options: DENY' '$FIX/h' && grep -qi '^referrer-policy: no-referrer' '$FIX/h' && grep -qi '^x-content-type-options: nosniff' '$FIX/h' && grep -qi '^cache-control: no-store' '$FIX/h'"
done
check "no inline script in the page" sh -c "! grep -q '<script>' '$FIX/b'"
# the errors answered before the portal runs carry the same headers
head -c 20000 /dev/zero | tr '\0' a >"$FIX/big"
for how in "-X PUT" "-X DELETE" "--data-binary @$FIX/big"; do
	s=$(hc "$U/my/login" $how)
	check "headers on $how /my/login ($s): CSP, X-Frame-Options DENY, nosniff, no-store" sh -c \
	    "grep -qi \"^content-security-policy: default-src 'self'; frame-ancestors 'none'\" '$FIX/h' && grep -qi '^x-frame-options: DENY' '$FIX/h' && grep -qi '^x-content-type-options: nosniff' '$FIX/h' && grep -qi '^cache-control: no-store' '$FIX/h'"
done

# the attacker's origin: another port, plain HTTP, a page framing the portal
E=$(portal_port)
mkdir "$FIX/evil"
printf '<!doctype html><title>evil</title><iframe src="%s/my/" width=600 height=400></iframe>\n' "$U" \
    >"$FIX/evil/index.html"
printf '<!doctype html><title>evil</title><form method=post action="%s/my/login"><input name=user value=mallory><input name=password value=Mallory-pw-3><button id=go>go</button></form>\n' "$U" \
    >"$FIX/evil/login.html"
python3 -m http.server "$E" --bind 127.0.0.1 --directory "$FIX/evil" >/dev/null 2>&1 &
EVILPID=$!
i=0; while [ $i -lt 100 ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$E") 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
PORTAL=$U OTHER=http://127.0.0.1:$E/ node "$HERE/attacks.js" >"$FIX/attacks.out" 2>&1
sed '$d' "$FIX/attacks.out"
pass=$((pass + $(grep -c '^ok - ' "$FIX/attacks.out")))
fail=$((fail + $(grep -c '^not ok - ' "$FIX/attacks.out")))
grep -q '^browser attacks: ' "$FIX/attacks.out" || bad "attacks.js did not finish"
kill "$EVILPID" 2>/dev/null; EVILPID=

# --- replay after logout
A2=$(login_cookie "$P" alice Alice-pw-1)
T2=$(csrf_of "$P" "$A2")
s=$(hc "$U/my/logout" -H "Cookie: __Host-tokenauth=$A2" -d "csrf=$T2")
check "logout -> 303 and the cookie cleared" sh -c "[ $s = 303 ] && grep -qi '^set-cookie: __Host-tokenauth=;.*Max-Age=0' '$FIX/h'"
s=$(hc "$U/my/" -H "Cookie: __Host-tokenauth=$A2")
check "replay after logout: GET gets the login page" sh -c "[ $s = 200 ] && grep -q 'name=\"password\"' '$FIX/b'"
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$A2" -d "label=replay&csrf=$T2")
check "replay after logout: POST -> 401" [ "$s" = 401 ]

# --- replay after the idle timeout (portal_session_idle = 3)
A3=$(login_cookie "$P" alice Alice-pw-1)
T3=$(csrf_of "$P" "$A3")
sleep 4.5
s=$(hc "$U/my/tokens" -H "Cookie: __Host-tokenauth=$A3" -d "label=idle&csrf=$T3")
check "replay after the idle timeout: POST -> 401" [ "$s" = 401 ]
s=$(hc "$U/my/" -H "Cookie: __Host-tokenauth=$A3")
check "replay after the idle timeout: GET gets the login page" has_login_form

# --- the trusted header from an unlisted peer
s=$(hc "$U/my/" -H "X-Remote-User: alice")
check "trusted header from an unlisted peer: login page, no session" sh -c \
    "[ $s = 200 ] && grep -q 'name=\"password\"' '$FIX/b' && ! grep -qi '^set-cookie' '$FIX/h'"
check "trusted header from an unlisted peer: logged" grep -q "trusted header from a peer not in" "$FIX/a.log"
s=$(hc "https://127.0.0.1:$Q/my/" -H "X-Remote-User: alice")
check "control: from a listed proxy it logs in (303 + cookie)" sh -c \
    "[ $s = 303 ] && grep -qi '^set-cookie: __Host-tokenauth=[0-9a-f]\{64\}' '$FIX/h'"
s=$(hc "https://127.0.0.1:$Q/my/" -H "X-Remote-User: root" -H "x-remote-user: alice")
check "trusted header twice from a listed proxy (an appending proxy): no session ($s)" sh -c \
    "[ $s = 200 ] && grep -q 'name=\"password\"' '$FIX/b' && ! grep -qi '^set-cookie' '$FIX/h'"
check "trusted header twice: logged" grep -q "trusted header X-Remote-User sent more than once" "$FIX/b.log"
R=$(portal_port)
conf off "listen = 127.0.0.1:$R" "tls_cert = $FIX/tls.crt" "tls_key = $FIX/tls.key"
if portal_start off "$FIX/off.conf"; then
	s=$(hc "https://127.0.0.1:$R/my/")
	check "portal = no (the default): /my/ is 404" [ "$s" = 404 ]
	td_stop off || true
else
	bad "tokenauthd without the portal did not start"
fi
conf plain "listen = unix:$FIX/plain.sock" "portal = yes"
check "portal = yes without a TLS listener: refused at start, saying why" sh -c \
    "! timeout 5 '$B/tokenauthd' -c '$FIX/plain.conf' -f 2>'$FIX/plain.err' && grep -q 'portal = yes needs a TCP listener with tls_cert' '$FIX/plain.err'"

# --- first steps of a two-step login: nothing counts them, so they must cost nothing
enrol() { # enrol COOKIE: an authenticator for the session's user
	hc "$U/my/totp" -H "Cookie: __Host-tokenauth=$1" >/dev/null
	_t=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$FIX/b" | head -1)
	_s=$(sed -n 's/.*name="secret" value="\([A-Z2-7=]*\)".*/\1/p' "$FIX/b" | head -1)
	hc "$U/my/totp" -H "Cookie: __Host-tokenauth=$1" \
	    -d "csrf=$_t&secret=$_s&code=$(oathtool --totp -b "$_s")" >/dev/null
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
enrol "$(login_cookie "$P" mallory Mallory-pw-3)"
_a=$(ms); s=$(hc "$U/my/login" -d "user=mallory&password=Mallory-pw-3"); _b=$(ms)
check "two-step: the first step asks for the code" sh -c "[ $s = 200 ] && grep -q 'name=\"pending\"' '$FIX/b'"
check "two-step: the refused code prompt does not sleep in a worker (PAM fail delay; $((_b - _a)) ms)" \
    [ $((_b - _a)) -lt 700 ]
stall=""
for w in 1 2 3 4; do
	( for i in 1 2 3 4 5 6; do curl -sk -o /dev/null "$U/my/login" -d "user=mallory&password=Mallory-pw-3"; done ) &
	stall="$stall $!"
done
sleep 0.3
worst=0
for i in 1 2 3; do
	_a=$(ms); curl -sk -m 30 -o /dev/null "$U/healthz"; _b=$(ms)
	[ $((_b - _a)) -gt $worst ] && worst=$((_b - _a))
done
wait $stall
check "two-step: a user's endless first steps do not stall the listener (worst healthz $worst ms)" \
    [ $worst -lt 1200 ]

# --- the pending table: one account's first steps cannot fill it for everyone
enrol "$(login_cookie "$P" alice Alice-pw-1)"
hc "$U/my/login" -d "user=mallory&password=Mallory-pw-3" >/dev/null
first=$(sed -n 's/.*name="pending" value="\([0-9a-f]*\)".*/\1/p' "$FIX/b")
for i in $(seq 1 66); do curl -sk -o /dev/null "$U/my/login" -d "user=mallory&password=Mallory-pw-3"; done
s=$(hc "$U/my/login" -d "user=alice&password=Alice-pw-1")
check "pending: after 67 of mallory's first steps alice still gets her code step ($s)" sh -c \
    "[ $s = 200 ] && grep -q 'name=\"pending\"' '$FIX/b'"
s=$(hc "$U/my/login" -d "pending=$first&code=123456")
check "pending: a user's newer first step replaced the older one ($s)" sh -c \
    "[ $s = 401 ] && grep -q 'has expired' '$FIX/b'"

# --- login brute force: max_failures = 3, then even the right password is refused
for i in 1 2 3; do
	s=$(hc "$U/my/login" -d "user=bob&password=guess$i")
	check "brute force: guess $i -> 401" [ "$s" = 401 ]
done
s=$(hc "$U/my/login" -d "user=bob&password=Bob-pw-2")
check "brute force: locked, the right password -> 429" [ "$s" = 429 ]
check "brute force: no session given" sh -c "! grep -qi '^set-cookie' '$FIX/h'"
check "brute force: the lockout is logged" grep -q "portal login user=bob outcome=locked" "$FIX/a.log"
# --- offboarding: the account goes, the open session mints nothing (on b: a is
# locking this client out after the brute force)
echo 'carol:Carol-pw-4:tokenauth-portal' >>"$FIX/passdb"
C=$(login_cookie "$Q" carol Carol-pw-4)
CT=$(csrf_of "$Q" "$C")
"$TA_CLI" -c "$FIX/base.conf" revoke --user carol >/dev/null 2>&1
grep -v '^carol:' "$FIX/passdb" >"$FIX/passdb.new" && cat "$FIX/passdb.new" >"$FIX/passdb"
s=$(hc "https://127.0.0.1:$Q/my/tokens" -H "Cookie: __Host-tokenauth=$C" -d "label=after&csrf=$CT")
check "offboarding: a session of a removed account creates no app password ($s)" sh -c \
    "[ $s = 403 ] && ! grep -q 'id=\"new-token\"' '$FIX/b' && grep -qi '^set-cookie: __Host-tokenauth=;.*Max-Age=0' '$FIX/h'"
check "offboarding: and the session is over" sh -c \
    "[ \$(curl -sk -o /dev/null -w '%{http_code}' 'https://127.0.0.1:$Q/my/tokens' -H 'Cookie: __Host-tokenauth=$C' -d 'label=again&csrf=$CT') = 401 ]"
check "offboarding: logged" grep -q "portal create user=carol refused: the account is no longer valid" "$FIX/b.log"
# --- the app password limit (b: portal_max_tokens = 2) under requests side
# by side: each counted before it inserted, and all went in past the limit
echo 'dora:Dora-pw-5:tokenauth-portal' >>"$FIX/passdb"
D=$(login_cookie "$Q" dora Dora-pw-5)
DT=$(csrf_of "$Q" "$D")
pids=
for i in 1 2 3 4 5 6 7 8; do
	curl -sk -o /dev/null -w '%{http_code}\n' "https://127.0.0.1:$Q/my/tokens" \
	    -H "Cookie: __Host-tokenauth=$D" -d "label=race$i&csrf=$DT" >"$FIX/race.$i" &
	pids="$pids $!"
done
wait $pids # not the daemons
made=$(cat "$FIX"/race.[1-8] | grep -c '^200$')
full=$(cat "$FIX"/race.[1-8] | grep -c '^409$')
check "limit: 8 creates side by side, portal_max_tokens = 2 -> 2 made, 6 refused ($made, $full)" \
    sh -c "[ '$made' = 2 ] && [ '$full' = 6 ]"
check "limit: 2 app passwords in the store" \
    [ "$("$TA_CLI" -c "$FIX/base.conf" list --user dora | grep -c ' active ')" = 2 ]
td_stop a || true
td_stop b || true
finish
