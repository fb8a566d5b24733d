#!/bin/sh
# setuid.sh BUILD - issue 9, defect 2: nothing from the caller's environment
# in a privileged host, and no file of ours made writable by the umask.
#
# Two setuid-root hosts built here (tests/attacks/setuid_pam.c, shaped like
# sudo; tests/attacks/setuid_sasl.c, a Cyrus SASL server) are run by an
# unprivileged user (nobody) with umask 000 and a hostile environment:
# SSLKEYLOGFILE naming a file in a folder only root can write, every proxy
# variable pointing at a listener that records connections, OPENSSL_CONF a
# FIFO that records being opened, TMPDIR/SQLITE_TMPDIR, PG* and CURL_* in
# the user's own folder.  Runs: PAM with verify=remote to an unreachable
# URL; SASL with no tokenauth configuration at all; SASL with
# verify=remote.  Each must: create no key log, make no proxy connection,
# leave OpenSSL's file unopened, create nothing of root's in the user's
# folder, remove the variables from the privileged process, and give the
# same answer as the same host run by root with a clean environment
# (PAM_AUTHINFO_UNAVAIL for the unreachable URL).  The store, its WAL/SHM,
# the remote cache and the keys, created under umask 000, must not be
# group- or world-writable.
#
# Needs root (CI runs as root), cc, setpriv and python3; prints SKIP
# otherwise.  Ends with "attacks-setuid: N passed, N failed".
set -u
B=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! command -v cc >/dev/null ||
	! command -v python3 >/dev/null || ! id nobody >/dev/null 2>&1; then
	echo "attacks-setuid: SKIP (needs root, cc, setpriv, python3 and the user nobody)"
	exit 0
fi
for f in pam_tokenauth.so libtokenauth.so tokenauth; do
	[ -e "$B/$f" ] || { echo "attacks-setuid: $B/$f missing" >&2; exit 1; }
done

RUNAS=nobody
RUNGRP=$(id -gn nobody)
W=$(mktemp -d /tmp/ta-setuid.XXXXXX) || exit 1
BG=""
cleanup() {
	for p in $BG; do kill "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$W/results"
# Only root and the test user's group may traverse the folder: the setuid
# programs in it are reachable by nobody and by no one else.
chgrp "$RUNGRP" "$W"
chmod 0710 "$W"
mkdir -m 0755 "$W/bin" "$W/pam.d" "$W/plug"
mkdir -m 0700 "$W/etc" "$W/root"
mkdir -m 0700 "$W/pwn" "$W/pwn/tmp"
URL=http://127.0.0.1:1/x

# ---- the hosts ---------------------------------------------------------------
cat >"$W/pam.d/ta-setuid" <<EOF
auth required $B/pam_tokenauth.so config=$W/etc/ta.conf verify=remote url=$URL
EOF
cp "$B/libtokenauth.so" "$W/plug/"
chmod 0644 "$W/pam.d/ta-setuid" "$W/plug/libtokenauth.so"
cc -O1 -o "$W/bin/setuid_pam" -DTA_CONFDIR="\"$W/pam.d\"" "$here/setuid_pam.c" -lpam ||
	{ echo "attacks-setuid: cannot build setuid_pam" >&2; exit 1; }
cc -O1 -o "$W/bin/setuid_sasl" -DTA_PLUGDIR="\"$W/plug\"" \
	-DTA_REMOTE_CONF="\"$W/etc/sasl.conf\"" "$here/setuid_sasl.c" -lsasl2 ||
	{ echo "attacks-setuid: cannot build setuid_sasl" >&2; exit 1; }
chown root:root "$W/bin/setuid_pam" "$W/bin/setuid_sasl"
chmod 4755 "$W/bin/setuid_pam" "$W/bin/setuid_sasl"

# ---- configuration and store, created under umask 000 ------------------------
cat >"$W/etc/ta.conf" <<EOF
store = $W/var/tokenauth.db
key_file = $W/etc/master.key
cache_ttl = 60
offline_grace = 60
EOF
{ cat "$W/etc/ta.conf"; echo "verify = remote"; echo "url = $URL"; } >"$W/etc/sasl.conf"
chmod 0600 "$W/etc/ta.conf" "$W/etc/sasl.conf"
(umask 000 && "$B/tokenauth" -c "$W/etc/ta.conf" init >/dev/null 2>"$W/err") ||
	{ echo "attacks-setuid: tokenauth init failed:" >&2; cat "$W/err" >&2; exit 1; }

# ---- the attacker's instruments ------------------------------------------------
# A listener that records every connection: the proxy of every variable.
cat >"$W/listen.py" <<'EOF'
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("connection\n")
    c.close()
EOF
python3 "$W/listen.py" "$W/proxy.port" "$W/proxy.log" &
BG="$BG $!"
n=0
while [ ! -s "$W/proxy.port" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
PP=$(cat "$W/proxy.port" 2>/dev/null) || { echo "attacks-setuid: no listener" >&2; exit 1; }
: >"$W/proxy.log"

# OPENSSL_CONF names a FIFO: a writer waits for a reader and records it.
mkfifo -m 0600 "$W/pwn/openssl.cnf"
arm_fifo() {
	(exec 3>"$W/pwn/openssl.cnf" && echo opened >>"$W/ossl.rec") &
	BG="$BG $!"
}
arm_fifo
printf '*:*:*:*:secret\n' >"$W/pwn/pgpass"
chown -R "$RUNAS:$RUNGRP" "$W/pwn"

hostile() { # hostile COMMAND...: as nobody, umask 000, a hostile environment
	env -i PATH=/usr/bin:/bin HOME="$W/pwn" LANG=C \
		SSLKEYLOGFILE="$W/root/keylog" \
		http_proxy="http://127.0.0.1:$PP" HTTP_PROXY="http://127.0.0.1:$PP" \
		https_proxy="http://127.0.0.1:$PP" HTTPS_PROXY="http://127.0.0.1:$PP" \
		all_proxy="http://127.0.0.1:$PP" ALL_PROXY="http://127.0.0.1:$PP" \
		no_proxy=example.invalid NO_PROXY=example.invalid \
		OPENSSL_CONF="$W/pwn/openssl.cnf" OPENSSL_MODULES="$W/pwn" \
		OPENSSL_ENGINES="$W/pwn" SSL_CERT_FILE="$W/pwn/ca.pem" SSL_CERT_DIR="$W/pwn" \
		TMPDIR="$W/pwn/tmp" SQLITE_TMPDIR="$W/pwn/tmp" \
		PGHOST=127.0.0.1 PGPORT="$PP" PGUSER=postgres PGPASSFILE="$W/pwn/pgpass" \
		PGSERVICEFILE="$W/pwn/pg_service.conf" PGSYSCONFDIR="$W/pwn" \
		CURL_SSL_BACKEND=gnutls CURL_HOME="$W/pwn" \
		timeout 60 setpriv --reuid="$RUNAS" --regid="$RUNGRP" --clear-groups \
		sh -c 'umask 000; cd / && exec "$@"' hostile "$@"
}
clean() { # clean COMMAND...: as root, the host's own environment
	env -i PATH=/usr/bin:/bin LANG=C timeout 60 sh -c 'cd / && exec "$@"' clean "$@"
}
clean_user() { # clean_user COMMAND...: as nobody, setuid as in the attack, a clean environment
	env -i PATH=/usr/bin:/bin LANG=C timeout 60 setpriv --reuid="$RUNAS" --regid="$RUNGRP" \
		--clear-groups sh -c 'cd / && exec "$@"' clean "$@"
}

# check_run NAME RESULT_PREFIX BASELINE_COMMAND...: the checks after one
# hostile run whose output is in $W/out.
check_run() {
	name=$1 key=$2
	shift 2
	if grep -q '^euid: 0$' "$W/out"; then ok; else
		bad "$name: the host did not run setuid root"
		sed 's/^/    out: /' "$W/out" "$W/err" >&2
	fi
	if [ ! -e "$W/root/keylog" ]; then ok; else
		bad "$name: root created \$SSLKEYLOGFILE ($(stat -c '%U %a' "$W/root/keylog") $W/root/keylog)"
		rm -f "$W/root/keylog"
	fi
	if [ ! -s "$W/proxy.log" ]; then ok; else
		bad "$name: connected to the proxy named by the environment"
		: >"$W/proxy.log"
	fi
	if [ ! -e "$W/ossl.rec" ]; then ok; else
		bad "$name: opened \$OPENSSL_CONF"
		rm -f "$W/ossl.rec"
		arm_fifo
	fi
	left=$(find "$W/pwn" -user 0 | head -3)
	if [ -z "$left" ]; then ok; else bad "$name: root created files in the caller's folder: $left"; fi
	if grep '^env ' "$W/out" | grep -qv ': unset$'; then
		bad "$name: hostile variables still set in the privileged process:" \
			"$(grep '^env .*: set$' "$W/out" | sed 's/^env //; s/: set$//' | tr '\n' ' ')"
	else ok; fi
	got=$(grep "^$key" "$W/out")
	"$@" >"$W/base.out" 2>"$W/base.err"
	want=$(grep "^$key" "$W/base.out")
	if [ -n "$got" ] && [ "$got" = "$want" ]; then ok; else
		bad "$name: answer '$got' differs from a clean run by root: '$want'"
		sed 's/^/    stderr: /' "$W/err" >&2
	fi
}

# ---- 1. sudo-shaped PAM host, verify=remote, unreachable URL ---------------------
# In a setuid host an outage is PAM_SERVICE_ERR (3), never
# PAM_AUTHINFO_UNAVAIL (9), which authinfo_unavail=ignore skips: the
# caller can fake one (limits, descriptors, a stopped instance holding the
# store's lock).  The baseline is the same setuid host run by the same
# user with a clean environment.
hostile "$W/bin/setuid_pam" >"$W/out" 2>"$W/err"
if grep -q '^pam_authenticate: 3 ' "$W/out"; then ok; else
	bad "pam: wanted PAM_SERVICE_ERR (3): $(grep '^pam_' "$W/out")"
	sed 's/^/    stderr: /' "$W/err" >&2
fi
check_run "pam verify=remote" "pam_authenticate:" clean_user "$W/bin/setuid_pam"

# ---- 2. SASL server host, no tokenauth configuration at all ----------------------
hostile "$W/bin/setuid_sasl" none >"$W/out" 2>"$W/err"
check_run "sasl, no configuration" "sasl_server_start:" clean "$W/bin/setuid_sasl" none

# ---- 3. SASL server host, verify=remote ------------------------------------------
hostile "$W/bin/setuid_sasl" remote >"$W/out" 2>"$W/err"
if grep -q "^sasl_server_start: -24 " "$W/out"; then ok; else
	bad "sasl remote: wanted SASL_UNAVAIL (-24): $(grep '^sasl_server_start' "$W/out")"
	sed 's/^/    stderr: /' "$W/err" >&2
fi
check_run "sasl verify=remote" "sasl_server_start:" clean "$W/bin/setuid_sasl" remote

# ---- 4. files we created under umask 000 -----------------------------------------
ls "$W/var" | grep -q 'remote-cache' && ok || bad "the remote cache was not created (nothing to check)"
loose=$(find "$W/var" "$W/etc" -perm /022 | tr '\n' ' ')
if [ -z "$loose" ]; then ok; else
	bad "group- or world-writable after umask 000: $loose"
	ls -l "$W/var" "$W/etc" >&2
fi
loose=$(find "$W/var" "$W/etc" -type f -perm /077 | tr "\n" " ")
if [ -z "$loose" ]; then ok; else bad "files open to group or others (wanted 0600): $loose"; fi

# ---- 5. libcurl, loaded on first use (common/lazy.c), comes from the system ------
# A fake libcurl.so.4 in a folder of the caller's, named by LD_LIBRARY_PATH,
# records being loaded.  Loaded by a process of the caller's own (the
# control: the fake works), never by the setuid host (the marker is the
# check; its answer is case 1's, PAM_SERVICE_ERR, either way).
mkdir -m 0755 "$W/pwn/lib"
printf '#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void mark(void)\n{ int fd = open("%s", O_WRONLY | O_CREAT | O_APPEND, 0666); if (fd >= 0) close(fd); }\n' \
	"$W/pwn/fake-curl.loaded" >"$W/fakecurl.c"
if cc -shared -fPIC -o "$W/pwn/lib/libcurl.so.4" "$W/fakecurl.c"; then ok; else bad "cannot build the fake libcurl"; fi
chown -R "$RUNAS:$RUNGRP" "$W/pwn/lib"
setpriv --reuid="$RUNAS" --regid="$RUNGRP" --clear-groups env LD_LIBRARY_PATH="$W/pwn/lib" \
	python3 -c 'import ctypes; ctypes.CDLL("libcurl.so.4")' 2>/dev/null
if [ -e "$W/pwn/fake-curl.loaded" ]; then ok; else bad "control: the fake libcurl.so.4 was not loaded by the caller's own process"; fi
rm -f "$W/pwn/fake-curl.loaded"
hostile env LD_LIBRARY_PATH="$W/pwn/lib" "$W/bin/setuid_pam" >"$W/out" 2>"$W/err"
if [ ! -e "$W/pwn/fake-curl.loaded" ]; then ok; else
	bad "the setuid host loaded the caller's libcurl.so.4 (LD_LIBRARY_PATH)"
fi
if grep -q '^pam_authenticate: 3 ' "$W/out"; then ok; else
	bad "pam, LD_LIBRARY_PATH set: wanted PAM_SERVICE_ERR (3): $(grep '^pam_' "$W/out")"
	sed 's/^/    stderr: /' "$W/err" >&2
fi

# ---- 6. a memory limit that leaves libcurl unloadable ---------------------------
# RLIMIT_AS survives exec into the setuid host.  Between the size of our
# module and that of libcurl with its dependencies, the module loads and
# libcurl cannot be mapped.  That must fail the login (PAM_SERVICE_ERR),
# never answer "unavailable" (PAM_AUTHINFO_UNAVAIL), which a stack with
# authinfo_unavail=ignore skips: with the stack below, a wrong token would
# then log in.  The endpoint answers every check 403 (kudo: a wrong token).
cat >"$W/deny.py" <<'EOF'
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def deny(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_POST = deny
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
python3 "$W/deny.py" "$W/deny.port" &
BG="$BG $!"
n=0
while [ ! -s "$W/deny.port" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
DP=$(cat "$W/deny.port" 2>/dev/null) || { echo "attacks-setuid: no endpoint" >&2; exit 1; }
cat >"$W/pam.d/ta-setuid-live" <<EOF
auth [success=ok authinfo_unavail=ignore default=die] $B/pam_tokenauth.so config=$W/etc/ta.conf verify=remote profile=kudo url=http://127.0.0.1:$DP/v
auth required pam_permit.so
EOF
chmod 0644 "$W/pam.d/ta-setuid-live"
cc -O1 -o "$W/bin/setuid_live" -DTA_CONFDIR="\"$W/pam.d\"" -DTA_SERVICE="\"ta-setuid-live\"" \
	"$here/setuid_pam.c" -lpam || { echo "attacks-setuid: cannot build setuid_live" >&2; exit 1; }
chown root:root "$W/bin/setuid_live"
chmod 4755 "$W/bin/setuid_live"
clean "$W/bin/setuid_live" >"$W/out" 2>&1
if grep -q '^pam_authenticate: 7 ' "$W/out"; then ok; else
	bad "the endpoint's 403 was not a refusal without a limit: $(grep '^pam_' "$W/out")"
fi
seen="" lib_failed=0
for kb in $(seq 4000 1000 60000); do
	setpriv --reuid="$RUNAS" --regid="$RUNGRP" --clear-groups \
		sh -c "ulimit -v $kb; exec '$W/bin/setuid_live'" >"$W/out" 2>/dev/null
	got=$(sed -n 's/^pam_authenticate: \([0-9]*\) .*/\1/p' "$W/out")
	seen="$seen $kb:${got:--}"
	[ "$got" = 3 ] && lib_failed=$((lib_failed + 1))
done
case "$seen " in
*:0\ * | *:9\ *) bad "a memory limit turned a wrong token into a login or an outage:$seen" ;;
*) ok ;;
esac
if [ "$lib_failed" -gt 0 ]; then ok; else
	bad "no limit left the module loaded and libcurl unloadable (nothing checked):$seen"
fi

summary "attacks-setuid"
