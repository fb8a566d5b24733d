#!/bin/sh
# tests/packages/run.sh - "make check-packages": the Debian packages of
# "make deb" installed for real and used the way README.md says: the
# pam-auth-update profile, sudo through it, Apache WebDAV with
# mod_authnz_pam, slapd with the SASL plugin, tokenauthd from its unit's
# command line, an upgrade that keeps the admin's configuration, key, store
# and tokens, and a purge.  It changes the machine (packages, /etc/pam.d,
# an account), so it saves that state first and puts it back on every
# exit (state.sh), then checks the machine is as it found it.
#
# Root on Debian only; anywhere else it prints a SKIP line and exits 0.
# One line per check ("ok - ..." or "FAILED - ..."), then
# "packages: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
HERE=tests/packages

skip() { echo "SKIP check-packages: $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "needs root (it installs the packages)"
{ [ -e /etc/debian_version ] && command -v dpkg-query >/dev/null 2>&1; } ||
	skip "not a Debian system (no dpkg)"

missing=""
for c in apt-get dpkg-buildpackage lintian pam-auth-update sudo visudo useradd runuser curl \
	python3 debconf-show /usr/sbin/apache2 slapd ldapwhoami; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -e /usr/lib/apache2/modules/mod_authnz_pam.so ] || missing="$missing mod_authnz_pam.so"
if [ -n "$missing" ]; then
	echo "check-packages: missing:$missing (run 'make deps')" >&2
	exit 1
fi

# shellcheck source=tests/packages/state.sh
. $HERE/state.sh
# shellcheck source=tests/packages/services.sh
. $HERE/services.sh

why=$(state_refusal)
if [ -n "$why" ]; then
	echo "check-packages: refusing to run: $why" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
START=$(date +%s)
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAILED - $*"; }
check() { # WHAT COMMAND...
	_what=$1
	shift
	if "$@" >>"$T/check.log" 2>&1; then ok "$_what"; else bad "$_what"; fi
}
check_not() { # WHAT COMMAND...: the command must fail
	_what=$1
	shift
	if "$@" >>"$T/check.log" 2>&1; then bad "$_what"; else ok "$_what"; fi
}
die() { bad "$*"; exit 1; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

# $T is 0755 so that www-data (Apache) reaches its store in $T/dav; the
# saved state in $S (with a copy of /etc/shadow) is root's alone.
T=$(mktemp -d /tmp/ta-pkg-XXXXXX) || exit 1
chmod 0755 "$T"
S=$T/state
mkdir -m 0700 "$S" "$T/run"

finish() {
	rc=$?
	trap - EXIT INT TERM HUP
	[ -z "${BUILD2:-}" ] || wait "$BUILD2" 2>/dev/null
	if [ -e "$S/complete" ]; then
		state_restore
		left=$(state_verify)
		if [ -z "$left" ]; then
			ok "machine as found: package list, /etc and /var/lib/pam listings, common-*, accounts, debconf"
		else
			echo "$left" | while read -r l; do echo "FAILED - not restored: $l"; done
			FAIL=$((FAIL + $(echo "$left" | wc -l)))
		fi
	fi
	echo "packages: $PASS passed, $FAIL failed ($(($(date +%s) - START)) s)"
	if [ "$FAIL" -eq 0 ] && [ "$rc" -eq 0 ]; then
		rm -rf "$T"
		exit 0
	fi
	rm -rf "$S" "$T/src2"
	echo "check-packages: logs in $T" >&2
	exit 1
}
trap finish EXIT
trap 'bad "interrupted by a signal"; exit 130' INT TERM HUP

state_save && touch "$S/complete" || die "cannot save the machine's state"

# ---- 1. build and lintian ------------------------------------------------
V1=$(dpkg-parsechangelog -S Version)
V2=$V1+test1
DEB_BUILD_OPTIONS=nocheck make --no-print-directory deb >"$T/build1.log" 2>&1 ||
	die "make deb (log: $T/build1.log)"
ok "make deb built $V1"

# The upgrade's packages: the same tree with a newer changelog entry, built
# in the background while the first version is tested.
mkdir "$T/src2"
tar -cf - --anchored --exclude=./.git --exclude=./build --exclude='./build-*' . | tar -xf - -C "$T/src2"
{
	printf 'tokenauth (%s) unstable; urgency=medium\n\n' "$V2"
	printf '  * Upgrade test of tests/packages/run.sh; never released.\n\n'
	printf ' -- tokenauth developers <tokenauth@example.org>  %s\n\n' "$(date -R)"
	cat debian/changelog
} >"$T/src2/debian/changelog"
(cd "$T/src2" && DEB_BUILD_OPTIONS=nocheck make --no-print-directory deb >"$T/build2.log" 2>&1
	echo $? >"$T/build2.rc") &
BUILD2=$!

at_version() { # VERSION: all four packages installed at VERSION
	for p in $PKG_NAMES; do
		[ "$(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$p" 2>/dev/null)" = "$1 ii " ] || return 1
	done
}
debs() { # DIR VERSION: the four packages, without the -dbgsym ones
	for p in $PKG_NAMES; do ls "$1"/"${p}_${2}"_*.deb; done
}
DEBS1=$(debs ./build/deb "$V1") || die "make deb did not build all of: $PKG_NAMES"
CHANGES=$(ls build/deb/tokenauth_"$V1"_*.changes)
# lintian warns when run as root: as nobody when nobody can read the build.
LINT=""
runuser -u nobody -- test -r "$CHANGES" 2>/dev/null && LINT="runuser -u nobody --"
if $LINT lintian --fail-on error,warning "$CHANGES" >"$T/lintian.log" 2>&1; then
	ok "lintian --fail-on error,warning ${CHANGES##*/}${LINT:+ (as nobody)}"
else
	bad "lintian --fail-on error,warning ${CHANGES##*/}"
	sed 's/^/    /' "$T/lintian.log"
fi

# ---- 2. install ------------------------------------------------------------
# shellcheck disable=SC2086
apt-get install -y -qq $DEBS1 >>"$T/apt.log" 2>&1 || die "apt-get install (log: $T/apt.log)"
check "apt-get install: all four packages at $V1" at_version "$V1"
check "install leaves common-auth alone (the profile is Default: no)" \
	cmp "$S/pam.d/common-auth" /etc/pam.d/common-auth
check "no key and no store on install" \
	sh -c '! [ -e /etc/tokenauth/master.key ] && [ -z "$(ls -A /var/lib/tokenauth)" ]'
check "tokenauth.conf 0600 root in /etc/tokenauth 0700" \
	test "$(stat -c '%a %U' /etc/tokenauth /etc/tokenauth/tokenauth.conf | tr '\n' ' ')" = "700 root 600 root "

# ---- 3. the pam-auth-update profile ----------------------------------------
# debian/pam-configs/tokenauth: Priority 200, below pam_unix's 256, so the
# module comes after pam_unix, with try_first_pass; both lines jump past
# pam_deny to pam_permit on success.
auth_order_ok() {
	awk '!/^auth[ \t]/ { next }
	{ n++; mod[n] = ""; suc[n] = -1
	  if (match($0, /pam_[a-z_]+\.so/)) mod[n] = substr($0, RSTART, RLENGTH)
	  if (match($0, /success=[0-9]+/)) suc[n] = substr($0, RSTART + 8, RLENGTH - 8) + 0 }
	END { for (i = 1; i <= n; i++) {
	        if (mod[i] == "pam_unix.so") u = i
	        if (mod[i] == "pam_tokenauth.so") t = i
	        if (mod[i] == "pam_deny.so" && !d) d = i }
	      if (!u || !t || !d || !(u < t && t < d)) exit 1
	      if (u + suc[u] != d || t + suc[t] != d) exit 1 }' /etc/pam.d/common-auth
}
pam-auth-update --enable tokenauth >>"$T/pam.log" 2>&1 || bad "pam-auth-update --enable tokenauth"
check "enable: 'pam_tokenauth.so try_first_pass' in common-auth" \
	grep -Eq '^auth[[:space:]]+\[success=[0-9]+ default=ignore\][[:space:]]+pam_tokenauth\.so try_first_pass$' \
	/etc/pam.d/common-auth
check "enable: pam_unix.so still in common-auth" grep -q '^auth.*pam_unix\.so' /etc/pam.d/common-auth
check "enable: pam_unix, then pam_tokenauth, both jumping past pam_deny" auth_order_ok
others_same=1
for f in "$S"/pam.d/common-*; do
	[ "${f##*/}" = common-auth ] || cmp -s "$f" "/etc/pam.d/${f##*/}" || others_same=0
done
check "enable: the other common-* files unchanged (the profile has only Auth)" test $others_same -eq 1
pam-auth-update --disable tokenauth >>"$T/pam.log" 2>&1 || bad "pam-auth-update --disable tokenauth"
check "disable: common-auth restored byte for byte" cmp "$S/pam.d/common-auth" /etc/pam.d/common-auth
pam-auth-update --enable tokenauth >>"$T/pam.log" 2>&1

# ---- 4. sudo through the packaged module -----------------------------------
PW="pkgtest-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
useradd -M -d /nonexistent -s /bin/sh "$TEST_USER" || die "useradd $TEST_USER"
echo "$TEST_USER:$PW" | chpasswd || die "chpasswd $TEST_USER"
# No lecture and no mail to root about the refused attempts below.
printf 'Defaults:%s !lecture, !mail_badpass, !mail_no_perms, !mail_always\n%s ALL=(root) ALL\n' \
	"$TEST_USER" "$TEST_USER" >"$T/sudoers"
check "visudo -c accepts the test's sudoers.d file" visudo -cqf "$T/sudoers"
install -m 0440 "$T/sudoers" "$SUDOERS_FILE"
tokenauth init >>"$T/check.log" 2>&1 || die "tokenauth init"
TOK_SUDO=$(tokenauth issue --user "$TEST_USER" 2>>"$T/check.log") || die "tokenauth issue --user $TEST_USER"
TOK_ALICE=$(tokenauth issue --user alice 2>>"$T/check.log") || die "tokenauth issue --user alice"
sudo_with() { # CREDENTIAL
	printf '%s\n' "$1" | timeout 60 runuser -u "$TEST_USER" -- sudo -S -k -p '' true
}
check "sudo -S with the user's token" sudo_with "$TOK_SUDO"
check "sudo -S with the Unix password (pam_unix first)" sudo_with "$PW"
check_not "sudo -S with alice's token: refused" sudo_with "$TOK_ALICE"
check_not "sudo -S with a wrong token: refused" sudo_with "tka_not_a_token"

# ---- 5. tokenauthd from the unit's command line ----------------------------
# The admin's edit of the conffile, which the upgrade below must keep.
printf '\n# check-packages\nlisten = unix:%s/run/tokenauthd.sock\n' "$T" >>/etc/tokenauth/tokenauth.conf
CONF_SHA=$(sha /etc/tokenauth/tokenauth.conf)
UNIT=/lib/systemd/system/tokenauthd.service
EXEC=$(sed -n 's/^ExecStart=[-@:+!]*//p' $UNIT)
check "the unit runs /usr/sbin/tokenauthd -f -c /etc/tokenauth/tokenauth.conf" \
	test "$EXEC" = "/usr/sbin/tokenauthd -f -c /etc/tokenauth/tokenauth.conf"
set -f
# shellcheck disable=SC2086
$EXEC >"$T/tokenauthd.log" 2>&1 &
echo $! >"$T/run/tokenauthd.pid"
set +f
n=0
while [ ! -S "$T/run/tokenauthd.sock" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
code=$(curl -s -o "$T/healthz" -w '%{http_code}' --unix-socket "$T/run/tokenauthd.sock" \
	http://localhost/healthz)
check "tokenauthd answers /healthz on its socket (HTTP $code)" test "$code" = 200
kill_pidfile "$T/run/tokenauthd.pid"
check_not "tokenauthd stopped" kill -0 "$(cat "$T/run/tokenauthd.pid")"

# ---- 6. Apache WebDAV through mod_authnz_pam -------------------------------
# README.md "Apache WebDAV": Apache runs the module as www-data, so the
# service has its own configuration and a store owned by www-data.
install -d -o www-data -g www-data -m 0700 "$T/dav"
printf 'store = %s/dav/tokenauth.db\nkey_file = %s/dav/master.key\nmode = token\n' "$T" "$T" \
	>"$T/dav.conf"
chmod 0644 "$T/dav.conf"
DAVTA="runuser -u www-data -- tokenauth -c $T/dav.conf"
$DAVTA init >>"$T/check.log" 2>&1 || die "tokenauth init of the WebDAV store (as www-data)"
DAV_ALICE=$($DAVTA issue --user alice --param app=davfs2 2>>"$T/check.log") || die "issue alice (WebDAV store)"
DAV_BOB=$($DAVTA issue --user bob 2>>"$T/check.log") || die "issue bob (WebDAV store)"
printf 'auth required pam_tokenauth.so config=%s/dav.conf mode=token\naccount required pam_permit.so\n' \
	"$T" >"$DAV_PAM"
if apache_start tokenauth-dav; then
	ok "apache2 (private config) listens on 127.0.0.1:$APACHE_PORT"
	echo "hello from check-packages" >"$T/hello.txt"
	code=$(dav "alice:$DAV_ALICE" PUT /dav/hello.txt -T "$T/hello.txt")
	check "PUT with alice's token: 201 (got $code)" test "$code" = 201
	code=$(dav "alice:$DAV_ALICE" PROPFIND /dav/ -H 'Depth: 1')
	check "PROPFIND with alice's token: 207 (got $code)" test "$code" = 207
	check "PROPFIND lists the file" grep -q hello.txt "$T/dav.out"
	code=$(dav "alice:tka_wrong_token" PROPFIND /dav/ -H 'Depth: 1')
	check "PROPFIND with a wrong token: 401 (got $code)" test "$code" = 401
	code=$(dav "alice:$DAV_BOB" PROPFIND /dav/ -H 'Depth: 1')
	check "PROPFIND with bob's token as alice: 401 (got $code)" test "$code" = 401
else
	bad "apache2 did not start: $(cat "$T/apache/start.log" "$T/apache/error.log" 2>/dev/null)"
fi
kill_pidfile "$T/run/apache.pid"

# ---- 7. slapd with the SASL plugin -----------------------------------------
if slapd_start; then
	ok "slapd (private config) listens on 127.0.0.1:$LDAP_PORT"
	out=$(ldap_whoami alice "$TOK_ALICE")
	check "ldapwhoami -Y OAUTHBEARER with alice's token: $out" \
		test "$out" = "dn:uid=alice,cn=oauthbearer,cn=auth"
	check "ldapwhoami -Y OAUTHBEARER with a wrong token: invalid credentials (49)" \
		whoami_refused alice tka_wrong_token
	check "ldapwhoami -Y OAUTHBEARER with another user's token: invalid credentials (49)" \
		whoami_refused alice "$TOK_SUDO"
else
	bad "slapd did not start: $(cat "$T/ldap/start.log" 2>/dev/null)"
fi
kill_pidfile "$T/run/slapd.pid"

# ---- 8. upgrade ------------------------------------------------------------
wait "$BUILD2"
BUILD2=""
[ "$(cat "$T/build2.rc" 2>/dev/null)" = 0 ] || die "make deb of $V2 (log: $T/build2.log)"
DEBS2=$(debs "$T/src2/build/deb" "$V2") || die "make deb of $V2 did not build all of: $PKG_NAMES"
TOK_UP=$(tokenauth issue --user upgrade 2>>"$T/check.log") || die "tokenauth issue --user upgrade"
KEY_SHA=$(sha /etc/tokenauth/master.key)
# shellcheck disable=SC2086
apt-get install -y -qq $DEBS2 >>"$T/apt.log" 2>&1 || die "apt-get install of $V2 (log: $T/apt.log)"
check "upgrade: all four packages at $V2" at_version "$V2"
check "upgrade: the admin's tokenauth.conf kept" test "$(sha /etc/tokenauth/tokenauth.conf)" = "$CONF_SHA"
check "upgrade: no .dpkg-new/.dpkg-dist/.dpkg-old beside it" \
	sh -c '! ls /etc/tokenauth/*.dpkg-* >/dev/null 2>&1'
check "upgrade: master key kept" test "$(sha /etc/tokenauth/master.key)" = "$KEY_SHA"
verify_tok() { printf '%s\n' "$2" | tokenauth verify --user "$1"; }
check "upgrade: a token issued before still verifies" verify_tok upgrade "$TOK_UP"
check "upgrade: the profile stays enabled" grep -q 'pam_tokenauth\.so' /etc/pam.d/common-auth
check "upgrade: sudo with the token still works" sudo_with "$TOK_SUDO"

# ---- 9. purge --------------------------------------------------------------
# What purge keeps (README.md, Install): the master key and the store, which
# "tokenauth init" made, not the packages; dpkg leaves their folders.
STORE_SHA=$(sha /var/lib/tokenauth/tokenauth.db)
# shellcheck disable=SC2086
apt-get purge -y -qq $PKG_NAMES >>"$T/apt.log" 2>&1 || bad "apt-get purge (log: $T/apt.log)"
gone=1
for p in $PKG_NAMES; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.[^n]' && gone=0
done
check "purge: no package and no config-files state left" test $gone -eq 1
check "purge: the conffile is gone" test ! -e /etc/tokenauth/tokenauth.conf
check "purge: /usr/share/pam-configs/tokenauth is gone" test ! -e /usr/share/pam-configs/tokenauth
check "purge: common-auth as before the install, byte for byte" \
	cmp "$S/pam.d/common-auth" /etc/pam.d/common-auth
check "purge: no pam_tokenauth in /etc/pam.d/common-*" \
	sh -c '! grep -q pam_tokenauth /etc/pam.d/common-*'
check "purge: the binaries, module and plugin are gone" sh -c \
	'! ls /usr/bin/tokenauth /usr/sbin/tokenauthd /lib/*/security/pam_tokenauth.so /usr/lib/*/sasl2/libtokenauth.so 2>/dev/null'
check "purge keeps the master key (admin data)" test "$(sha /etc/tokenauth/master.key)" = "$KEY_SHA"
check "purge keeps the store (admin data)" test "$(sha /var/lib/tokenauth/tokenauth.db)" = "$STORE_SHA"
check "purge: nothing else left in /etc/tokenauth" test "$(ls -A /etc/tokenauth)" = master.key
exit 0
