#!/bin/sh
# samples.sh BUILD - the plugin through Cyrus SASL's own sample programs.
#
# sasl-sample-server reads "C: <base64>" lines and prints "S: <base64>"
# lines, so the server side gets exact bytes, malformed ones included.
# sasl-sample-client with our client plugin is then wired to the server
# through two FIFOs.
set -u
B=$(cd "$1" && pwd)
. "$(dirname "$0")/lib.sh"
make_store
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT INT TERM

# Proxy tests need the authzids to exist for libsasl2's auxprop lookup.
cp /usr/lib/*/sasl2/libsasldb.so* "$W/plug/" 2>/dev/null
for u in shared root; do echo secret | saslpasswd2 -f "$W/sasldb2" -p -c "$u" 2>/dev/null; done
cat >"$W/conf/sample.conf" <<EOF
tokenauth_config: $W/ta.conf
tokenauth_scope: mail.read mail.send
sasldb_path: $W/sasldb2
log_level: 5
EOF

# srv MECH [FIRST [SECOND]]: FIRST is the initial response (printf format),
# sent after "MECH\0"; SECOND the answer to a challenge.  Output in $W/out.
srv() {
	_m=$1
	shift
	{
		if [ $# -ge 1 ]; then
			printf 'C: %s\n' "$(printf "$_m\\000$1" | b64)"
		else
			printf 'C: %s\n' "$(printf '%s' "$_m" | b64)"
		fi
		[ $# -ge 2 ] && printf 'C: %s\n' "$(printf "$2" | b64)"
	} >"$W/in"
	SASL_CONF_PATH=${CONF:-$W/conf} timeout 20 sasl-sample-server -p "$W/plug" -s smtp -m "$_m" \
	    ${srv_realm:+-u "$srv_realm"} <"$W/in" >"$W/out" 2>&1
	return 0
}

# The server's n-th "S:" line, decoded (the first is the mechanism list).
challenge() { grep '^S: ' "$W/out" | sed -n "${1}p" | cut -c4- | base64 -d 2>/dev/null; }
has() { grep -q -- "$1" "$W/out"; }
accepted() { has "^Username: $1\$"; }
# A failure after the RFC 7628 error round, with SASL result text $1.
error_round() {
	challenge 2 | grep -q '"status"' && has "Performing SASL negotiation: $1"
}
refused() { error_round "authentication failure" && ! has '^Username:'; }
refused_after_round() { refused; }
refused_at_once() { ! challenge 2 | grep -q . && has "$1"; }

OB='n,a=%s,\001auth=Bearer %s\001\001'
XO='user=%s\001auth=Bearer %s\001\001'
ob() { printf "$OB" "$1" "$2"; }
xo() { printf "$XO" "$1" "$2"; }

for mech in OAUTHBEARER XOAUTH2; do
	if [ $mech = OAUTHBEARER ]; then msg=ob; else msg=xo; fi
	srv $mech "$($msg alice "$TOK_ALICE")"
	check "$mech: valid token accepted, Username: alice" accepted alice

	srv $mech "$($msg alice "${TOK_ALICE}x")" '\001'
	check "$mech: wrong token: JSON challenge, %x01, authentication failure" \
	    error_round "authentication failure"
	if [ $mech = OAUTHBEARER ]; then
		check "$mech: challenge is {status: invalid_token, scope}" \
		    sh -c "[ '$(challenge 2)' = '{\"status\":\"invalid_token\",\"scope\":\"mail.read mail.send\"}' ]"
	else
		check "$mech: challenge is {status: 401, schemes, scope}" \
		    sh -c "[ '$(challenge 2)' = '{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail.read mail.send\"}' ]"
	fi

	srv $mech "$($msg bob "$TOK_ALICE")" '\001'
	check "$mech: alice's token as bob: error round, authentication failure" \
	    error_round "authentication failure"

	srv $mech "$($msg carol "$TOK_ALICE")" '\001'
	check "$mech: alice's token as carol (no credential): error round, authentication failure" \
	    error_round "authentication failure"
	srv $mech "$($msg carol "$TOK_FOREIGN")" '\001'
	check "$mech: unknown token for carol (no credential): same challenge, then SASL_NOUSER" \
	    error_round "user not found"

	if [ $mech = OAUTHBEARER ]; then
		t='n,a=alice,\001tenant=acme\001auth=Bearer %s\001\001'
		w='n,a=alice,\001tenant=other\001auth=Bearer %s\001\001'
	else
		t='user=alice\001tenant=acme\001auth=Bearer %s\001\001'
		w='user=alice\001tenant=other\001auth=Bearer %s\001\001'
	fi
	srv $mech "$(printf "$t" "$TOK_ACME")" '\001'
	# tenant_from_user = no: "alice@acme" is a local user name of this
	# server's own tenant, so (alice, acme) has no identity of its own here
	check "$mech: tenant_from_user=no, tenant=acme with the acme token: refused (error round)" \
	    refused_after_round
	check "$mech: ... and the log says why (tenant_from_user = no)" \
	    has "refused user=alice tenant=acme: another tenant than this server's, and tenant_from_user = no"
	srv $mech "$(printf "$w" "$TOK_ACME")" '\001'
	check "$mech: wrong tenant refused after the error round" error_round "authentication failure"

	sleep 1 # the 1-second token has surely expired by now
	srv $mech "$($msg dave "$TOK_EXPIRED")" '\001'
	check "$mech: expired token refused after the error round" error_round "authentication failure"
	srv $mech "$($msg erin "$TOK_REVOKED")" '\001'
	check "$mech: revoked token refused after the error round" error_round "authentication failure"
done

# The error round itself: OAUTHBEARER wants exactly %x01; XOAUTH2 takes anything.
srv OAUTHBEARER "$(ob alice "${TOK_ALICE}x")" 'x'
check "OAUTHBEARER: anything but %x01 after the challenge is a protocol error" \
    has "Performing SASL negotiation: bad protocol"
srv XOAUTH2 "$(xo alice "${TOK_ALICE}x")" ''
check "XOAUTH2: an empty answer ends the error round with authentication failure" \
    has "Performing SASL negotiation: authentication failure"

# No initial response: an empty challenge asks for the message.
printf 'C: %s\nC: %s\n' "$(printf OAUTHBEARER | b64)" "$(ob alice "$TOK_ALICE" | b64)" >"$W/in"
SASL_CONF_PATH=$W/conf timeout 20 sasl-sample-server -p "$W/plug" -s smtp -m OAUTHBEARER \
    <"$W/in" >"$W/out" 2>&1
check "OAUTHBEARER: without initial response, empty challenge then accepted" accepted alice

# Identity: authzid through canon_user and the library's proxy policy.
srv OAUTHBEARER "$(printf 'n,a=shared,\001user=alice\001auth=Bearer %s\001\001' "$TOK_ALICE")" '\001'
check "OAUTHBEARER: a=shared for alice refused by the library's default proxy policy" \
    has "Requested identity not authenticated identity"
check "OAUTHBEARER: a denied proxy authorisation says invalid_token, not temporarily_unavailable" \
    sh -c "[ '$(challenge 2)' = '{\"status\":\"invalid_token\",\"scope\":\"mail.read mail.send\"}' ]"
srv OAUTHBEARER "$(printf 'n,a=al=2Cice,\001auth=Bearer %s\001\001' "$TOK_ALICE")" '\001'
check "OAUTHBEARER: escaped a=al=2Cice is checked as user 'al,ice' (and refused)" \
    sh -c "grep -q 'user=al,ice ' '$W/out' && grep -q 'authentication failure' '$W/out'"
srv OAUTHBEARER "$(printf 'F,y,a=alice,\001host=mx\001port=25\001x=unknown key\001auth=bearer  %s\001\001' "$TOK_ALICE")"
check "OAUTHBEARER: F, y, host, port, unknown keys, 'bearer' and extra spaces accepted" \
    accepted alice

# Malformed messages: refused at once with SASL_BADPROT, no challenge.
i=0
for m in \
    "p=tls-unique,a=alice,\\001auth=Bearer $TOK_ALICE\\001\\001" \
    "n,a=alice,auth=Bearer $TOK_ALICE\\001\\001" \
    "n,a=alice,\\001auth=Bearer $TOK_ALICE\\001" \
    "n,a=alice,\\001auth=Bearer $TOK_ALICE\\001\\001trailing" \
    "n,a=alice,\\001auth=Basic $TOK_ALICE\\001\\001" \
    "n,a=alice,\\001auth=Bearer tok\$en\\001\\001" \
    "n,a=alice,\\001auth=Bearer $TOK_ALICE\\001auth=Bearer $TOK_ALICE\\001\\001" \
    "n,a=al=2Xice,\\001auth=Bearer $TOK_ALICE\\001\\001" \
    "n,a=,\\001auth=Bearer $TOK_ALICE\\001\\001" \
    "n,,\\001auth=Bearer $TOK_ALICE\\001\\001" \
    "n,a=alice,\\001host=mx\\001\\001" \
    "n,a=alice,\\0011key=v\\001auth=Bearer $TOK_ALICE\\001\\001" \
    "x,a=alice,\\001auth=Bearer $TOK_ALICE\\001\\001"; do
	i=$((i + 1))
	srv OAUTHBEARER "$m"
	check "OAUTHBEARER: malformed message $i refused at once (bad protocol)" \
	    refused_at_once "Starting SASL negotiation: bad protocol"
done
i=0
for m in \
    "auth=Bearer $TOK_ALICE\\001\\001" \
    "user=alice\\001auth=Bearer $TOK_ALICE\\001" \
    "user=alice\\001auth=$TOK_ALICE\\001\\001" \
    "user=ali\\011ce\\001auth=Bearer $TOK_ALICE\\001\\001" \
    "user=alice\\001user=bob\\001auth=Bearer $TOK_ALICE\\001\\001"; do
	i=$((i + 1))
	srv XOAUTH2 "$m"
	check "XOAUTH2: malformed message $i refused at once (bad protocol)" \
	    refused_at_once "Starting SASL negotiation: bad protocol"
done

# One principal namespace (README "Security model"): every identity the
# host sees maps back, by this server's own rule, to the one (user, tenant)
# whose token was checked.
TOK_EXCOM=$($TA issue --user alice --tenant example.com 2>/dev/null)
TOK_LOCALAT=$($TA issue --user alice@example.com 2>/dev/null) # a local account
TOK_ATTEN=$($TA issue --user alice --tenant ex@ample 2>/dev/null)
TOK_ATUSER=$($TA issue --user bob@x --tenant example.com 2>/dev/null)
ob_t() { printf 'n,a=%s,\001tenant=%s\001auth=Bearer %s\001\001' "$1" "$2" "$3"; }
xo_t() { printf 'user=%s\001tenant=%s\001auth=Bearer %s\001\001' "$1" "$2" "$3"; }
for mech in OAUTHBEARER XOAUTH2; do
	if [ $mech = OAUTHBEARER ]; then m=ob; mt=ob_t; else m=xo; mt=xo_t; fi
	srv $mech "$($mt alice example.com "$TOK_EXCOM")" '\001'
	check "$mech: tenant_from_user=no: (alice, example.com) cannot become alice@example.com" refused
	srv $mech "$($m alice@example.com "$TOK_EXCOM")" '\001'
	check "$mech: tenant_from_user=no: a=alice@example.com is the local account, not the tenant" refused
	srv $mech "$($m alice@example.com "$TOK_LOCALAT")"
	check "$mech: tenant_from_user=no: the local account alice@example.com logs in with its own token" \
	    accepted alice@example.com
done

mkdir -p "$W/conf-split"
sed 's/^log_level.*/&\ntokenauth_tenant_from_user: yes/' "$W/conf/sample.conf" >"$W/conf-split/sample.conf"
for mech in OAUTHBEARER XOAUTH2; do
	if [ $mech = OAUTHBEARER ]; then m=ob; mt=ob_t; else m=xo; mt=xo_t; fi
	CONF=$W/conf-split srv $mech "$($mt alice example.com "$TOK_EXCOM")"
	check "$mech: tenant_from_user=yes: (alice, example.com) by tenant key is alice@example.com" \
	    accepted alice@example.com
	CONF=$W/conf-split srv $mech "$($m alice@example.com "$TOK_EXCOM")"
	check "$mech: tenant_from_user=yes: a=alice@example.com is (alice, example.com)" \
	    accepted alice@example.com
	CONF=$W/conf-split srv $mech "$($m alice "$TOK_EXCOM")" '\001'
	check "$mech: tenant_from_user=yes: the example.com token cannot log in as the local alice" refused
	CONF=$W/conf-split srv $mech "$($m alice@example.com "$TOK_LOCALAT")" '\001'
	check "$mech: tenant_from_user=yes: alice@example.com is no longer the local account" refused
	CONF=$W/conf-split srv $mech "$($m alice "$TOK_ALICE")"
	check "$mech: tenant_from_user=yes: the local alice is still alice" accepted alice
	CONF=$W/conf-split srv $mech "$($m alice@ "$TOK_ALICE")"
	check "$mech: tenant_from_user=yes: alice@ (the server's own empty tenant) is shown as alice" \
	    accepted alice
	CONF=$W/conf-split srv $mech "$($mt alice ex@ample "$TOK_ATTEN")" '\001'
	check "$mech: tenant_from_user=yes: a tenant holding '@' is refused" \
	    sh -c "grep -q 'Performing SASL negotiation: authentication failure' '$W/out' && grep -q \"holds an '@'\" '$W/out' && ! grep -q '^Username:' '$W/out'"
	CONF=$W/conf-split srv $mech "$($mt bob@x example.com "$TOK_ATUSER")" '\001'
	check "$mech: tenant_from_user=yes: a user holding '@' with a foreign tenant key is refused" refused
	CONF=$W/conf-split srv $mech "$($mt alice@other example.com "$TOK_EXCOM")" '\001'
	check "$mech: tenant_from_user=yes: a=alice@other with tenant=example.com is refused" refused
done
# The foreign alice may not ask to act as the local alice.
CONF=$W/conf-split srv OAUTHBEARER \
    "$(printf 'n,a=alice,\001user=alice@example.com\001auth=Bearer %s\001\001' "$TOK_EXCOM")" '\001'
check "OAUTHBEARER: tenant_from_user=yes: alice@example.com asking for authzid alice is refused" \
    sh -c "grep -q 'Requested identity not authenticated identity' '$W/out' && ! grep -q '^Username:' '$W/out'"
# a=alice with user=alice and tenant=example.com: "the name I sent" is the
# session identity alice@example.com, never the local alice.
CONF=$W/conf-split srv OAUTHBEARER \
    "$(printf 'n,a=alice,\001user=alice\001tenant=example.com\001auth=Bearer %s\001\001' "$TOK_EXCOM")"
check "OAUTHBEARER: tenant_from_user=yes: a=alice, user=alice, tenant=example.com is alice@example.com" \
    accepted alice@example.com
# A host user_realm makes the default canon_user append "@realm" to names
# without '@': alice would become alice@example.com, the foreign alice.
CONF=$W/conf-split srv_realm=example.com srv OAUTHBEARER "$(ob alice "$TOK_ALICE")" '\001'
check "OAUTHBEARER: user_realm example.com: the local alice cannot become alice@example.com" \
    sh -c "grep -q 'Performing SASL negotiation: authentication failure' '$W/out' && grep -q \"host's canon_user\" '$W/out' && ! grep -q '^Username:' '$W/out'"
CONF=$W/conf-split srv_realm=example.com srv OAUTHBEARER "$(ob_t alice example.com "$TOK_EXCOM")"
check "OAUTHBEARER: user_realm example.com: (alice, example.com) is alice@example.com" \
    accepted alice@example.com

# Loading the plugin initialises nothing the configuration does not need:
# libcurl's global init opens $SSLKEYLOGFILE, so only verify = remote may.
rm -f "$W/keylog"
SSLKEYLOGFILE=$W/keylog srv OAUTHBEARER "$(ob alice "$TOK_ALICE")"
check "verify=local: loading the plugin does not open \$SSLKEYLOGFILE (no curl_global_init)" \
    sh -c "grep -q '^Username: alice\$' '$W/out' && [ ! -e '$W/keylog' ]"
mkdir -p "$W/conf-none"
SSLKEYLOGFILE=$W/keylog CONF=$W/conf-none srv OAUTHBEARER "$(ob alice "$TOK_ALICE")"
check "no configuration at all: loading the plugin does not open \$SSLKEYLOGFILE" [ ! -e "$W/keylog" ]

# Missing configuration: plugin init succeeds, the mechanisms are unavailable.
mkdir -p "$W/conf-broken"
echo "tokenauth_config: $W/does-not-exist.conf" >"$W/conf-broken/sample.conf"
CONF=$W/conf-broken srv OAUTHBEARER "$(ob alice "$TOK_ALICE")"
check "missing tokenauth_config: mechanism unavailable per connection, with a log line" \
    sh -c "grep -q 'no mechanism available' '$W/out' && grep -q 'does-not-exist.conf' '$W/out'"
check "missing tokenauth_config: plugin init still succeeds (saslpluginviewer lists it)" \
    sh -c "SASL_CONF_PATH='$W/conf-broken' SASL_PATH='$W/plug' saslpluginviewer -s 2>&1 | grep -q 'SASL mechanism: OAUTHBEARER'"

# Our client plugin (sasl-sample-client) against our server plugin.
pair() {
	_mech=$1 _tok=$2
	rm -f "$W/c2s" "$W/s2c" "$W/sout" "$W/cout" "$W/srv.log" "$W/cli.log"
	mkfifo "$W/c2s" "$W/s2c" "$W/sout" "$W/cout"
	SASL_CONF_PATH=$W/conf timeout 20 stdbuf -oL sasl-sample-server -p "$W/plug" -s smtp \
	    -m "$_mech" <"$W/c2s" >"$W/sout" 2>>"$W/srv.log" &
	# setsid: no controlling tty, so getpass() reads the token from stdin.
	timeout 20 setsid stdbuf -oL sasl-sample-client -p "$W/plug" -s smtp -n mx.example \
	    -m "$_mech" -a alice <"$W/s2c" >"$W/cout" 2>>"$W/cli.log" &
	(
		n=0
		while IFS= read -r line; do
			echo "$line" >>"$W/srv.log"
			case $line in
			"S: "*)
				printf '%s\n' "$line"
				n=$((n + 1))
				[ $n -eq 1 ] && printf '%s\n' "$_tok"
				;;
			"Negotiation complete") printf 'S: \n' ;;
			esac
		done <"$W/sout"
	) >"$W/s2c" &
	(
		while IFS= read -r line; do
			echo "$line" >>"$W/cli.log"
			case $line in "C: "*) printf '%s\n' "$line" ;; esac
		done <"$W/cout"
	) >"$W/c2s" &
	wait
}
for mech in OAUTHBEARER XOAUTH2; do
	pair $mech "$TOK_ALICE"
	check "$mech: sample-client with our client plugin logs in to our server plugin" \
	    sh -c "grep -q '^Username: alice\$' '$W/srv.log' && grep -q 'Negotiation complete' '$W/cli.log'"
	pair $mech "${TOK_ALICE}x"
	check "$mech: sample-client answers the error challenge; server says authentication failure" \
	    sh -c "grep -q 'Performing SASL negotiation: authentication failure' '$W/srv.log' && [ \$(grep -c '^C: ' '$W/cli.log') -eq 2 ]"
done
