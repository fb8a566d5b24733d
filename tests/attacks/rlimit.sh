#!/bin/sh
# rlimit.sh BUILD - resource limits in a setuid host (outsider review of
# issue 9): the caller runs a su-shaped setuid-root PAM host with
# `ulimit -f 0; trap '' XFSZ`, which makes every store write fail.  Before
# the fix, wrong OTP codes were never counted (no lockout, ever) and the
# right code answered PAM_AUTHINFO_UNAVAIL unspent: an oracle.  Now a
# privileged host gets its limits back, and wherever a write still fails
# the code is refused unchecked, so right and wrong look the same.
set -u
B=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cli/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "attacks-rlimit: SKIP (needs root and setpriv)"
	echo "attacks-rlimit: 0 passed, 0 failed"
	exit 0
fi
W=$(mktemp -d /tmp/ta-att-rlimit-XXXXXX)
HOLD=""
cleanup() { [ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
chgrp nogroup "$W"
chmod 0710 "$W"
mkdir -m 0755 "$W/bin" "$W/pam.d"
mkdir -m 0700 "$W/etc"
cat >"$W/etc/ta.conf" <<E2
store = $W/etc/db/tokenauth.db
key_file = $W/etc/master.key
mode = otp
max_failures = 3
lockout = 300
E2
chmod 600 "$W/etc/ta.conf"
echo "auth required $B/pam_tokenauth.so config=$W/etc/ta.conf" >"$W/pam.d/ta-su"
cc -O1 -DTA_CONFDIR="\"$W/pam.d\"" -o "$W/bin/su_host" "$HERE/setuid_su.c" -lpam || exit 1
chmod 4755 "$W/bin/su_host"
"$B/tokenauth" -c "$W/etc/ta.conf" init >/dev/null 2>&1
SECRET=$("$B/tokenauth" -c "$W/etc/ta.conf" otp enroll --user alice --no-qr 2>/dev/null |
	grep -o 'secret=[A-Z2-7]*' | head -1 | cut -d= -f2)
[ -n "$SECRET" ] && ok || bad "enrolment printed no secret"
DB="$W/etc/db/tokenauth.db"
# the store held open elsewhere (tokenauthd, a login in progress): its -shm exists
python3 -c "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1]); c.execute('select 1 from throttle').fetchall(); time.sleep(60)" "$DB" &
HOLD=$!
sleep 0.5
code_now() { python3 - "$SECRET" <<'PY'
import base64,hmac,hashlib,struct,sys,time
s=sys.argv[1]; k=base64.b32decode(s+'='*(-len(s)%8))
h=hmac.new(k,struct.pack('>Q',int(time.time())//30),hashlib.sha1).digest(); o=h[-1]&15
print('%06d'%((struct.unpack('>I',h[o:o+4])[0]&0x7fffffff)%10**6))
PY
}
rows() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from throttle where user='alice' and locked_until>strftime('%s','now')\").fetchone()[0])" "$DB"; }
limited() { setpriv --reuid=nobody --regid=nogroup --clear-groups \
	sh -c "ulimit -f 0; trap '' XFSZ; exec $W/bin/su_host $1"; }

# 1. setuid host, limit set by the caller.  Where root may raise the hard
#    limit (CAP_SYS_RESOURCE) the limit is lifted and failures count; where
#    it may not (a container), every code is refused unchecked.  Either way:
#    no code is accepted, a right code answers like a wrong one, and guesses
#    are never free (counted, or never checked at all).
for i in 1 2 3; do limited 00000$i | cat >>"$W/answers"; done
right=$(limited "$(code_now)")
wrong=$(head -1 "$W/answers")
[ "$(sort -u "$W/answers" | wc -l)" = 1 ] && ok || bad "wrong codes answered differently: $(tr '\n' ' ' <"$W/answers")"
[ "$right" = "$wrong" ] && ok || bad "setuid, ulimit -f 0: right code answered $right, wrong $wrong (an oracle)"
[ "$right" != 0 ] && ok || bad "setuid, ulimit -f 0: a code was accepted"
if [ "$wrong" = 7 ]; then
	[ "$(rows)" = 1 ] && ok || bad "limits lifted but three wrong codes did not lock alice"
else
	# a service error, never PAM_AUTHINFO_UNAVAIL (9): a stack with
	# authinfo_unavail=ignore would skip that and let the code through
	[ "$wrong" = 3 ] && ok || bad "setuid, ulimit -f 0: PAM code $wrong, wanted 3 (refused unchecked)"
	[ "$(rows)" = 0 ] && ok || bad "refused-unchecked codes left a throttle row"
fi
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('delete from throttle'); c.commit()" "$DB"

# 2. the same limit in a process that is not privileged (a daemon started
#    with it): nothing lifts it, so every code is refused unchecked, alike
cp "$W/bin/su_host" "$W/bin/plain_host" && chmod 0755 "$W/bin/plain_host"
wrong=$(sh -c "ulimit -f 0; trap '' XFSZ; exec $W/bin/plain_host 000009")
right=$(sh -c "ulimit -f 0; trap '' XFSZ; exec $W/bin/plain_host $(code_now)")
[ "$wrong" = "$right" ] && ok || bad "unprivileged, ulimit -f 0: right code answered $right, wrong $wrong (an oracle)"
[ "$right" != 0 ] && ok || bad "a code was accepted although its use could not be recorded"
[ "$right" != 9 ] && ok || bad "unprivileged, ulimit -f 0: an uncountable code answered PAM_AUTHINFO_UNAVAIL (skippable)"
# the right code is still good once the limit is gone (it was never checked)
sleep 1
r=$("$W/bin/plain_host" "$(code_now)")
[ "$r" = 0 ] && ok || bad "right code without the limit: PAM code $r, wanted 0"

summary "attacks-rlimit"
