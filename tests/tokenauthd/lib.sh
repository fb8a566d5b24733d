# lib.sh - helpers shared by the tokenauthd tests, bench and demo (sourced).
#
# Expects B (absolute build folder).  make_fixture creates FIX: a store,
# master key, admin API key, API key, signing key and a TLS certificate.

TA_CLI=$B/tokenauth
TD=${TD:-$B/tokenauthd}

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	_d=$1
	shift
	if "$@"; then ok "$_d"; else bad "$_d"; fi
}

# A free-looking TCP port below the kernel's ephemeral range (so no client
# socket can take it, not even a client connecting to itself while the
# server is down), with nothing listening on it now.
free_port() {
	_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$_lo" -gt 12000 ] || _lo=32768
	_p=$(( ($(od -An -N2 -tu2 /dev/urandom) % (_lo - 11000)) + 10000 ))
	while (exec 3<>"/dev/tcp/127.0.0.1/$_p") 2>/dev/null; do _p=$((_p + 1)); done
	echo "$_p"
}

secret_file() { # secret_file PATH: 32 random hex characters, mode 0600
	(umask 077 && openssl rand -hex 24 >"$1")
}

make_fixture() {
	FIX=$(mktemp -d "${TMPDIR:-/tmp}/ta-td.XXXXXX") || exit 1
	chmod 700 "$FIX"
	secret_file "$FIX/admin.key"
	secret_file "$FIX/api.key"
	secret_file "$FIX/sign.key"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	    -keyout "$FIX/tls.key" -out "$FIX/tls.crt" >/dev/null 2>&1 || return 1
	chmod 600 "$FIX/tls.key"
	cat >"$FIX/base.conf" <<EOF
store = $FIX/db/tokenauth.db
key_file = $FIX/master.key
EOF
	chmod 600 "$FIX/base.conf"
	"$TA_CLI" -c "$FIX/base.conf" init >/dev/null 2>&1
}

conf() { # conf NAME LINE...: base.conf plus lines, into $FIX/NAME.conf
	_n=$1
	shift
	{
		cat "$FIX/base.conf"
		for l in "$@"; do echo "$l"; done
	} >"$FIX/$_n.conf"
	chmod 600 "$FIX/$_n.conf"
}

cli() { "$TA_CLI" -c "$FIX/base.conf" "$@" 2>>"$FIX/cli.err"; }

# td_start NAME CONF [tokenauthd options]: run in the foreground, log to
# $FIX/NAME.log, wait (at most 10 s) until it says it is ready.
td_start() {
	_n=$1 _c=$2
	shift 2
	"$TD" -c "$_c" -f "$@" 2>"$FIX/$_n.log" &
	echo $! >"$FIX/$_n.pid"
	_i=0
	while [ $_i -lt 200 ]; do
		grep -q "tokenauthd ready" "$FIX/$_n.log" 2>/dev/null && return 0
		kill -0 "$(cat "$FIX/$_n.pid")" 2>/dev/null || return 1
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# td_stop NAME [SIGNAL]: stop and wait; returns the exit status.
td_stop() {
	_p=$(cat "$FIX/$1.pid" 2>/dev/null) || return 0
	kill "-${2:-TERM}" "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	_rc=$?
	rm -f "$FIX/$1.pid"
	return $_rc
}

# sig TS NONCE METHOD PATH BODY: SPEC §5 signature with $FIX/sign.key.
sig() {
	printf '%s\n%s\n%s\n%s\n%s' "$1" "$2" "$3" "$4" "$5" |
	    openssl dgst -sha256 -hmac "$(cat "$FIX/sign.key")" | awk '{print $NF}'
}

# json_get KEY: a string or number member of $FIX/body (our answers are compact).
json_get() {
	sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$FIX/body" | head -1
}

VPATH=/rest/cc-management/v1/thirdparty/thirdPartyValidate

# triple TOKEN USER TENANT: the seed 000 request body.
triple() { printf '{"access_token":"%s","tenantSpaceId":"%s","userAccount":"%s"}' "$1" "$3" "$2"; }
