# remote.sh - sourced by run.sh: the PAM module and the SASL plugin with
# verify = remote against the running tokenauthd instances (main on $SOCK,
# tls on $TPORT).  The "host" configurations point at a store that does not
# exist: every verdict has to come from tokenauthd.

MOD=$B/pam_tokenauth.so
not() { ! "$@"; }
PLUG=$B/libtokenauth.so
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

host_conf() { # host_conf NAME LINE...: a remote-only host configuration
	_n=$1
	shift
	{
		echo "store = $FIX/nostore/tokenauth.db"
		echo "key_file = $FIX/nostore/master.key"
		echo "verify = remote"
		echo "tenant = acme"
		echo "timeout_ms = 3000"
		for l in "$@"; do echo "$l"; done
	} >"$FIX/$_n.conf"
	chmod 600 "$FIX/$_n.conf"
}
host_conf rcec "unix_socket = $SOCK" "url = http://localhost$VPATH" "sign_key_file = $FIX/sign.key"
host_conf rkudo "unix_socket = $SOCK" "url = http://localhost/verify" "profile = kudo"
host_conf rintro "unix_socket = $SOCK" "url = http://localhost/introspect" "profile = introspection"
host_conf rtls "url = https://localhost:$TPORT$VPATH" "ca_file = $FIX/tls.crt" "api_key_file = $FIX/api.key"
host_conf rdown "unix_socket = $FIX/down.sock" "url = http://localhost$VPATH"

if [ -f "$MOD" ] && [ -f "/usr/lib/$MULTIARCH/libpam_wrapper.so" ] && command -v pamtester >/dev/null; then
	SVC=$FIX/pam.d
	mkdir -p "$SVC"
	for p in rcec rkudo rintro rtls rdown; do echo "auth required $MOD config=$FIX/$p.conf" >"$SVC/$p"; done
	# pt SERVICE USER CREDENTIAL: pamtester's message into $FIX/pt.out; status 0 on success
	pt() {
		printf '%s\n' "$3" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$SVC \
		    pamtester "$1" "$2" authenticate >"$FIX/pt.out" 2>&1
	}
	refused() { ! pt "$@" && grep -q 'Authentication failure' "$FIX/pt.out"; }
	for p in rcec rkudo rintro rtls; do
		check "PAM $p: valid token accepted" pt $p alice "$TOK"
		check "PAM $p: wrong token -> PAM_AUTH_ERR" refused $p alice tka_not_a_token
		check "PAM $p: expired token -> PAM_AUTH_ERR" refused $p exp "$EXPTOK"
		check "PAM $p: revoked token -> PAM_AUTH_ERR" refused $p rev "$REVTOK"
		check "PAM $p: another user's token -> PAM_AUTH_ERR" refused $p bob "$TOK"
	done
	check "PAM: token from /generate accepted through tokenauthd" pt rcec gen "$GENTOK"
	pt rdown alice "$TOK"
	check "PAM: tokenauthd down -> PAM_AUTHINFO_UNAVAIL" grep -q 'cannot retrieve authentication info' "$FIX/pt.out"
	check "PAM: requests reached tokenauthd (logged with the PAM host's peer credentials)" \
	    grep -q "unix:uid=$(id -u).* POST $VPATH status=200 code=0 outcome=success user=alice" "$FIX/main.log"
else
	bad "PAM remote tests: $MOD, pam_wrapper or pamtester missing"
fi

if [ -f "$PLUG" ] && command -v sasl-sample-server >/dev/null; then
	mkdir -p "$FIX/plug" "$FIX/saslconf"
	cp "$PLUG" "$FIX/plug/"
	# sasl_try CONF USER TOKEN: OAUTHBEARER through sasl-sample-server
	sasl_try() {
		printf 'tokenauth_config: %s\nlog_level: 5\n' "$FIX/$1.conf" >"$FIX/saslconf/sample.conf"
		printf 'C: %s\n' "$(printf "OAUTHBEARER\\000n,a=%s,\\001auth=Bearer %s\\001\\001" "$2" "$3" | base64 -w0)" |
		    SASL_CONF_PATH=$FIX/saslconf timeout 20 sasl-sample-server -p "$FIX/plug" -s smtp \
		    -m OAUTHBEARER >"$FIX/sasl.out" 2>&1
		grep -q "^Username: $2\$" "$FIX/sasl.out"
	}
	for p in rcec rkudo rtls; do
		check "SASL $p: OAUTHBEARER valid token accepted" sasl_try $p alice "$TOK"
		check "SASL $p: wrong token refused" not sasl_try $p alice tka_not_a_token
	done
else
	bad "SASL remote tests: $PLUG or sasl-sample-server missing"
fi
