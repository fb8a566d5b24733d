# lib.sh - the portal suites' fixture (sourced after tests/tokenauthd/lib.sh):
# a PAM service under pam_wrapper (pam_matrix for the password, then
# pam_tokenauth mode=otp for a code when one is enrolled), a tokenauthd on
# 127.0.0.1 with TLS and portal = yes, and curl helpers.

# portal_init BUILD_DIR: B, TOP and the shared helpers; finish and die
# (stop every daemon we started, print "$SUITE: N passed, M failed").
portal_init() {
	B=$(cd "$1" && pwd)
	TOP=$(cd "$HERE/../.." && pwd)
	. "$TOP/tests/tokenauthd/lib.sh"
	MOD=$B/pam_tokenauth.so
}

finish() {
	for p in "$FIX"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	[ -n "${EVILPID:-}" ] && kill "$EVILPID" 2>/dev/null
	echo "$SUITE: $pass passed, $fail failed"
	[ -n "${TA_KEEP:-}" ] || rm -rf "$FIX"
	[ "$fail" -eq 0 ]
	exit $?
}
die() { bad "$*"; finish; }

PWMOD=$(ls /usr/lib/*/pam_wrapper/pam_matrix.so 2>/dev/null | head -1)

# A port in 20000-30099 (below the ephemeral range) with nothing on it.
portal_port() {
	_p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 10000 ))
	while (exec 3<>"/dev/tcp/127.0.0.1/$_p") 2>/dev/null; do _p=$((_p + 1)); done
	echo "$_p"
}

# portal_fixture: FIX with users alice and bob, PAM services, base config lines.
portal_fixture() {
	make_fixture || return 1
	printf 'alice:Alice-pw-1:tokenauth-portal\nbob:Bob-pw-2:tokenauth-portal\nmallory:Mallory-pw-3:tokenauth-portal\n' >"$FIX/passdb"
	conf otp "mode = otp" "nullok = yes"
	conf tok "mode = token"
	mkdir -m 0700 "$FIX/pam.d"
	{
		echo "auth requisite $PWMOD passdb=$FIX/passdb"
		echo "auth required $MOD config=$FIX/otp.conf"
		echo "account required $PWMOD passdb=$FIX/passdb"
	} >"$FIX/pam.d/tokenauth-portal"
	# a host that takes app passwords (what a user's mail client logs in to)
	echo "auth required $MOD config=$FIX/tok.conf" >"$FIX/pam.d/apppw"
	echo "auth required pam_deny.so" >"$FIX/pam.d/other"
}

# portal_conf NAME PORT [LINES...]: a portal configuration
portal_conf() {
	_n=$1 _port=$2
	shift 2
	conf "$_n" "listen = 127.0.0.1:$_port" "tls_cert = $FIX/tls.crt" "tls_key = $FIX/tls.key" \
	    "portal = yes" "$@"
}

# portal_start NAME CONF: tokenauthd under pam_wrapper
portal_start() {
	LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$FIX/pam.d \
	    td_start "$@"
}

# apppw USER PASSWORD: a login with an app password through PAM (pamtester)
apppw() {
	printf '%s\n' "$2" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
	    PAM_WRAPPER_SERVICE_DIR=$FIX/pam.d pamtester apppw "$1" authenticate >"$FIX/pt.out" 2>&1
}

# hc ARGS...: curl against the portal; headers in $FIX/h, body in $FIX/b, prints the status
hc() {
	curl -sk -o "$FIX/b" -D "$FIX/h" -w '%{http_code}' "$@"
}

# login_cookie PORT USER PASSWORD: the session cookie value ("" on failure)
login_cookie() {
	hc "https://127.0.0.1:$1/my/login" --data-urlencode "user=$2" \
	    --data-urlencode "password=$3" >/dev/null
	sed -n 's/^[Ss]et-[Cc]ookie: __Host-tokenauth=\([0-9a-f]*\);.*/\1/p' "$FIX/h" | head -1
}

# csrf_of PORT COOKIE: the CSRF token on the main page
csrf_of() {
	hc "https://127.0.0.1:$1/my/" -H "Cookie: __Host-tokenauth=$2" >/dev/null
	sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$FIX/b" | head -1
}
