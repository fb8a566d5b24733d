#!/bin/sh
# pam_profile_stack.sh BUILD_DIR - the Debian pam-auth-update profile as it
# lands in common-auth (after pam_unix, before pam_sss), run through the
# real libpam under pam_wrapper.  fake_unix.c stands in for pam_unix (same
# prompt, sets PAM_AUTHTOK, PAM_AUTH_ERR on a wrong password,
# PAM_USER_UNKNOWN for a user it does not know) and, with use_first_pass,
# for pam_sss; a small HTTP server
# stands in for the remote verify endpoint and records what it is sent.
# The tokenauth line is the profile's own Auth: line
# (debian/pam-configs/tokenauth).  Exits non-zero when a Unix or LDAP
# password reaches the endpoint or locks the user's tokens.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${1:-build}" && pwd)
# "[success=end default=ignore] pam_tokenauth.so try_first_pass", second place
PROF=$(awk '/^Auth:/ {getline; sub(/^[ \t]+/, ""); print; exit}' "$here/../../debian/pam-configs/tokenauth")
CTL=$(printf '%s' "$PROF" | sed 's/^\(\[[^]]*\]\).*/\1/; s/success=end/success=2/')
ARGS=$(printf '%s' "$PROF" | sed 's/^\[[^]]*\][ \t]*pam_tokenauth\.so//')
fails=0
MA=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PW=/usr/lib/$MA/pam_wrapper
FIX=$(mktemp -d /tmp/ta-prof.XXXXXX); chmod 700 "$FIX"
[ -n "${TA_KEEP:-}" ] || trap 'kill $SRV 2>/dev/null; rm -rf "$FIX"' EXIT

# the remote endpoint: logs each request body, answers 401
cat >"$FIX/srv.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        with open(sys.argv[2], 'ab') as f: f.write(self.rfile.read(n) + b'\n')
        self.send_response(401); self.send_header('Content-Length', '0'); self.end_headers()
    do_GET = do_POST
    def log_message(self, *a): pass
srv = http.server.HTTPServer(('127.0.0.1', 0), H)
with open(sys.argv[1] + '.tmp', 'w') as f: f.write('%d\n' % srv.server_address[1])
import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])
srv.serve_forever()
PY
# the kernel picks a free port (no guess that another socket may hold);
# the server writes it once it listens
python3 "$FIX/srv.py" "$FIX/port" "$FIX/remote.log" & SRV=$!
i=0
while [ ! -s "$FIX/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$FIX/port" 2>/dev/null)
[ -n "$PORT" ] || { echo "FAILED - the stand-in verify endpoint did not start"; exit 1; }

printf 'store = %s/ta.db\nkey_file = %s/master.key\nmax_failures = 3\nlockout = 300\nverify = %s\nurl = http://127.0.0.1:%s/verify\n' \
	"$FIX" "$FIX" "${VERIFY:-local,remote}" "$PORT" >"$FIX/ta.conf"
chmod 600 "$FIX/ta.conf"
"$B/tokenauth" -c "$FIX/ta.conf" init >/dev/null 2>&1
"$B/tokenauth" -c "$FIX/ta.conf" issue --user alice >"$FIX/tok.alice" 2>/dev/null
# Unix passwords: alice's is Alice-Unix-1; ldapuser is not a Unix user.
printf 'alice:Alice-Unix-1\n' >"$FIX/passdb"
printf 'ldapuser:Ldap-Secret-9\n' >"$FIX/ldapdb"

cc -shared -fPIC -o "$FIX/fake_unix.so" "$here/fake_unix.c" -lpam || exit 1
mkdir -m 700 "$FIX/svc"
# what pam-auth-update --enable tokenauth (+ sss) writes into common-auth
cat >"$FIX/svc/login" <<EOS
auth [success=3 default=ignore] $FIX/fake_unix.so passdb=$FIX/passdb
auth $CTL $B/pam_tokenauth.so $ARGS ${TA_DEBUG:+debug} config=$FIX/ta.conf
auth [success=1 new_authtok_reqd=done default=ignore] $FIX/fake_unix.so passdb=$FIX/ldapdb use_first_pass
auth requisite pam_deny.so
auth required pam_permit.so
EOS

pt() { # pt USER LINES...: pamtester answers each prompt with the next line
	u=$1; shift
	printf '%s\n' "$@" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_DEBUGLEVEL=2 \
		PAM_WRAPPER_SERVICE_DIR=$FIX/svc pamtester -v login "$u" authenticate 2>&1 |
		grep -E 'successfully|failure|locked|refused|earlier' | sed 's/.*SYSLOG([0-9]*): //' | tr '\n' ' '
	echo
}
echo "0. control: alice logs in with her token at the Token: prompt:"
pt alice wrong "$(cat "$FIX/tok.alice")"
echo "1. alice mistypes her Unix password, then types it again at 'Token:' (or a"
echo "   client that answers every prompt with the password: saslauthd, dovecot):"
for i in 1 2 3; do pt alice Alice-Unix-X Alice-Unix-X; done
echo "   alice now logs in with her valid token:"
r=$(pt alice wrong "$(cat "$FIX/tok.alice")"); echo "$r"
case $r in *successfully*) echo "ok - alice not locked by her own password";;
*) echo "not ok - alice's retyped Unix password locked her tokens"; fails=$((fails + 1));; esac
echo "   alice's right Unix password: one prompt, no Token:"
r=$(pt alice Alice-Unix-1); echo "$r"
case $r in *successfully*) echo "ok - Unix password accepted";;
*) echo "not ok - Unix password refused"; fails=$((fails + 1));; esac
echo "2. LDAP user (unknown to pam_unix and to the store), right LDAP password,"
echo "   retyped at 'Token:':"
r=$(pt ldapuser Ldap-Secret-9 Ldap-Secret-9); echo "$r"
case $r in *successfully*) echo "ok - LDAP user logs in (sss line)";;
*) echo "not ok - LDAP user refused"; fails=$((fails + 1));; esac
echo "3. control: a code typed at 'Token:' for the LDAP user is ours to check"
echo "   (unknown here, so it is asked of the remote endpoint):"
pt ldapuser Ldap-Wrong-0 Remote-Probe-7 >/dev/null
echo "== the remote verify endpoint received:"
cat "$FIX/remote.log" 2>/dev/null
# the absence check below means something only if the endpoint is reached
if grep -q Remote-Probe-7 "$FIX/remote.log" 2>/dev/null; then
	echo "ok - control: a credential typed at 'Token:' reaches the endpoint"
else echo "not ok - control: the endpoint never saw the probe"; fails=$((fails + 1)); fi
if grep -q -e Alice-Unix -e Ldap-Secret "$FIX/remote.log" 2>/dev/null; then
	echo "not ok - a Unix/LDAP password reached the remote endpoint"; fails=$((fails + 1))
else echo "ok - no password reached the remote endpoint"; fi
[ "$fails" -eq 0 ]
