#!/bin/sh
# pam.sh BUILD_DIR - pam_tokenauth.so against Debian's pam_oath.so
# (make bench-pam).  No root needed: both run through libpam under
# pam_wrapper with a private service folder.
#
# For each population size (BENCH_SIZES, default "1000 10000 100000"):
#   - one pam_oath users file of N TOTP users (bench_pam gen), and two of
#     our stores imported from that same file (tokenauth otp import-oath);
#   - BENCH_CONC (20) simultaneous logins of as many different users, one
#     process each, per module: how many succeeded;
#   - one PAM handle, repeated pam_authenticate over the other users, each
#     with its current code, for up to BENCH_SECONDS (5) per module:
#     logins per second and the ratio;
#   - pam_tokenauth again with a new handle per login (second store), as a
#     server with one PAM transaction per request runs it.
# Why users in turn and not one user: see the comment in bench_pam.c.
set -u

B=$(cd "${1:-build}" && pwd)
TA=$B/tokenauth
MOD=$B/pam_tokenauth.so
BENCH=$B/bench_pam
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
OATH=${PAM_OATH:-/lib/$MULTIARCH/security/pam_oath.so}
SIZES=${BENCH_SIZES:-1000 10000 100000}
BUDGET=${BENCH_SECONDS:-5}
CONC=${BENCH_CONC:-20}

[ -f "$OATH" ] || { echo "bench.sh: $OATH not found (apt-get install libpam-oath)" >&2; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/ta-bench.XXXXXX") || exit 1
chmod 700 "$DIR"
trap 'rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM

field() { # field NAME LINE: value of NAME=... in a bench_pam output line
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
store() { # store DIR NAME: a store imported from DIR/users.oath
	printf 'store = %s/%s.db\nkey_file = %s/master.key\n' "$1" "$2" "$1" >"$1/$2.conf"
	chmod 600 "$1/$2.conf"
	"$TA" -c "$1/$2.conf" init >/dev/null 2>&1 &&
		"$TA" -c "$1/$2.conf" otp import-oath "$1/users.oath" >/dev/null 2>&1 ||
		{ echo "bench.sh: store $2 failed" >&2; exit 1; }
}
row() { # row N LABEL SEQ-LINE [CONC-LINE]
	printf '%-8s %-26s %7s %7s %8s %11s  %s\n' "$1" "$2" "$(field logins "$3")" \
		"$(field ok "$3")" "$(field seconds "$3")" "$(field per_second "$3")" \
		"${4:+$(field ok "$4")/$CONC$(printf '%s' "$4" | sed -n 's/.*ok=[0-9]*//p')}"
}

echo "pam_tokenauth vs pam_oath: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"TOTP SHA1 6 digits, window 1 for both"
printf '%-8s %-26s %7s %7s %8s %11s  %s\n' users module logins ok seconds per_second \
	"simultaneous ok"
for n in $SIZES; do
	d=$DIR/$n
	mkdir -m 700 "$d" "$d/svc"
	"$BENCH" gen "$n" "$d/users.oath" || exit 1
	chmod 600 "$d/users.oath"
	store "$d" one
	store "$d" new
	echo "auth required $MOD config=$d/one.conf" >"$d/svc/tokenauth"
	echo "auth required $MOD config=$d/new.conf" >"$d/svc/tokenauth_new"
	echo "auth required $OATH usersfile=$d/users.oath window=1" >"$d/svc/oath"
	echo "auth required pam_deny.so" >"$d/svc/other"
	run() { LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$d/svc" "$BENCH" "$@" 2>>"$d/stderr"; }

	c=$(run conc tokenauth "$n" "$CONC")
	s_ta=$(run seq tokenauth "$n" "$CONC" "$BUDGET" "$n")
	row "$n" "pam_tokenauth" "$s_ta" "$c"
	s_new=$(run seqnew tokenauth_new "$n" "$CONC" "$BUDGET" "$n")
	row "$n" "pam_tokenauth, new handle" "$s_new"
	c=$(run conc oath "$n" "$CONC")
	s_oath=$(run seq oath "$n" "$CONC" "$BUDGET" "$n")
	row "$n" "pam_oath" "$s_oath" "$c"
	awk -v a="$(field per_second "$s_ta")" -v b="$(field per_second "$s_new")" \
		-v o="$(field per_second "$s_oath")" -v n="$n" 'BEGIN { if (o > 0)
		printf "%-8s ratio to pam_oath: %.1fx one handle, %.1fx new handle per login\n",
			n, a / o, b / o }'
done
