#!/bin/sh
# run.sh BUILD_DIR - integration tests of pam_tokenauth.so (make check-pam).
#
# Runs without root: libpam reads PAM service files from a private folder
# through pam_wrapper.  Builds a throwaway store with the tokenauth CLI,
# then runs
#   1. the cmocka/libpamtest cases (build/tests/pam/test_pam), one per
#      SPEC §4 row and PAM option;
#   2. pamtester through the same service folder;
#   3. the exported-symbol, NODELETE and writable-globals checks;
#   4. under valgrind: 1,000 pam_authenticate calls on one handle, and 200
#      transactions of pam_start .. pam_end each.
# Prints "N passed, M failed" last; exits non-zero when anything failed.
# TA_KEEP=1 keeps the fixture folder for a look afterwards.
set -u

B=$(cd "${1:-build}" && pwd)
TA=$B/tokenauth
MOD=$B/pam_tokenauth.so
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PWLIB=/usr/lib/$MULTIARCH/pam_wrapper
# TA_PRELOAD: libraries to load before pam_wrapper, e.g. libasan.so when
# BUILD_DIR holds a sanitizer build (then valgrind is skipped).
PRELOAD="${TA_PRELOAD:+$TA_PRELOAD }libpam_wrapper.so"
# Sanitizer runtimes refuse libraries dlopen'ed with RTLD_DEEPBIND.
# (pam_wrapper 1.1.4 reads the variable under uid_wrapper's name.)
if [ -n "${TA_PRELOAD:-}" ]; then
	export PAM_WRAPPER_DISABLE_DEEPBIND=1 UID_WRAPPER_DISABLE_DEEPBIND=1
fi

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

FIX=$(mktemp -d "${TMPDIR:-/tmp}/ta-pam.XXXXXX") || exit 1
chmod 700 "$FIX"
[ -n "${TA_KEEP:-}" ] || trap 'rm -rf "$FIX"' EXIT
trap 'exit 130' INT TERM

die() { echo "run.sh: $*" >&2; echo "$pass passed, $((fail + 1)) failed"; exit 1; }
[ -x "$TA" ] || die "$TA missing (make $TA)"
[ -f "$MOD" ] || die "$MOD missing"
[ -f "$PWLIB/pam_set_items.so" ] || die "pam_wrapper modules not found in $PWLIB"

# ---- fixture ---------------------------------------------------------------
conf() { # conf FILE STORE [extra lines...]
	f=$1 s=$2
	shift 2
	{
		echo "# pam_tokenauth test configuration"
		echo "store = $s"
		echo "key_file = $FIX/master.key"
		for l in "$@"; do echo "$l"; done
	} >"$f"
	chmod 600 "$f"
}
conf "$FIX/ta.conf" "$FIX/tokenauth.db"
conf "$FIX/lock.conf" "$FIX/tokenauth.db" "max_failures = 3" "lockout = 300"
conf "$FIX/loop.conf" "$FIX/tokenauth.db" "max_failures = 0"
mkdir -m 700 "$FIX/perm" "$FIX/corrupt"
conf "$FIX/perm.conf" "$FIX/perm/tokenauth.db"
conf "$FIX/corrupt.conf" "$FIX/corrupt/tokenauth.db"
conf "$FIX/nostore.conf" "$FIX/nostore/tokenauth.db"
conf "$FIX/bad.conf" "$FIX/tokenauth.db" "bogus = 1"

cli() { "$TA" -c "$FIX/ta.conf" "$@"; }
issue() { # issue NAME USER [issue options]: token into $FIX/tok.NAME
	n=$1 u=$2
	shift 2
	cli issue --user "$u" "$@" >"$FIX/tok.$n" 2>/dev/null || die "issue $n failed"
}
enroll() { # enroll NAME USER [otp options]: secret into $FIX/sec.NAME
	n=$1 u=$2
	shift 2
	head -c 20 /dev/urandom | base32 >"$FIX/sec.$n"
	cli otp enroll --user "$u" --secret-stdin --no-qr "$@" <"$FIX/sec.$n" >/dev/null ||
		die "otp enroll $n failed"
}

cli init >/dev/null 2>&1 || die "tokenauth init failed"
issue exp expuser --ttl 1s # expires while the rest is set up
t_exp=$(date +%s)
for u in alice bob locky nulluser tryuser trylock useuser multi both oddinput loopuser; do
	issue "$u" "$u" --ttl 1d
done
issue dave dave --tenant acme --ttl 1d
issue carol carol --tenant acme --ttl 1d
cli issue --user rev1 --json 2>/dev/null >"$FIX/rev1.json" || die "issue rev1"
sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$FIX/rev1.json" >"$FIX/tok.rev1"
cli revoke "$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$FIX/rev1.json")" >/dev/null 2>&1 ||
	die "revoke by id failed"
issue rev2 rev2
cli revoke --user rev2 >/dev/null 2>&1 || die "revoke --user failed"
enroll totp otpuser
enroll totp2 otpuser2
enroll hotp hotpuser --hotp
enroll both both

# Same store, wrong permissions; a store that is not SQLite at all.
cp "$FIX/tokenauth.db" "$FIX/perm/tokenauth.db"
chmod 0666 "$FIX/perm/tokenauth.db"
head -c 8192 /dev/urandom >"$FIX/corrupt/tokenauth.db"
chmod 0600 "$FIX/corrupt/tokenauth.db"

# PAM service files, one per situation.
SVC=$FIX/svc
mkdir -m 700 "$SVC"
svc() { # svc NAME OPTIONS...: one "auth required" line with our module
	n=$1
	shift
	echo "auth required $MOD $*" >"$SVC/$n"
}
C="config=$FIX/ta.conf"
svc basic "$C"
echo "auth required pam_deny.so" >"$SVC/other" # unknown service: deny
svc debug "$C debug"
svc prompt "$C [prompt=Your code: ]"
svc lock "config=$FIX/lock.conf"
svc loop "config=$FIX/loop.conf"
svc tenant "$C tenant=acme"
svc tfu "$C tenant_from_user"
svc nullok "$C nullok"
svc otponly "$C mode=otp"
svc perm "config=$FIX/perm.conf"
svc corrupt "config=$FIX/corrupt.conf"
svc corrupt_nullok "config=$FIX/corrupt.conf nullok"
svc nostore "config=$FIX/nostore.conf"
svc noconf "config=/nonexistent/tokenauth.conf"
svc badopt "$C bogus_option=1"
svc badval "$C max_failures=lots"
svc relconf "config=relative/tokenauth.conf"
svc badfile "config=$FIX/bad.conf"
printf 'auth required %s/pam_set_items.so\nauth required %s %s try_first_pass\n' \
	"$PWLIB" "$MOD" "$C" >"$SVC/try"
printf 'auth required %s/pam_set_items.so\nauth required %s config=%s try_first_pass\n' \
	"$PWLIB" "$MOD" "$FIX/lock.conf" >"$SVC/trylock"
printf 'auth required %s/pam_set_items.so\nauth required %s %s use_first_pass\n' \
	"$PWLIB" "$MOD" "$C" >"$SVC/use"
printf 'auth required %s %s nullok\nauth required pam_permit.so\n' "$MOD" "$C" >"$SVC/nullok_permit"
printf 'auth required %s/pam_set_items.so\nauth required %s %s\nauth required %s/pam_get_items.so\n' \
	"$PWLIB" "$MOD" "$C" "$PWLIB" >"$SVC/twofa"
printf 'auth required %s %s\nauth required %s/pam_get_items.so\n' \
	"$MOD" "$C" "$PWLIB" >"$SVC/export"

wrap() { # run a program under pam_wrapper with our service folder
	LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$SVC "$@"
}

# The expired token must be past its second.
while [ $(($(date +%s) - t_exp)) -lt 2 ]; do sleep 1; done

# ---- 1. cmocka + libpamtest ----------------------------------------------------
echo "== libpamtest cases"
out=$FIX/cmocka.out
TA_FIX=$FIX TA_CLI=$TA TA_MOD=$MOD CMOCKA_MESSAGE_OUTPUT=TAP PAM_WRAPPER_DEBUGLEVEL=2 \
	wrap "$B/tests/pam/test_pam" >"$out" 2>&1
rc=$?
grep -v -e '^PWRAP' -e '^$' "$out"
n_ok=$(grep -c '^ok ' "$out")
n_bad=$(grep -c '^not ok ' "$out")
pass=$((pass + n_ok))
fail=$((fail + n_bad))
[ "$rc" -eq 0 ] || [ "$n_bad" -gt 0 ] || bad "test_pam exited $rc"
[ "$n_ok" -gt 0 ] || bad "test_pam ran no case"

# ---- 2. pamtester ---------------------------------------------------------------
echo "== pamtester"
pt() { # pt SERVICE USER CREDENTIAL
	printf '%s\n' "$3" | wrap pamtester "$1" "$2" authenticate >/dev/null 2>&1
}
not() { ! "$@"; }
check "pamtester: valid token accepted" pt basic alice "$(cat "$FIX/tok.alice")"
check "pamtester: wrong token refused" not pt basic bob "tka_nope"
code=$(oathtool --hotp -c 2 -b "$(cat "$FIX/sec.hotp")")
check "pamtester: HOTP code accepted" pt basic hotpuser "$code"
check "pamtester: same HOTP code refused" not pt basic hotpuser "$code"
check "pamtester: unknown user refused" not pt basic nobody-here "x"
pt_setcred() {
	printf '%s\n' "$(cat "$FIX/tok.alice")" |
		wrap pamtester basic alice authenticate setcred >/dev/null 2>&1
}
check "pamtester: authenticate + setcred succeed" pt_setcred
# No success stubs: an account line naming the module must fail.
printf 'account required %s %s\n' "$MOD" "$C" >"$SVC/acct"
pt_acct() { wrap pamtester acct alice acct_mgmt >/dev/null 2>&1; }
check "pamtester: no acct_mgmt stub (account line fails)" not pt_acct

# ---- 3. exports and globals -------------------------------------------------------
echo "== symbols"
exports=$(nm -D --defined-only "$MOD" | awk '{print $3}' | sort | tr '\n' ' ')
check "exports only pam_sm_authenticate pam_sm_setcred (got: $exports)" \
	test "$exports" = "pam_sm_authenticate pam_sm_setcred "
check "module stays loaded once dlopened (NODELETE)" \
	sh -c "readelf -d '$MOD' | grep -q 'Flags:.*NODELETE'"
# libpq and libcurl (with some thirty libraries of their own) are loaded
# only by a host whose configuration needs them (common/lazy.c): every
# library mapped makes libpam's loading of the other modules dearer.
needed=$(readelf -d "$MOD" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
check "libpq and libcurl are not load-time dependencies (NEEDED: $needed)" \
	sh -c "! echo '$needed' | grep -q -e libpq -e libcurl"
# Writable data: only what the C runtime puts there, the core's
# once-per-process initialisation in global.c (pthread_once controls for
# the environment scrub and libcurl, and libcurl's result), each written
# once before any thread can read it, the parsed defaults in config.c (the
# same: pthread_once, read-only after), the algorithms crypto.c fetches
# from OpenSSL once (pthread_once, read-only after), the pool of open
# stores in store.c, the cache of configuration text in file.c and the last
# parsed configuration in config.c (each one struct, every access under its
# own mutex), and the process id page of ta_getpid in global.c (pidk: set
# up once by pthread_once, the page's word then written atomically), and
# lazy.c's libpq and libcurl tables (pq_lib, curl_lib: pthread_once
# controls; pq_fn, curl_fn: written by that once, read-only after) and
# global.c's init_why and init_err (written with init_rc, in its once).
if [ -z "${TA_PRELOAD:-}" ]; then
	globals=$(objdump -t "$MOD" | awk '$4 == ".data" || $4 == ".bss" {print $NF}' |
		grep -v -x -e completed.0 -e __dso_handle -e __TMC_END__ -e '.data' -e '.bss' \
			-e once -e scrub_once -e init_rc -e curl_once -e curl_init_rc -e pool -e defaults -e defaults_once -e defaults_lock -e rcache \
			-e algs -e algs_once -e last -e pidk \
			-e pq_lib -e curl_lib -e pq_fn -e curl_fn -e init_why -e init_err | tr '\n' ' ')
	check "no writable global state (found: ${globals:-none})" test -z "$globals"
fi

# ---- 4. valgrind ------------------------------------------------------------------
# vg LABEL COUNT [new]: pam_loop under valgrind, leaks and bad accesses fail.
vg() {
	label=$1 vlog=$FIX/valgrind-$2${3:-}.log
	PAM_WRAPPER_DISABLE_DEEPBIND=1 UID_WRAPPER_DISABLE_DEEPBIND=1 wrap valgrind \
		--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		--log-file="$vlog" "$B/tests/pam/pam_loop" loop loopuser "$2" \
		"$(cat "$FIX/tok.loopuser")" ${3:-}
	vrc=$?
	grep -E 'definitely lost|indirectly lost|All heap blocks|ERROR SUMMARY|Invalid (read|write)' \
		"$vlog" | sed 's/^==[0-9]*== */  valgrind: /'
	check "valgrind $label: loop exits 0 (rc $vrc)" test "$vrc" -eq 0
	check "valgrind $label: no invalid reads or writes" \
		not grep -q 'Invalid \(read\|write\)' "$vlog"
	check "valgrind $label: definitely lost 0" not grep -q 'definitely lost: [1-9]' "$vlog"
}
if [ -n "${TA_PRELOAD:-}" ]; then
	echo "== valgrind (skipped: sanitizer build)"
elif command -v valgrind >/dev/null 2>&1; then
	echo "== valgrind: 1000 pam_authenticate calls on one handle"
	vg "one handle" 1000
	echo "== valgrind: 200 transactions, pam_start .. pam_end each"
	vg "new handles" 200 new
else
	bad "valgrind not installed"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
