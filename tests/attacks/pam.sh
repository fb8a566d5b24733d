#!/bin/sh
# pam.sh BUILD - attacks at the PAM boundary, where the attacker is a user
# choosing names and passwords (SECURITY.md), through the real libpam.
#
# Every case runs tests/attacks/pam_retry: ONE handle from
# pam_start_confdir() (no wrapper; service files in a private folder) and
# pam_authenticate called once per answer on it, as util-linux login
# retries.  The remote endpoint is tests/attacks/pam_fixture.py, a kudo
# (seed 004) server on 127.0.0.1 that keeps connections alive, answers
# pipelined requests in order, answers GET /healthz with 200 and logs every
# request it receives.
#
#  1. Request smuggling through the x-api-token header (issue 9, defect 1):
#     a password carrying CR/LF and a second request must not log anyone
#     in on the next attempt of the same handle, and the endpoint must
#     never see the smuggled request.  Variants: bare LF, a Content-Length
#     that swallows the next request, other control bytes, an oversized
#     credential, a user name carrying a header; a password adding a JSON
#     key (cec) or a form field (introspection).
#  2. try_first_pass (defect 8): the earlier module's password (a Unix
#     password) never reaches the endpoint and never counts as a failure;
#     a credential of our shape is checked as usual; the same string typed
#     again at the prompt is checked once when of our shape, and never
#     when not (still the Unix password); use_first_pass still sends the
#     stacked credential (the administrator says it is ours).
#  3. try_first_pass with the local store: lockout counts each attempt
#     once, and still locks; guesses put into the earlier module's prompt,
#     hanging up at ours, are not free.
#  4. nullok: a second name the user database gives an enrolled account
#     ("LOU" for lou) is refused, not ignored (tests/attacks/nss_alias.c).
# Ends with "attacks-pam: N passed, N failed".
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cli/lib.sh"
TA=$B/tokenauth
MOD=$B/pam_tokenauth.so
DRV=$B/tests/attacks/pam_retry
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
SETITEMS=/usr/lib/$MULTIARCH/pam_wrapper/pam_set_items.so
W=$(mktemp -d /tmp/ta-attacks-pam-XXXXXX) || exit 1
chmod 700 "$W"
FIXPID=""
cleanup() {
	[ -n "$FIXPID" ] && kill "$FIXPID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${TA_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$W/results"

for f in "$TA" "$MOD" "$DRV" "$SETITEMS"; do
	if [ ! -e "$f" ]; then
		bad "missing $f (make check-attacks builds the driver; pam_wrapper gives pam_set_items.so)"
		summary "attacks-pam"
		exit 1
	fi
done

# ---- store, tokens, fixture, configs, service files ----------------------------------------
conf() { # conf NAME STORE key=value...: $W/NAME.conf
	f=$W/$1.conf s=$2
	shift 2
	{
		echo "store = $s"
		echo "key_file = $W/master.key"
		echo "connect_timeout_ms = 1000"
		echo "timeout_ms = 2000"
		for kv in "$@"; do echo "$kv"; done
	} >"$f"
	chmod 600 "$f"
}
DB=$W/db/tokenauth.db
conf local "$DB"
conf other "$W/other/tokenauth.db"
ta() { "$TA" -c "$W/local.conf" "$@"; }
ta init >/dev/null 2>&1 || bad "tokenauth init"
"$TA" -c "$W/other.conf" init >/dev/null 2>&1 || bad "tokenauth init (other store)"
issue() { # issue CONF USER: prints the token
	"$TA" -c "$W/$1.conf" issue --user "$2" --ttl 1d 2>/dev/null
}
TOK_LOU=$(issue local lou)
TOK_LOU2=$(issue local lou2)
TOK_LOU3=$(issue local lou3)
IVY_TOK="Imported-token-of-ivy-0001" # imported: not of our shape
echo "$IVY_TOK" | ta add --user ivy --ttl 1d >/dev/null 2>&1 || bad "add imported token"
# Tokens of our shape that this store does not hold: one the endpoint
# knows (rita's), one nobody knows.
TOK_RITA=$(issue other rita)
TOK_STRAY=$(issue other nobody)
ROB_TOK="Opaque-remote-token-of-rob-0123456789" # an endpoint's own format
UNIXPW="Unix-passw0rd-of-the-user"              # what pam_unix collected
HARMLESS="wrong-but-harmless-token-0001"
for t in "$TOK_LOU" "$TOK_LOU2" "$TOK_LOU3" "$TOK_RITA" "$TOK_STRAY"; do
	case $t in tka_*) ok ;; *) bad "issue failed" ;; esac
done

LOG=$W/fixture.log
: >"$LOG"
python3 "$HERE/pam_fixture.py" --log "$LOG" --token "$TOK_RITA=rita" --token "$ROB_TOK=rob" \
	>"$W/fixture.out" 2>"$W/fixture.err" &
FIXPID=$!
PORT=""
for _ in $(seq 100); do
	PORT=$(sed -n 's/^READY //p' "$W/fixture.out")
	[ -n "$PORT" ] && break
	sleep 0.05
done
if [ -z "$PORT" ]; then
	bad "fixture did not start: $(cat "$W/fixture.err")"
	summary "attacks-pam"
	exit 1
fi
kconf() { # kconf NAME key=value...: remote kudo config with the store beside it
	n=$1
	shift
	conf "$n" "$DB" "verify = remote" "profile = kudo" "url = http://127.0.0.1:$PORT/verify" "$@"
}
kconf kudo "max_failures = 0"
conf cec "$DB" "verify = remote" "profile = cec" "url = http://127.0.0.1:$PORT/cec" \
	"max_failures = 0"
conf intro "$DB" "verify = remote" "profile = introspection" \
	"url = http://127.0.0.1:$PORT/introspect" "max_failures = 0"
kconf kudolock "max_failures = 3" "lockout = 300"
conf locallock "$DB" "verify = local" "max_failures = 3" "lockout = 300"

SVC=$W/pam.d
mkdir -m 700 "$SVC"
echo "auth required $MOD config=$W/kudo.conf" >"$SVC/kudo"
echo "auth required $MOD config=$W/cec.conf" >"$SVC/cec"
echo "auth required $MOD config=$W/intro.conf" >"$SVC/intro"
printf 'auth required %s\nauth required %s config=%s try_first_pass\n' \
	"$SETITEMS" "$MOD" "$W/kudolock.conf" >"$SVC/kudo-try"
printf 'auth required %s\nauth required %s config=%s use_first_pass\n' \
	"$SETITEMS" "$MOD" "$W/kudo.conf" >"$SVC/kudo-use"
printf 'auth required %s\nauth required %s config=%s try_first_pass\n' \
	"$SETITEMS" "$MOD" "$W/locallock.conf" >"$SVC/local-try"

# drv SERVICE USER ANSWER...: one handle, one pam_authenticate per answer.
# The earlier module's password (pam_set_items.so) is $STACKED when set.
STACKED=""
drv() {
	if [ -n "$STACKED" ]; then
		PAM_AUTHTOK=$STACKED "$DRV" "$SVC" "$@" >"$W/out" 2>"$W/err"
	else
		env -u PAM_AUTHTOK "$DRV" "$SVC" "$@" >"$W/out" 2>"$W/err"
	fi
	drc=$?
	if [ "$drc" -eq 0 ]; then ok; else bad "pam_retry $1 exited $drc: $(cat "$W/err")"; fi
}
# attempt N CODE PROMPTS DESC: what call N of the last drv returned
attempt() {
	if grep -qx "attempt $1: $2 prompts=$3" "$W/out"; then ok; else
		bad "$4: wanted 'attempt $1: $2 prompts=$3', got '$(grep "^attempt $1:" "$W/out")'"
	fi
}
# attempt_code N CODE DESC: the same, whatever the number of prompts
attempt_code() {
	if grep -q "^attempt $1: $2 prompts=" "$W/out"; then ok; else
		bad "$3: wanted 'attempt $1: $2', got '$(grep "^attempt $1:" "$W/out")'"
	fi
}
# seen STRING COUNT DESC: requests in the fixture log that carry STRING
seen() {
	n=$(grep -cF -- "$1" "$LOG")
	if [ "$n" -eq "$2" ]; then ok; else bad "$3: the endpoint saw it in $n request(s), wanted $2"; fi
}
# no_request PATH DESC: the endpoint answered no request for PATH
no_request() {
	if grep -qF "\"request\": \"GET $1 " "$LOG"; then bad "$2: the endpoint answered GET $1"; else ok; fi
}

# ---- 1. request smuggling through x-api-token, one handle retried ------------------------
echo "== PAM: smuggling and injection through the password, one handle retried"
SMUGGLE='x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n'
drv kudo victim "$SMUGGLE" "$HARMLESS"
attempt 1 PAM_AUTH_ERR 1 "smuggling password refused"
attempt 2 PAM_AUTH_ERR 1 "next attempt on the same handle not answered by the smuggled request"
no_request /healthz "CR/LF smuggling"
seen healthz 0 "the smuggling password left the host"
seen "$HARMLESS" 1 "the second attempt went to the endpoint, once"

drv kudo victim 'x\n\nGET /healthz HTTP/1.1\nHost: a\n\n' "$HARMLESS"
attempt 1 PAM_AUTH_ERR 1 "bare-LF smuggling refused"
attempt 2 PAM_AUTH_ERR 1 "bare-LF smuggling: next attempt"
no_request /healthz "bare-LF smuggling"

# A Content-Length that would swallow the next attempt's request as a body.
drv kudo victim 'x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 120\r\n\r\n' \
	"$HARMLESS"
attempt 1 PAM_AUTH_ERR 1 "smuggling with Content-Length refused"
attempt 2 PAM_AUTH_ERR 1 "smuggling with Content-Length: next attempt"
no_request /healthz "smuggling with Content-Length"

# A second x-api-token header: would be a login with rita's token for victim.
drv kudo victim "x\\r\\nx-api-token: $TOK_RITA" "$HARMLESS"
attempt 1 PAM_AUTH_ERR 1 "injected second header refused"
attempt 2 PAM_AUTH_ERR 1 "injected second header: next attempt"
seen "$TOK_RITA" 0 "a header injected through the password reached the endpoint"

# Other bytes outside the credential grammar, and an oversized credential.
BIG=$(head -c 600 /dev/zero | tr '\0' 'A')
drv kudo victim 'tka_\x1b[2Jreset' 'caf\xc3\xa9-token-0001' 'tab\tinside' "$BIG" "$HARMLESS"
attempt 1 PAM_AUTH_ERR 1 "ESC in a credential refused"
attempt 2 PAM_AUTH_ERR 1 "non-ASCII credential refused"
attempt 3 PAM_AUTH_ERR 1 "TAB in a credential refused"
attempt 4 PAM_AUTH_ERR 1 "600-byte credential refused"
attempt 5 PAM_AUTH_ERR 1 "a harmless credential after them"
seen reset 0 "a credential with ESC was sent"
seen "caf" 0 "a non-ASCII credential was sent"
seen "AAAAAAAAAAAAAAAA" 0 "an oversized credential was sent"

# A user name that carries a header line.
drv kudo 'victim\r\nx-api-token: smuggled-by-name' "$HARMLESS"
attempt 1 PAM_USER_UNKNOWN 1 "user name with CR/LF refused (after the same prompt as anyone)"
seen smuggled-by-name 0 "a header injected through the user name reached the endpoint"

# JSON (cec) and form (introspection) injection: printable ASCII passes
# the gate, so the encoders must keep it inside its own field.
drv cec rita "x\",\"access_token\":\"$TOK_RITA" "$TOK_RITA"
attempt 1 PAM_AUTH_ERR 1 "cec: a password adding an access_token key"
attempt 2 PAM_SUCCESS 1 "cec: control, the right token"
drv cec victim "x\",\"userAccount\":\"rita\",\"access_token\":\"$TOK_RITA"
attempt 1 PAM_AUTH_ERR 1 "cec: a password adding userAccount and access_token keys"
drv intro rita "x&token=$TOK_RITA" "x%26token%3D$TOK_RITA" "$TOK_RITA"
attempt 1 PAM_AUTH_ERR 1 "introspection: a password adding a token field"
attempt 2 PAM_AUTH_ERR 1 "introspection: a percent-encoded field"
attempt 3 PAM_SUCCESS 1 "introspection: control, the right token"

# Control: the same handle shape does log in with a good token, so the
# refusals above are verdicts, not a broken fixture.
drv kudo rita "$HARMLESS" "$TOK_RITA"
attempt 1 PAM_AUTH_ERR 1 "control: wrong token on a fresh handle"
attempt 2 PAM_SUCCESS 1 "control: right token on the retried handle"
no_request /healthz "whole smuggling section"

# ---- 2. try_first_pass with a remote endpoint --------------------------------------------
echo "== PAM: try_first_pass with a remote endpoint"
STACKED=$UNIXPW
drv kudo-try rob "$ROB_TOK"
attempt 1 PAM_SUCCESS 1 "try_first_pass: Unix password refused quietly, prompted token accepted"
# max_failures = 3: if the stacked password counted, two attempts would be
# four failures and the third attempt would be locked.
drv kudo-try rob "wrong-token-rob-1" "wrong-token-rob-2" "$ROB_TOK"
attempt 1 PAM_AUTH_ERR 1 "try_first_pass: wrong prompted token (1)"
attempt 2 PAM_AUTH_ERR 1 "try_first_pass: wrong prompted token (2)"
attempt 3 PAM_SUCCESS 1 "try_first_pass: the stacked password did not count towards lockout"
# ... but the prompted answers do count.
drv kudo-try rob "wrong-token-rob-3" "wrong-token-rob-4" "wrong-token-rob-5" "$ROB_TOK"
attempt_code 4 PAM_AUTH_ERR "try_first_pass: prompted failures still lock (remote)"
"$TA" -c "$W/kudolock.conf" unlock --user rob >/dev/null 2>&1 || bad "unlock rob"
# The same string typed again at the prompt (a user retyping a mistyped
# Unix password, a client answering every prompt with it) is still the
# earlier module's password: not sent, not counted.
STACKED="Same-string-typed-twice-01"
drv kudo-try rob "Same-string-typed-twice-01"
attempt 1 PAM_AUTH_ERR 1 "try_first_pass: same wrong string at the prompt"
seen "Same-string-typed-twice-01" 0 "try_first_pass: a string typed twice"
STACKED=$TOK_STRAY
drv kudo-try rob "$TOK_STRAY"
attempt 1 PAM_AUTH_ERR 1 "try_first_pass: same wrong token of our shape at the prompt"
seen "$TOK_STRAY" 1 "try_first_pass: a token of our shape typed twice"
# A stacked credential of our shape is checked as usual: no prompt.
STACKED=$TOK_RITA
drv kudo-try rita "never-asked"
attempt 1 PAM_SUCCESS 0 "try_first_pass: stacked token of our shape accepted without a prompt"
# A stacked smuggling attempt goes nowhere either.
STACKED=$(printf 'x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n')
drv kudo-try victim "$HARMLESS" "$HARMLESS"
attempt 1 PAM_AUTH_ERR 1 "try_first_pass: stacked smuggling password"
attempt 2 PAM_AUTH_ERR 1 "try_first_pass: stacked smuggling password, next attempt"
no_request /healthz "stacked smuggling password"
# use_first_pass: the administrator says the stacked credential is ours.
STACKED=$ROB_TOK
drv kudo-use rob "never-asked"
attempt 1 PAM_SUCCESS 0 "use_first_pass: stacked endpoint token accepted"
STACKED=""
seen "$UNIXPW" 0 "try_first_pass: the Unix password reached the endpoint"

# ---- 3. try_first_pass with the local store: each attempt counts once ---------------------
echo "== PAM: try_first_pass with the local store, lockout"
STACKED=$UNIXPW
drv local-try lou "tka_wrong1" "tka_wrong2" "$TOK_LOU"
attempt 1 PAM_AUTH_ERR 1 "local try_first_pass: wrong token (1)"
attempt 2 PAM_AUTH_ERR 1 "local try_first_pass: wrong token (2)"
attempt 3 PAM_SUCCESS 1 "local try_first_pass: the Unix password did not count towards lockout"
# Our shape, typed twice: the stacked check counts, the repeat does not.
# (Counted twice, attempt 2's stacked check would be the third failure.)
STACKED=$TOK_STRAY
drv local-try lou2 "$TOK_STRAY" "$TOK_LOU2"
attempt 1 PAM_AUTH_ERR 1 "local: stray token of our shape typed twice"
attempt 2 PAM_SUCCESS 1 "local: a token typed twice counted once"
# Lockout still works: three wrong answers, then the right one is refused.
STACKED=$UNIXPW
drv local-try lou3 "tka_wrong1" "tka_wrong2" "tka_wrong3" "$TOK_LOU3"
attempt_code 4 PAM_AUTH_ERR "local try_first_pass: three prompted failures lock"
STACKED=""
drv local-try lou3 "$TOK_LOU3"
attempt 1 PAM_AUTH_ERR 1 "local: still locked without try_first_pass input"
expect 0 "unlock lou3" -- ta unlock --user lou3
drv local-try lou3 "$TOK_LOU3"
attempt 1 PAM_SUCCESS 1 "local: unlocked"
# Lockout evasion: guesses at an imported token (not of our shape) put into
# the earlier module's password prompt, hanging up at ours each time (an
# ssh client disconnecting), must not be free: after more guesses than
# max_failures the right one must not log in.
for i in 2 3 4 5; do
	STACKED="Imported-token-of-ivy-000$i"
	drv local-try ivy "%CONVERR"
done
STACKED=$IVY_TOK
drv local-try ivy "%CONVERR"
if grep -q "^attempt 1: PAM_SUCCESS" "$W/out"; then
	bad "try_first_pass: 4 stacked guesses with a hang-up at the prompt went uncounted; the 5th logged in"
else ok; fi
STACKED=""

# ---- 4. nullok and a user database that gives an account a second name ---------------------
# A case-insensitive directory (SSSD/LDAP case_sensitive = false) or one that
# accepts qualified names (winbind DOMAIN\\user, SSSD user@domain) hands the
# typed name to PAM as is.  "LOU" had no credential, so nullok ignored it and
# the next module (here pam_permit, standing in for pam_unix) logged in as
# lou without lou's token.  nss_alias.so plays that database.
echo "== PAM: nullok and a second name for an enrolled account"
PERMIT=$(dirname "$SETITEMS")/../security/pam_permit.so
[ -e "$PERMIT" ] || PERMIT=/usr/lib/$MULTIARCH/security/pam_permit.so
ALIAS=$W/nss_alias.so
if ${CC:-cc} -shared -fPIC -o "$ALIAS" "$HERE/nss_alias.c" -ldl 2>"$W/cc.err" && [ -e "$PERMIT" ]; then
	ok
	printf 'auth [success=done ignore=ignore default=die] %s config=%s nullok\nauth required %s\n' \
		"$MOD" "$W/locallock.conf" "$PERMIT" >"$SVC/local-nullok"
	adrv() { # drv, with the stand-in user database preloaded into the driver only
		env -u PAM_AUTHTOK NSS_ALIAS='LOU=lou,Zed=zed' NSS_FAIL='Lou-down' NSS_FAIL_ENOENT='Lou-ldap-down' \
			LD_PRELOAD="$ALIAS" \
			"$DRV" "$SVC" "$@" \
			>"$W/out" 2>"$W/err"
		drc=$?
		if [ "$drc" -eq 0 ]; then ok; else bad "pam_retry $1 exited $drc: $(cat "$W/err")"; fi
	}
	adrv local-nullok LOU "tka_not-asked"
	attempt 1 PAM_AUTH_ERR 0 "nullok: 'LOU', another name of enrolled lou, skipped lou's token"
	adrv local-nullok Zed "tka_not-asked"
	attempt 1 PAM_SUCCESS 0 "nullok: another name of an account without a credential is still ignored"
	adrv local-nullok nobody-here "tka_not-asked"
	attempt 1 PAM_SUCCESS 0 "nullok: an unknown name without a credential is still ignored"
	# a user database that cannot answer (down, no memory, no descriptor
	# left) cannot rule out a second name: refused, never ignored
	adrv local-nullok Lou-down "tka_not-asked"
	attempt 1 PAM_SERVICE_ERR 0 "nullok: a name the user database could not look up was ignored"
	adrv local-nullok Lou-ldap-down "tka_not-asked"
	attempt 1 PAM_SERVICE_ERR 0 "nullok: a lookup that failed with ENOENT (nslcd, sssd down) was ignored"
	adrv local-nullok lou "$TOK_LOU"
	attempt 1 PAM_SUCCESS 1 "nullok: lou under its own name still logs in with its token"
else
	bad "cannot build nss_alias.so or find pam_permit.so: $(cat "$W/cc.err")"
fi

summary "attacks-pam"
