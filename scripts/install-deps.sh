#!/bin/sh
# Install the Debian packages tokenauth needs to build, test and demo.
# Only what is missing is installed; as non-root, or with --check (what
# `make check` runs: it never installs), it lists what is missing and fails.
set -eu
only_check=0
[ "${1:-}" = "--check" ] && only_check=1

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libssl-dev libsqlite3-dev sqlite3 libcjson-dev libcjose-dev libqrencode-dev
libcurl4-openssl-dev curl python3 python3-jwt python3-cryptography openssl
libpam0g-dev libcmocka-dev libpam-wrapper libpamtest0-dev pamtester
libpam-oath oathtool valgrind openssh-server openssh-client sshpass
libsasl2-dev libsasl2-modules sasl2-bin postfix cyrus-imapd cyrus-clients curl
libmicrohttpd-dev libsystemd-dev wrk postgresql-15 libpq-dev
debhelper dpkg-dev lintian rpm bash-completion
sudo apache2 libapache2-mod-authnz-pam slapd ldap-utils"
# the portal's browser tests (check-portal): Debian's chromium, driven by
# playwright-core from npm (tests/portal/package-lock.json, below); npm
# comes with nodejs 20 (Debian's own npm package is needed only with
# Debian's nodejs 18, whose npm is split out)
PKGS="$PKGS chromium nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
PORTAL_NPM=$(cd "$(dirname "$0")/.." && pwd)/tests/portal

# playwright-core as locked in tests/portal (it never downloads a browser)
npm_ok() {
	[ -f "$PORTAL_NPM/node_modules/playwright-core/package.json" ] &&
		[ "$(node -p "require('$PORTAL_NPM/node_modules/playwright-core/package.json').version" 2>/dev/null)" = \
		  "$(node -p "require('$PORTAL_NPM/package-lock.json').packages['node_modules/playwright-core'].version" 2>/dev/null)" ]
}
npm_step() {
	npm_ok && return 0
	if [ "$only_check" -eq 1 ]; then
		echo "install-deps: tests/portal/node_modules is missing or not as locked: run 'make deps' (npm ci)" >&2
		return 1
	fi
	echo "install-deps: npm ci in tests/portal"
	(cd "$PORTAL_NPM" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
}

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	npm_step
	exit $?
fi

if [ "$only_check" -eq 1 ] || [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: install them with 'make deps' as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix is only a test peer: install it without a system configuration,
# so nothing starts listening on port 25.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# slapd likewise: no database and no configuration, so it has nothing to
# serve (check-packages runs a private slapd from a configuration of its own).
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
# Daemons installed here must not start at all (apache2 and slapd start
# from their postinst through invoke-rc.d, with or without systemd): a
# policy-rc.d that denies every start, for the length of this install only,
# and only when the admin has none of their own.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	trap 'rm -f "$policy"' EXIT
	printf '#!/bin/sh\n# scripts/install-deps.sh: no daemon starts during its install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
fi
# The PostgreSQL clusters there before the install: never stopped below.
clusters_before=$(pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}' | tr '\n' ' ')
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Daemons installed here are test peers only: the tests start private
# instances on their own ports.  Stop the ones these packages just started
# (never a service that was already installed).
stop_if_new() { # PACKAGE SERVICE
	case " $missing " in *" $1 "*) ;; *) return 0 ;; esac
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$2" 2>/dev/null; then
		systemctl disable --now "$2" >/dev/null 2>&1 || true
	fi
}
stop_if_new cyrus-imapd cyrus-imapd
stop_if_new postfix postfix
stop_if_new sasl2-bin saslauthd
stop_if_new postgresql-15 postgresql
stop_if_new apache2 apache2
stop_if_new slapd slapd
# Without systemd and with an admin's policy-rc.d that allows starts, the
# init scripts may have started them: stop what this install started.
for s in apache2:apache2 slapd:slapd; do
	case " $missing " in *" ${s%%:*} "*) ;; *) continue ;; esac
	[ -n "$policy" ] || [ ! -x "/etc/init.d/${s#*:}" ] || "/etc/init.d/${s#*:}" stop >/dev/null 2>&1 || true
done
# Without systemd, postgresql-15's postinst may still have started the
# cluster it created through pg_ctlcluster: the tests never use it.  Only
# clusters this install created are stopped.
case " $missing " in
*" postgresql-15 "*)
	if command -v pg_lsclusters >/dev/null 2>&1; then
		pg_lsclusters -h 2>/dev/null | while read -r ver name _ status _; do
			case " $clusters_before " in *" $ver/$name "*) continue ;; esac
			[ "$status" = online ] && pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
		done
	fi
	;;
esac
npm_step
