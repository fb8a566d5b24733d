#!/bin/sh
# check-pg: PAM logins through pam_tokenauth.so (the real libpam, under
# pam_wrapper, driven by pamtester as in tests/pam) with the PostgreSQL
# store (a private cluster, tests/pg/cluster.sh):
#  1. the store directly: a token accepted, a wrong one refused, a TOTP
#     code accepted once and its replay refused;
#  2. verify = remote to a tokenauthd node on a Unix socket, backed by the
#     same store: a token accepted, a wrong one refused, a TOTP code once;
#  3. PostgreSQL stopped: both give PAM_AUTHINFO_UNAVAIL, never
#     PAM_AUTH_ERR, for a valid and for a wrong token; started again, both
#     accept again (the node without a restart).
# The node and the cluster are stopped on every path.
# Usage: pam.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NAME="check-pg pam"
. "$HERE/lib.sh"
MOD=$B/pam_tokenauth.so
for t in oathtool pamtester; do
	command -v $t >/dev/null || { echo "$NAME: FAIL: $t missing" >&2; exit 1; }
done
[ -f "$MOD" ] || { echo "$NAME: FAIL: $MOD missing" >&2; exit 1; }
pg_begin /tmp/ta-pgp-XXXXXX
echo "tenant = acme" >>"$C"
expect 0 "init against postgresql:" -- ta init

# the node: the same store, on a Unix socket
{ cat "$C"; echo "listen = unix:$W/n1.sock"; } >"$W/n1.conf"
chmod 0600 "$W/n1.conf"
if node_start 1 "$W/n1.conf"; then ok; else
	bad "the node did not start"
	summary "$NAME"
	exit 1
fi
# the PAM host of verify = remote: its store (for its failure counts only)
# does not exist, so every verdict has to come from the node
mkdir -m 0700 "$W/host"
{
	echo "store = $W/host/nostore/tokenauth.db"
	echo "key_file = $W/host/nostore/master.key"
	echo "verify = remote"
	echo "tenant = acme"
	echo "timeout_ms = 3000"
	echo "unix_socket = $W/n1.sock"
	echo "url = http://localhost/rest/cc-management/v1/thirdparty/thirdPartyValidate"
} >"$W/host.conf"
chmod 0600 "$W/host.conf"

SVC=$W/pam.d
mkdir -m 0700 "$SVC"
echo "auth required $MOD config=$C" >"$SVC/pgdirect"
echo "auth required $MOD config=$W/host.conf" >"$SVC/pgremote"
echo "auth required pam_deny.so" >"$SVC/other"
# pt SERVICE USER CREDENTIAL: pamtester's message into $W/pt.out; status 0 on success
pt() {
	printf '%s\n' "$3" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$SVC \
		pamtester "$1" "$2" authenticate >"$W/pt.out" 2>&1
}
# accepted / refused (PAM_AUTH_ERR) / unavail (PAM_AUTHINFO_UNAVAIL) DESCRIPTION SERVICE USER CREDENTIAL
accepted() {
	if pt "$2" "$3" "$4"; then ok; else bad "$1: $(cat "$W/pt.out")"; fi
}
refused() {
	if ! pt "$2" "$3" "$4" && grep -q 'Authentication failure' "$W/pt.out"; then ok; else
		bad "$1, wanted PAM_AUTH_ERR: $(cat "$W/pt.out")"
	fi
}
unavail() {
	if ! pt "$2" "$3" "$4" && grep -q 'cannot retrieve authentication info' "$W/pt.out"; then ok; else
		bad "$1, wanted PAM_AUTHINFO_UNAVAIL: $(cat "$W/pt.out")"
	fi
}

ta issue --user alice --ttl 1d >"$W/tok.alice" 2>/dev/null
ta issue --user bob --ttl 1d >"$W/tok.bob" 2>/dev/null
TOK=$(cat "$W/tok.alice")
for u in totp1 totp2; do
	openssl rand 20 | base32 >"$W/sec.$u"
	ta otp enroll --user $u --secret-stdin --no-qr <"$W/sec.$u" >/dev/null 2>&1 || bad "otp enroll $u"
done

# --- 1. the store directly, 2. through the node ------------------------------------
for svc in pgdirect pgremote; do
	case $svc in pgdirect) how="PAM on the PostgreSQL store directly" otp=totp1 ;; *) how="PAM, verify = remote to a node" otp=totp2 ;; esac
	accepted "$how: valid token" $svc alice "$TOK"
	refused "$how: wrong token" $svc alice "tka_$(openssl rand -hex 24)"
	refused "$how: another user's token" $svc bob "$TOK"
	CODE=$(oathtool --totp -b "$(cat "$W/sec.$otp")")
	accepted "$how: TOTP code" $svc $otp "$CODE"
	refused "$how: replayed TOTP code" $svc $otp "$CODE"
	echo "  $how: token accepted, wrong token and another user's refused, TOTP code accepted once"
done
# the node answered the PAM host (its log line for the remote login)
if grep -q "POST /rest/cc-management/v1/thirdparty/thirdPartyValidate status=200 code=0 outcome=success user=alice" \
	"$W/n1.log"; then ok; else bad "the node's log lacks the remote login"; fi

# --- 3. PostgreSQL stopped, then started again --------------------------------------
sh "$HERE/cluster.sh" pause "$W/pg" || bad "cluster.sh pause"
for svc in pgdirect pgremote; do
	unavail "$svc, PostgreSQL stopped: valid token" $svc alice "$TOK"
	unavail "$svc, PostgreSQL stopped: wrong token" $svc bob "tka_$(openssl rand -hex 24)"
	CODE=$(oathtool --totp -b "$(cat "$W/sec.totp1")")
	unavail "$svc, PostgreSQL stopped: TOTP code" $svc totp1 "$CODE"
done
sh "$HERE/cluster.sh" resume "$W/pg" || bad "cluster.sh resume"
for svc in pgdirect pgremote; do
	accepted "$svc, PostgreSQL back: valid token" $svc alice "$TOK"
done
# the outage counted no failure: bob (refused once on each path) is not
# locked, and his token still passes
accepted "PostgreSQL back: bob's token" pgremote bob "$(cat "$W/tok.bob")"
echo "  PostgreSQL stopped: PAM_AUTHINFO_UNAVAIL on both paths for valid and wrong credentials; started again: accepted on both (the node not restarted)"
if kill -0 "$(cat "$W/n1.pid")" 2>/dev/null; then ok; else bad "the node died"; fi

node_stop 1
file_lacks "$W/n1.log" "$TOK" "a token"
summary "$NAME"
