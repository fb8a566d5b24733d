#!/bin/sh
# apache.sh BUILD_DIR - make bench-apache: requests per second through a
# private Apache (prefork, mod_authnz_pam: one PAM transaction, pam_start
# to pam_end, per request) serving a small file over WebDAV, loaded with
# wrk: without authentication, behind pam_permit, and behind
# pam_tokenauth.so with a token (Basic authentication, the token as the
# password).  libpam runs under pam_wrapper with a private service folder;
# Apache listens on 127.0.0.1 and a free port, runs as the calling user
# (www-data when called as root), and is stopped on exit.  The rows take
# turns, BENCH_ROUNDS (3) rounds of BENCH_SECONDS (5) each; each row
# prints its median round, and the overhead is the median of the rounds'
# own ratios against pam_permit.
set -u

B=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# free_port, wait_port (the functions only: nothing there runs)
. "$here/../tests/packages/services.sh"
TA=$B/tokenauth
MOD=$B/pam_tokenauth.so
BUDGET=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_APACHE_CONNECTIONS:-8}
THREADS=2
[ "$CONNS" -ge 2 ] 2>/dev/null || THREADS=1
M=/usr/lib/apache2/modules

for p in /usr/sbin/apache2 /usr/bin/wrk "$M/mod_authnz_pam.so" "$M/mod_dav_fs.so"; do
	[ -e "$p" ] || { echo "bench-apache: $p is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
WRAP=$(for d in /usr/lib/$(gcc -print-multiarch 2>/dev/null) /usr/lib /usr/lib64; do
	[ -e "$d/libpam_wrapper.so" ] && echo "$d/libpam_wrapper.so" && break; done)
[ -n "$WRAP" ] || { echo "bench-apache: libpam_wrapper.so is missing" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/ta-bench-apache.XXXXXX") || exit 1
chmod 755 "$DIR"
# As root, Apache and everything it reads belong to www-data: the store's
# checks want its owner to be the user that opens it.
AS=
if [ "$(id -u)" -eq 0 ]; then
	AS="setpriv --reuid=www-data --regid=www-data --clear-groups --"
	chown www-data:www-data "$DIR"
fi
# The pid file is in a folder www-data owns: as root, signal only a number
# that names an apache2 process (never -1, never someone else's).
apache_pid() {
	_p=$(head -c 16 "$DIR/apache.pid" 2>/dev/null)
	case $_p in '' | *[!0-9]*) return 1 ;; esac
	[ "$_p" -gt 1 ] && [ "$(cat "/proc/$_p/comm" 2>/dev/null)" = apache2 ] && echo "$_p"
}
stop() {
	p=$(apache_pid) && kill "$p" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		apache_pid >/dev/null || break
		sleep 0.2
	done
	rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

PORT=$(free_port)
$AS sh -eu -c '
	D=$1 TA=$2 MOD=$3 PORT=$4 M=$5
	umask 077
	mkdir -m 700 "$D/svc" "$D/rt" "$D/lock"
	mkdir -m 755 "$D/htdocs" "$D/htdocs/dav" "$D/htdocs/open"
	printf "hello\n" >"$D/htdocs/dav/f.txt"
	printf "hello\n" >"$D/htdocs/open/f.txt"
	chmod 644 "$D/htdocs/dav/f.txt" "$D/htdocs/open/f.txt"
	printf "store = %s/ta.db\nkey_file = %s/master.key\n" "$D" "$D" >"$D/ta.conf"
	"$TA" -c "$D/ta.conf" init >/dev/null 2>"$D/setup.err"
	"$TA" -c "$D/ta.conf" issue --user bench-token --ttl never 2>>"$D/setup.err" >"$D/token"
	printf "auth required pam_permit.so\naccount required pam_permit.so\n" >"$D/svc/permit"
	printf "auth required %s config=%s/ta.conf\naccount required pam_permit.so\n" "$MOD" "$D" \
		>"$D/svc/tokenauth"
	printf "auth required pam_deny.so\naccount required pam_deny.so\n" >"$D/svc/other"
	cat >"$D/httpd.conf" <<EOF
ServerRoot $D
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile $D/apache.pid
DefaultRuntimeDir $D/rt
Mutex file:$D/rt default
ErrorLog $D/error.log
LogLevel warn
LoadModule mpm_prefork_module $M/mod_mpm_prefork.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule authnz_pam_module $M/mod_authnz_pam.so
LoadModule dav_module $M/mod_dav.so
LoadModule dav_fs_module $M/mod_dav_fs.so
StartServers 10
MinSpareServers 10
MaxSpareServers 20
MaxRequestWorkers 32
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
DocumentRoot $D/htdocs
DavLockDB $D/lock/DavLock
<Location /dav>
    DAV On
    AuthType Basic
    AuthName "bench"
    AuthBasicProvider PAM
    AuthPAMService tokenauth
    Require valid-user
</Location>
<Location /permit>
    DAV On
    AuthType Basic
    AuthName "bench"
    AuthBasicProvider PAM
    AuthPAMService permit
    Require valid-user
</Location>
EOF
' sh "$DIR" "$TA" "$MOD" "$PORT" "$M" ||
	{ cat "$DIR/setup.err" >&2 2>/dev/null; echo "bench-apache: set-up failed" >&2; exit 1; }
# /permit serves the same folder as /dav.
$AS sh -c 'ln -s dav "$1/htdocs/permit"' sh "$DIR"
$AS env LD_PRELOAD="$WRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$DIR/svc" \
	/usr/sbin/apache2 -d "$DIR" -f "$DIR/httpd.conf" -k start >"$DIR/start.log" 2>&1 ||
	{ cat "$DIR/start.log" "$DIR/error.log" >&2 2>/dev/null; echo "bench-apache: apache2 did not start" >&2; exit 1; }
wait_port "$PORT" || { echo "bench-apache: apache2 does not answer" >&2; exit 1; }

TOKEN=$(cat "$DIR/token")
AUTH="Authorization: Basic $(printf 'bench-token:%s' "$TOKEN" | base64 -w0)"
U=http://127.0.0.1:$PORT
# Every row must answer 200 before it is timed.
for row in "open/f.txt" "permit/f.txt" "dav/f.txt"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$U/$row")
	[ "$code" = 200 ] || { echo "bench-apache: GET /$row answered $code" >&2; cat "$DIR/error.log" >&2; exit 1; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' -u bench-token:wrong "$U/dav/f.txt")
[ "$code" = 401 ] || { echo "bench-apache: a wrong token answered $code, not 401" >&2; exit 1; }

# rate ROW: requests per second of one wrk run; non-2xx answers fail the bench.
rate() {
	wrk -t"$THREADS" -c"$CONNS" -d"${BUDGET}s" -H "$AUTH" "$U/$1" >"$DIR/wrk.out" 2>&1 ||
		{ cat "$DIR/wrk.out" >&2; return 1; }
	if grep -q 'Non-2xx' "$DIR/wrk.out"; then
		echo "bench-apache: /$1: $(grep 'Non-2xx' "$DIR/wrk.out")" >&2
		tail -5 "$DIR/error.log" >&2
		return 1
	fi
	awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$DIR/wrk.out"
}

# A warm-up second per row: every child has loaded every module and
# opened the store before the clock starts.
for row in open permit dav; do
	wrk -t"$THREADS" -c"$CONNS" -d1s -H "$AUTH" "$U/$row/f.txt" >/dev/null 2>&1
done
OPEN= PERMIT= TOKENR=
for k in $(seq "$ROUNDS"); do
	for row in open permit dav; do
		r=$(rate "$row/f.txt") || exit 1
		case $row in
		open) OPEN="$OPEN $r" ;;
		permit) PERMIT="$PERMIT $r" ;;
		dav) TOKENR="$TOKENR $r" ;;
		esac
	done
done

echo "Apache WebDAV GET, mod_authnz_pam (a new PAM handle per request), prefork, wrk -t$THREADS -c$CONNS:" \
	"$(nproc) CPUs, median of $ROUNDS rounds of ${BUDGET}s per row, rows in turn"
python3 - "$OPEN" "$PERMIT" "$TOKENR" <<'EOF'
import statistics, sys
rows = [[float(x) for x in a.split()] for a in sys.argv[1:]]
labels = ["no authentication", "pam_permit", "pam_tokenauth token"]
print("%-24s %9s %11s   %s" % ("Apache WebDAV GET", "req/s", "vs permit", "rounds (req/s)"))
for i, (l, r) in enumerate(zip(labels, rows)):
    vs = "-" if i == 0 else "1.00" if i == 1 else "%+.0f %%" % (
        statistics.median(p / t - 1 for p, t in zip(rows[1], r)) * 100)
    print("%-24s %9.0f %11s   %s" % (l, statistics.median(r), vs, " ".join("%.0f" % x for x in r)))
EOF
