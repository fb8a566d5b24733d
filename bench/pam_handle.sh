#!/bin/sh
# pam_handle.sh BUILD_DIR - make bench-pam-handle: logins per second with a
# new PAM handle per login (pam_start, pam_authenticate, pam_end), as a
# server that runs one PAM transaction per request does, for pam_permit
# and for pam_tokenauth.so in token and in TOTP mode.  No root needed:
# libpam under pam_wrapper with a private service folder.
#
# One store holds BENCH_HANDLE_USERS TOTP users (bench_pam gen, imported
# with tokenauth otp import-oath) and one token of user bench-token.  One
# process (bench_pam handle) runs BENCH_ROUNDS (3) rounds of BENCH_SECONDS
# (5) per row, the rows taking turns in 50 slices per round (a shared
# machine's speed drifts over seconds; interleaved, every row sees the same
# drift), and prints the median round of each row; the overhead is that of
# the whole transaction against pam_permit's, the median of the rounds'
# own ratios.  Every
# TOTP login is a user not used before in the run, with its current code,
# so no code is a replay; every login must succeed.
set -u

B=$(cd "${1:-build}" && pwd)
TA=$B/tokenauth
MOD=$B/pam_tokenauth.so
BENCH=$B/bench_pam
BUDGET=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
# Enough fresh users for ROUNDS rounds at 20,000 TOTP logins per second.
USERS=${BENCH_HANDLE_USERS:-$((ROUNDS * BUDGET * 20000))}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/ta-bench-handle.XXXXXX") || exit 1
chmod 700 "$DIR"
trap 'rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM

mkdir -m 700 "$DIR/svc"
"$BENCH" gen "$USERS" "$DIR/users.oath" || exit 1
chmod 600 "$DIR/users.oath"
printf 'store = %s/ta.db\nkey_file = %s/master.key\n' "$DIR" "$DIR" >"$DIR/ta.conf"
chmod 600 "$DIR/ta.conf"
{
	"$TA" -c "$DIR/ta.conf" init &&
		"$TA" -c "$DIR/ta.conf" otp import-oath "$DIR/users.oath" &&
		"$TA" -c "$DIR/ta.conf" issue --user bench-token --ttl never 2>/dev/null >"$DIR/token"
} >/dev/null 2>"$DIR/setup.err" ||
	{ cat "$DIR/setup.err" >&2; echo "pam_handle.sh: store set-up failed" >&2; exit 1; }
chmod 600 "$DIR/token"
# The modules libpam loads besides ours, pam_permit.so (the anchor's
# service) and pam_deny.so (the "other" file, which libpam reads for every
# service), kept loaded by bench_pam like ours is.
KEEP=
for d in /lib/$(gcc -print-multiarch 2>/dev/null)/security /lib/security /lib64/security \
	/usr/lib/$(gcc -print-multiarch 2>/dev/null)/security; do
	[ -e "$d/pam_permit.so" ] && [ -e "$d/pam_deny.so" ] &&
		{ KEEP=$d/pam_permit.so:$d/pam_deny.so; break; }
done
[ -n "$KEEP" ] || { echo "pam_handle.sh: no pam_permit.so and pam_deny.so found" >&2; exit 1; }
echo "auth required pam_permit.so" >"$DIR/svc/permit"
echo "auth required $MOD config=$DIR/ta.conf" >"$DIR/svc/token"
echo "auth required $MOD config=$DIR/ta.conf" >"$DIR/svc/totp"
echo "auth required pam_deny.so" >"$DIR/svc/other"

echo "new PAM handle per login: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"median of $ROUNDS rounds of ${BUDGET}s per row, $USERS TOTP users (SHA1, 6 digits);" \
	"anchor: pam_permit, its modules (pam_permit, pam_deny of \"other\") kept loaded like" \
	"pam_tokenauth (last row: both reloaded per handle, as libpam does)"
BENCH_PAM_KEEP=$KEEP LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$DIR/svc" \
	"$BENCH" handle "$BUDGET" "$ROUNDS" "$USERS" "$DIR/token" 2>"$DIR/stderr"
rc=$?
[ "$rc" -eq 0 ] || sed 's/^/  /' "$DIR/stderr" | tail -20
grep '^bench_pam:' "$DIR/stderr"
[ "$rc" -eq 0 ] || exit "$rc"

# The host's view: each row its own process that links libpam and nothing
# of ours (bench_pam_host), so libpam loads and unloads pam_permit.so and
# pam_deny.so on every handle as it does in sshd or Apache, and
# pam_tokenauth.so stays loaded (-z nodelete).  The middle row is
# pam_permit in a process that has loaded pam_tokenauth.so: what our
# module's being there costs the transactions of other modules.
echo "auth required $MOD config=$DIR/ta.conf" >"$DIR/svc/host-token"
HOST=$B/bench_pam_host
PERMIT= NEIGHBOUR= TOK=
hrate() {
	LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$DIR/svc" \
		"$HOST" "$@" 2>>"$DIR/stderr" | sed -n 's/.*per_second=\([0-9.]*\).*/\1/p'
}
for k in $(seq "$ROUNDS"); do
	PERMIT="$PERMIT $(hrate permit bench-token "$DIR/token" "$BUDGET")"
	NEIGHBOUR="$NEIGHBOUR $(hrate permit bench-token "$DIR/token" "$BUDGET" "$MOD")"
	TOK="$TOK $(hrate host-token bench-token "$DIR/token" "$BUDGET")"
done
echo
echo "the host's view: a new PAM handle per login in a process of libpam alone (modules" \
	"loaded and unloaded by libpam), median of $ROUNDS rounds of ${BUDGET}s per row"
python3 - "$PERMIT" "$NEIGHBOUR" "$TOK" <<'EOF' || { tail -5 "$DIR/stderr"; exit 1; }
import statistics, sys
rows = [[float(x) for x in a.split()] for a in sys.argv[1:]]
if any(len(r) != len(rows[0]) or not r for r in rows):
    sys.exit("pam_handle.sh: a host row did not run")
labels = ["pam_permit", "pam_permit, pam_tokenauth.so loaded", "pam_tokenauth token"]
print("%-36s %9s %10s %13s   %s" % ("host process, new handle per login", "logins/s", "us/login",
                                   "vs pam_permit", "rounds (logins/s)"))
for i, (l, r) in enumerate(zip(labels, rows)):
    vs = "1.00" if i == 0 else "%+.0f %%" % (
        statistics.median(p / t - 1 for p, t in zip(rows[0], r)) * 100)
    m = statistics.median(r)
    print("%-36s %9.0f %10.0f %13s   %s" % (l, m, 1e6 / m, vs, " ".join("%.0f" % x for x in r)))
EOF
