#!/bin/bash
# run.sh BUILD_DIR - the self-service portal end to end (make check-portal):
# tokenauthd on 127.0.0.1 with TLS and portal = yes, its PAM service under
# pam_wrapper (pam_matrix, then pam_tokenauth mode=otp), Debian's chromium
# driven by playwright-core (browser.js): login, app passwords used for a
# PAM login and seed 000's validate, revoke, TOTP enrol/remove, two-step
# login, logout.  Then sessions across SIGHUP on SQLite.  Screenshots go to
# docs/portal/ when PORTAL_SHOTS=1.
# Last line: "portal: N passed, M failed"; exit status 1 on any failure.
set -u
SUITE="portal"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
portal_init "${1:-build}"

[ -d "$HERE/node_modules/playwright-core" ] || die "playwright-core missing: make deps (npm ci in tests/portal)"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing: make deps"
[ -n "$PWMOD" ] || die "pam_matrix.so (libpam-wrapper) missing: make deps"
portal_fixture || die "fixture"
trap 'finish' INT TERM
P=$(portal_port)
portal_conf p1 "$P"
portal_start p1 "$FIX/p1.conf" || die "tokenauthd did not start: $(tail -3 "$FIX/p1.log")"

cat >"$FIX/helper.sh" <<EOH
# helper.sh for browser.js: the commands it runs outside the browser
B=$B FIX=$FIX
. "$TOP/tests/tokenauthd/lib.sh"
. "$HERE/lib.sh"
case "\$1" in
apppw) apppw "\$2" "\$3" ;;
validate) curl -sk -H 'Content-Type: application/json' \\
    -d "\$(triple "\$2" "\$3" "")" "https://127.0.0.1:$P\$VPATH" ;;
totp) oathtool --totp -b -N "now + \${3:-0} seconds" "\$2" ;;
esac
EOH
SHOTS=
[ -n "${PORTAL_SHOTS:-}" ] && SHOTS=$TOP/docs/portal && mkdir -p "$SHOTS"
PORTAL=https://127.0.0.1:$P HELPER=$FIX/helper.sh SHOTS=$SHOTS node "$HERE/browser.js" >"$FIX/browser.out" 2>&1
sed '$d' "$FIX/browser.out"
pass=$((pass + $(grep -c '^ok - ' "$FIX/browser.out")))
fail=$((fail + $(grep -c '^not ok - ' "$FIX/browser.out")))
grep -q '^browser: ' "$FIX/browser.out" || bad "browser.js did not finish: $(tail -3 "$FIX/browser.out")"

# --- a session survives SIGHUP (it lives in the store)
c=$(login_cookie "$P" bob Bob-pw-2)
check "bob logs in (curl)" [ -n "$c" ]
kill -HUP "$(cat "$FIX/p1.pid")"
i=0; while [ $i -lt 100 ] && ! grep -q "reload" "$FIX/p1.log"; do sleep 0.05; i=$((i + 1)); done
sleep 0.3
s=$(hc "https://127.0.0.1:$P/my/" -H "Cookie: __Host-tokenauth=$c")
check "bob's session works after SIGHUP" [ "$s" = 200 ] && grep -q 'Signed in as <b>bob</b>' "$FIX/b"
# --- a scope of two lines reaches seed 004's GET /verify as the token's parameters
bt=$(csrf_of "$P" "$c")
hc "https://127.0.0.1:$P/my/tokens" -H "Cookie: __Host-tokenauth=$c" --data-urlencode "csrf=$bt" \
    --data-urlencode "label=scoped" --data-urlencode "scope=$(printf 'app=dav\r\n\r\n  share=photos')" >/dev/null
stok=$(sed -n 's/.*id="new-token">\([^<]*\)<.*/\1/p' "$FIX/b")
curl -sk -H "x-api-token: $stok" "https://127.0.0.1:$P/verify" >"$FIX/verify"
check "scope lines become the token's parameters (GET /verify)" sh -c \
    "grep -q '\"app\":\"dav\"' '$FIX/verify' && grep -q '\"share\":\"photos\"' '$FIX/verify'"
s=$(hc "https://127.0.0.1:$P/my/tokens" -H "Cookie: __Host-tokenauth=$c" --data-urlencode "csrf=$bt" \
    --data-urlencode "label=toolong" --data-urlencode "days=9999")
check "a lifetime past portal_max_ttl -> 400 naming days" sh -c "[ $s = 400 ] && grep -q 'days: a whole number from 1 to 365' '$FIX/b'"
curl -sk "https://127.0.0.1:$P/metrics" >"$FIX/metrics"
check "/metrics counts portal actions (2 created, 1 refused)" sh -c "grep -q 'tokenauthd_portal_actions_total{action=\"create\",outcome=\"success\"} 2' '$FIX/metrics' && grep -q 'tokenauthd_portal_actions_total{action=\"create\",outcome=\"bad_request\"} 1' '$FIX/metrics'"
# --- no secret in the log
tok=$(sed -n 's/.*tka_\([A-Za-z0-9]*\).*/tka_\1/p' "$FIX/browser.out" | head -1)
check "no password or session id in the log" sh -c "! grep -q -e Alice-pw-1 -e Bob-pw-2 -e '$c' '$FIX/p1.log'"
check "no app password in the log" sh -c "! grep -q 'tka_[A-Za-z0-9]\{40\}' '$FIX/p1.log'"
td_stop p1 || true
finish
