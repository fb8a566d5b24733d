# shellcheck shell=sh
# services.sh - private Apache and slapd instances for check-packages
# (sourced by run.sh, not run).  Each runs from a configuration under $T,
# on 127.0.0.1 and a free port, with its pid file in $T/run, where
# state_restore finds and stops it: the system's own instances, their
# configurations and their ports are never touched.

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: up to 10 s for something to accept on 127.0.0.1:PORT.
wait_port() {
	python3 - "$1" <<'EOF'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# apache_start PAMSERVICE: WebDAV on /dav behind Basic authentication
# through mod_authnz_pam, as README.md ("Apache WebDAV") configures it.
# Debian's /usr/sbin/apache2 needs only -d and -f when the configuration
# names no ${APACHE_*} variables of /etc/apache2/envvars.  Sets APACHE_PORT.
apache_start() {
	A=$T/apache
	M=/usr/lib/apache2/modules
	APACHE_PORT=$(free_port)
	mkdir -p "$A/rt" "$A/htdocs/dav" "$A/lock"
	chown www-data:www-data "$A/htdocs/dav" "$A/lock"
	cat >"$A/httpd.conf" <<EOF
ServerRoot $A
ServerName 127.0.0.1
Listen 127.0.0.1:$APACHE_PORT
PidFile $T/run/apache.pid
DefaultRuntimeDir $A/rt
Mutex file:$A/rt default
ErrorLog $A/error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_prefork_module $M/mod_mpm_prefork.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule authnz_pam_module $M/mod_authnz_pam.so
LoadModule dav_module $M/mod_dav.so
LoadModule dav_fs_module $M/mod_dav_fs.so
StartServers 1
DocumentRoot $A/htdocs
DavLockDB $A/lock/DavLock
<Location /dav>
    DAV On
    AuthType Basic
    AuthName "WebDAV (use an app token)"
    AuthBasicProvider PAM
    AuthPAMService $1
    Require valid-user
</Location>
EOF
	/usr/sbin/apache2 -d "$A" -f "$A/httpd.conf" -k start >"$A/start.log" 2>&1 &&
		wait_port "$APACHE_PORT"
}

# dav USER:PASSWORD METHOD PATH [curl options]: prints the HTTP status.
dav() {
	_auth=$1 _method=$2 _path=$3
	shift 3
	curl -s -o "$T/dav.out" -w '%{http_code}' -u "$_auth" -X "$_method" "$@" \
		"http://127.0.0.1:$APACHE_PORT$_path"
}

# slapd_start: an mdb database under $T, OAUTHBEARER from the packaged
# plugin; the SASL application configuration is slapd's
# /etc/ldap/sasl2/slapd.conf (sasl_tokenauth(8)), saved by state.sh.
# Sets LDAP_PORT.
slapd_start() {
	L=$T/ldap
	LDAP_PORT=$(free_port)
	mkdir -p "$L/db"
	cat >"$L/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
pidfile $T/run/slapd.pid
argsfile $L/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
sasl-host 127.0.0.1
sasl-secprops none
database mdb
maxsize 10485760
suffix "dc=tokenauth,dc=test"
rootdn "cn=admin,dc=tokenauth,dc=test"
directory $L/db
EOF
	mkdir -p "${LDAP_SASL%/*}"
	printf 'mech_list: OAUTHBEARER EXTERNAL\ntokenauth_config: /etc/tokenauth/tokenauth.conf\n' \
		>"$LDAP_SASL"
	slapd -h "ldap://127.0.0.1:$LDAP_PORT/" -f "$L/slapd.conf" >"$L/start.log" 2>&1 &&
		wait_port "$LDAP_PORT"
}

# ldap_whoami USER TOKEN: ldapwhoami through the packaged client plugin, which
# sends the authentication name (-U) as a= and the password (-w) as the
# bearer token (sasl_tokenauth(8), "Client side").
ldap_whoami() {
	ldapwhoami -H "ldap://127.0.0.1:$LDAP_PORT/" -N -Q -O none -Y OAUTHBEARER -U "$1" -w "$2" 2>"$T/ldap.err"
}

# whoami_refused USER TOKEN: the bind fails with invalidCredentials (49).
whoami_refused() {
	ldap_whoami "$1" "$2"
	[ $? -eq 49 ]
}
