# shellcheck shell=sh
# state.sh - what check-packages changes on the machine, saved before and
# put back after (sourced by run.sh, not run).
#
# The suite installs the packages for real, so it edits /etc: the PAM
# common-* files (pam-auth-update), /etc/tokenauth and /var/lib/tokenauth,
# a test account, a sudoers.d file, /etc/pam.d/tokenauth-dav, slapd's SASL
# configuration.  state_save records all of it in $S before the first
# change; state_restore undoes every change whether or not the suite got
# that far (it is the EXIT trap), and state_verify compares the machine
# with the record.  Nothing here trusts that a step ran: each undo is keyed
# on what is found, not on how far the suite came.

PKG_NAMES="libpam-tokenauth libsasl2-modules-tokenauth tokenauth tokenauthd"
TEST_USER=tapkgtest
SUDOERS_FILE=/etc/sudoers.d/tokenauth-pkgtest
DAV_PAM=/etc/pam.d/tokenauth-dav
LDAP_SASL=/etc/ldap/sasl2/slapd.conf
ACCOUNT_FILES="/etc/passwd /etc/group /etc/shadow /etc/gshadow"

pkg_list() { # every package dpkg knows, with its version and state
	dpkg-query -W -f='${binary:Package}\t${Version}\t${db:Status-Abbrev}\n' | sort
}

# A listing of /etc and the PAM state folder (path, type, mode, owner):
# a file created or left behind anywhere there shows as a difference.
etc_list() {
	find /etc /var/lib/pam -xdev -printf '%p %y %m %u:%g\n' 2>/dev/null | sort
}

# Why the suite must not run here, or nothing.
state_refusal() {
	for p in $PKG_NAMES; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.[^n]' &&
			{ echo "package $p is installed (or its configuration is left): purge it first"; return; }
	done
	for f in /etc/tokenauth /var/lib/tokenauth "$SUDOERS_FILE" "$DAV_PAM"; do
		[ -e "$f" ] && { echo "$f exists: the suite would change or remove it"; return; }
	done
	id "$TEST_USER" >/dev/null 2>&1 && { echo "user $TEST_USER exists"; return; }
	getent group "$TEST_USER" >/dev/null 2>&1 && { echo "group $TEST_USER exists"; return; }
	return 0
}

state_save() {
	mkdir -p "$S/pam.d" "$S/acct"
	pkg_list >"$S/pkgs"
	cut -f1 "$S/pkgs" | sort >"$S/pkgs.names"
	etc_list >"$S/etc"
	cp -p /etc/pam.d/common-* "$S/pam.d/"
	cp -a /var/lib/pam "$S/varlibpam"
	for f in $ACCOUNT_FILES; do cp -p "$f" "$S/acct/"; done
	if [ -e "$LDAP_SASL" ]; then cp -p "$LDAP_SASL" "$S/ldap-sasl.conf"; fi
	if [ -d "${LDAP_SASL%/*}" ]; then touch "$S/ldap-sasl.dir"; fi
	debconf-show libpam-runtime 2>/dev/null | sed -n 's/^[* ] libpam-runtime\/profiles: //p' \
		>"$S/debconf-profiles"
}

# Kill a daemon from its pid file, if the pid is still running.
kill_pidfile() { # FILE
	[ -s "$1" ] || return 0
	_pid=$(cat "$1")
	kill "$_pid" 2>/dev/null || return 0
	_n=0
	while kill -0 "$_pid" 2>/dev/null && [ $_n -lt 50 ]; do sleep 0.1; _n=$((_n + 1)); done
	kill -9 "$_pid" 2>/dev/null || true
}

state_restore() {
	# Daemons first: they hold the store and the PAM files open.
	for f in "$T"/run/*.pid; do [ -e "$f" ] && kill_pidfile "$f"; done
	# The account, the sudoers.d and PAM service files of the tests.
	if id "$TEST_USER" >/dev/null 2>&1; then userdel "$TEST_USER" >/dev/null 2>&1; fi
	if getent group "$TEST_USER" >/dev/null 2>&1; then groupdel "$TEST_USER" >/dev/null 2>&1; fi
	rm -f "$SUDOERS_FILE" "$DAV_PAM" /var/lib/sudo/lectured/"$TEST_USER"
	if [ -e "$S/ldap-sasl.conf" ]; then cp -p "$S/ldap-sasl.conf" "$LDAP_SASL"; else rm -f "$LDAP_SASL"; fi
	if [ ! -e "$S/ldap-sasl.dir" ]; then rmdir "${LDAP_SASL%/*}" 2>/dev/null; fi
	# The packages, purged, and whatever apt pulled in for them.
	_p=""
	for p in $PKG_NAMES; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^.[^n]' && _p="$_p $p"
	done
	# shellcheck disable=SC2086
	[ -z "$_p" ] || apt-get purge -y -qq $_p >>"$T/apt.log" 2>&1 || dpkg --purge $_p >>"$T/apt.log" 2>&1
	_new=$(pkg_list | cut -f1 | sort | comm -13 "$S/pkgs.names" - | tr '\n' ' ')
	# shellcheck disable=SC2086
	[ -z "$_new" ] || apt-get purge -y -qq $_new >>"$T/apt.log" 2>&1
	# What the tests created and the packages (deliberately) keep on purge.
	rm -rf /etc/tokenauth /var/lib/tokenauth
	# Byte copies back: pam-auth-update rewrote these.
	cp -p "$S"/pam.d/common-* /etc/pam.d/
	rm -rf /var/lib/pam && cp -a "$S/varlibpam" /var/lib/pam
	_prof=$(cat "$S/debconf-profiles")
	if [ "$(debconf-show libpam-runtime 2>/dev/null | sed -n 's/^[* ] libpam-runtime\/profiles: //p')" != "$_prof" ]; then
		echo "set libpam-runtime/profiles $_prof" | debconf-communicate libpam-runtime >/dev/null 2>&1
	fi
}

# Prints one line per difference from the saved state; none means restored.
state_verify() {
	pkg_list | diff "$S/pkgs" - | sed -n 's/^[<>] /package list differs: /p'
	etc_list | diff "$S/etc" - | sed -n 's/^\([<>]\) /\/etc listing differs (\1): /p'
	for f in "$S"/pam.d/common-*; do
		cmp -s "$f" "/etc/pam.d/${f##*/}" || echo "/etc/pam.d/${f##*/} differs"
	done
	diff -r "$S/varlibpam" /var/lib/pam >/dev/null 2>&1 || echo "/var/lib/pam differs"
	for f in $ACCOUNT_FILES; do cmp -s "$S/acct/${f##*/}" "$f" || echo "$f differs"; done
	if [ -e "$S/ldap-sasl.conf" ]; then
		cmp -s "$S/ldap-sasl.conf" "$LDAP_SASL" || echo "$LDAP_SASL differs"
	elif [ -e "$LDAP_SASL" ]; then echo "$LDAP_SASL left behind"; fi
	[ "$(debconf-show libpam-runtime 2>/dev/null | sed -n 's/^[* ] libpam-runtime\/profiles: //p')" = \
		"$(cat "$S/debconf-profiles")" ] || echo "debconf libpam-runtime/profiles differs"
	for f in "$T"/run/*.pid; do
		[ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && echo "daemon of $f still running"
	done
	for f in /etc/tokenauth /var/lib/tokenauth "$SUDOERS_FILE" "$DAV_PAM"; do
		[ -e "$f" ] && echo "$f left behind"
	done
	id "$TEST_USER" >/dev/null 2>&1 && echo "user $TEST_USER left behind"
	return 0
}
