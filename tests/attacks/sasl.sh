#!/bin/sh
# sasl.sh BUILD - attacks on the SASL boundary (libtokenauth.so) through
# the real libsasl2: Cyrus SASL's sasl-sample-server reads "C: <base64>"
# lines, so the plugin gets exactly the bytes an attacker would send.
#
# Classes: identity collisions across tenants (issue 9, defect 4), the
# status of a denied proxy authorisation (defect 8), process-wide init at
# plugin load in a setuid host with a hostile environment (defect 2), and
# injection of control bytes, oversized messages and grammar breaks.
# Needs only what "make all" builds (libtokenauth.so, tokenauth) and
# sasl2-bin.  Ends with "attacks-sasl: N passed, N failed".
set -u
B=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v sasl-sample-server >/dev/null 2>&1; then
	echo "attacks-sasl: SKIP (sasl-sample-server from sasl2-bin not installed)"
	exit 0
fi
W=$(mktemp -d /tmp/ta-attack-sasl-XXXXXX) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT INT TERM
# world-searchable so that the unprivileged run below can reach its files
chmod 0711 "$W"
. "$here/../cli/lib.sh"
: >"$W/results"

mkdir -p "$W/plug" "$W/conf" "$W/conf-split"
cp "$B/libtokenauth.so" "$W/plug/"
cp /usr/lib/*/sasl2/libsasldb.so* "$W/plug/" 2>/dev/null
echo secret | saslpasswd2 -f "$W/sasldb2" -p -c shared 2>/dev/null
printf 'store = %s/db/tokenauth.db\nkey_file = %s/master.key\n' "$W" "$W" >"$W/ta.conf"
TA="$B/tokenauth -c $W/ta.conf"
$TA init >/dev/null 2>&1 || { echo "attacks-sasl: cannot create the store" >&2; exit 1; }
T_ALICE=$($TA issue --user alice 2>/dev/null)                          # (alice, "")
T_EXCOM=$($TA issue --user alice --tenant example.com 2>/dev/null)     # (alice, example.com)
T_LOCALAT=$($TA issue --user alice@example.com 2>/dev/null)            # (alice@example.com, "")
T_ATTEN=$($TA issue --user alice --tenant ex@ample 2>/dev/null)        # (alice, ex@ample)
printf 'tokenauth_config: %s\nsasldb_path: %s\nlog_level: 7\n' "$W/ta.conf" "$W/sasldb2" \
    >"$W/conf/sample.conf"
{ cat "$W/conf/sample.conf"; echo 'tokenauth_tenant_from_user: yes'; } >"$W/conf-split/sample.conf"

# srv MECH FIRST [SECOND]: FIRST (a printf format) is the initial response
# sent after "MECH\0", SECOND the answer to the challenge.  CONF and REALM
# pick the SASL options and the host's user_realm.  Output in $W/srv.
srv() {
	_m=$1
	shift
	{
		printf 'C: %s\n' "$(printf "$_m\\000$1" | base64 -w0)"
		[ $# -ge 2 ] && printf 'C: %s\n' "$(printf "$2" | base64 -w0)"
	} >"$W/in"
	srv_in "$_m"
}
srv_in() {
	SASL_CONF_PATH=${CONF:-$W/conf} timeout 20 sasl-sample-server -p "$W/plug" -s smtp -m "$1" \
	    ${REALM:+-u "$REALM"} <"$W/in" >"$W/srv" 2>&1
}
has() { grep -aq -- "$1" "$W/srv"; }
challenge() { grep '^S: ' "$W/srv" | sed -n "${1}p" | cut -c4- | base64 -d 2>/dev/null; }
# verdict NAME CONDITION...: one result, with the server's output on failure
verdict() {
	_what=$1
	shift
	if "$@"; then ok; else
		bad "$_what"
		sed 's/^/    srv: /' "$W/srv" | tail -8 >&2
	fi
}
accepted() { has "^Username: $1\$"; }
no_login() { ! has '^Username:'; }
refused_round() {
	challenge 2 | grep -q '"status"' && has 'Performing SASL negotiation: authentication failure' &&
	    no_login
}
badprot() { has 'Starting SASL negotiation: bad protocol' && ! challenge 2 | grep -q . && no_login; }
# clean MARKER: refused at once and no byte from the marker on reached any output
clean() { badprot && ! has "$1"; }

ob() { printf 'n,a=%s,\001auth=Bearer %s\001\001' "$1" "$2"; }
obt() { printf 'n,a=%s,\001tenant=%s\001auth=Bearer %s\001\001' "$1" "$2" "$3"; }
xo() { printf 'user=%s\001auth=Bearer %s\001\001' "$1" "$2"; }
xot() { printf 'user=%s\001tenant=%s\001auth=Bearer %s\001\001' "$1" "$2" "$3"; }

# ---- one principal namespace --------------------------------------------------
for mech in OAUTHBEARER XOAUTH2; do
	if [ $mech = OAUTHBEARER ]; then m=ob mt=obt; else m=xo mt=xot; fi
	srv $mech "$($mt alice example.com "$T_EXCOM")" '\001'
	verdict "$mech: tenant_from_user=no: (alice, example.com) must not become alice@example.com" \
	    refused_round
	verdict "$mech: ... and the log names the rule" has 'tenant_from_user = no'
	srv $mech "$($m alice@example.com "$T_EXCOM")" '\001'
	verdict "$mech: tenant_from_user=no: the tenant's token as the local alice@example.com" \
	    refused_round
	srv $mech "$($m alice@example.com "$T_LOCALAT")"
	verdict "$mech: tenant_from_user=no: the local alice@example.com still logs in" \
	    accepted alice@example.com
	CONF=$W/conf-split srv $mech "$($m alice "$T_EXCOM")" '\001'
	verdict "$mech: tenant_from_user=yes: the example.com token cannot reach the local alice" \
	    refused_round
	CONF=$W/conf-split srv $mech "$($mt alice example.com "$T_EXCOM")"
	verdict "$mech: tenant_from_user=yes: (alice, example.com) is alice@example.com" \
	    accepted alice@example.com
	CONF=$W/conf-split srv $mech "$($mt alice ex@ample "$T_ATTEN")" '\001'
	verdict "$mech: tenant_from_user=yes: a tenant holding '@' is refused" refused_round
	CONF=$W/conf-split srv $mech "$($m '@example.com' "$T_EXCOM")"
	verdict "$mech: tenant_from_user=yes: an empty user before '@' is refused at once" badprot
	CONF=$W/conf-split REALM=example.com srv $mech "$($m alice "$T_ALICE")" '\001'
	verdict "$mech: host user_realm example.com: the local alice cannot become alice@example.com" \
	    refused_round
done
# a=alice with the foreign token under user=: ask to act as the local alice
CONF=$W/conf-split srv OAUTHBEARER \
    "$(printf 'n,a=alice,\001user=alice@example.com\001auth=Bearer %s\001\001' "$T_EXCOM")" '\001'
verdict "OAUTHBEARER: alice@example.com asking for authzid alice is refused" refused_round
verdict "OAUTHBEARER: a denied proxy authorisation says invalid_token, not temporarily_unavailable" \
    sh -c "[ '$(challenge 2)' = '{\"status\":\"invalid_token\"}' ]"
srv OAUTHBEARER "$(printf 'n,a=shared,\001user=alice\001auth=Bearer %s\001\001' "$T_ALICE")" '\001'
verdict "OAUTHBEARER: alice asking for authzid shared (default policy): invalid_token" \
    sh -c "[ '$(challenge 2)' = '{\"status\":\"invalid_token\"}' ] && ! grep -q '^Username:' '$W/srv'"

# ---- injection: control bytes in every field ------------------------------------
i=0
for msg in \
    "n,a=alice\\r\\nINJECTED,\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice\\000INJECTED,\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice\\001INJECTED,\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice\\033[31mINJECTED,\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice\\302\\233INJECTED,\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice\\300\\212INJECTED,\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=al,INJECTED,\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice,\\001auth=Bearer $T_ALICE\\r\\nINJECTED: 1\\001\\001" \
    "n,a=alice,\\001auth=Bearer $T_ALICE\\000INJECTED\\001\\001" \
    "n,a=alice,\\001auth=Bearer tka_\\177INJECTED\\001\\001" \
    "n,a=alice,\\001auth=Bearer tka_\\tINJECTED\\001\\001" \
    "n,a=alice,\\001host=mx\\r\\nINJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice,\\001host=mx\\000INJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice,\\001tenant=ac\\r\\nINJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice,\\001tenant=ac\\000INJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice,\\001tenant=ac\\001INJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice,\\001tenant=ac\\tINJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "n,a=alice,\\001user=alice\\nINJECTED\\001auth=Bearer $T_ALICE\\001\\001"; do
	i=$((i + 1))
	srv OAUTHBEARER "$msg"
	verdict "OAUTHBEARER: injection $i refused at once (BADPROT), nothing of it logged" \
	    clean INJECTED
done
i=0
for msg in \
    "user=alice\\r\\nINJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "user=alice\\000INJECTED\\001auth=Bearer $T_ALICE\\001\\001" \
    "user=alice\\033]0;INJECTED\\007\\001auth=Bearer $T_ALICE\\001\\001" \
    "user=alice\\001auth=Bearer $T_ALICE\\nINJECTED\\001\\001" \
    "user=alice\\001tenant=x\\rINJECTED\\001auth=Bearer $T_ALICE\\001\\001"; do
	i=$((i + 1))
	srv XOAUTH2 "$msg"
	verdict "XOAUTH2: injection $i refused at once (BADPROT), nothing of it logged" clean INJECTED
done
# An unknown key may carry CR/LF (RFC 7628 value); it is ignored, never logged.
srv OAUTHBEARER "n,a=alice,\\001x=1\\r\\nINJECTED\\001auth=Bearer $T_ALICE\\001\\001"
verdict "OAUTHBEARER: CR/LF in an unknown key: ignored, login as alice, nothing logged" \
    sh -c "grep -q '^Username: alice\$' '$W/srv' && ! grep -aq INJECTED '$W/srv'"
# XOAUTH2 user= with '@' and ',' is a name, never a separator.
srv XOAUTH2 "$(xo 'alice@example.com' "$T_EXCOM")" ''
verdict "XOAUTH2: user=alice@example.com with the example.com token (tenant_from_user=no)" \
    refused_round
srv XOAUTH2 "$(xo 'alice,tenant=example.com' "$T_EXCOM")" ''
verdict "XOAUTH2: user=alice,tenant=example.com is one (unknown) name" refused_round
CONF=$W/conf-split srv XOAUTH2 "$(xo 'alice@example.com,x' "$T_EXCOM")" ''
verdict "XOAUTH2: tenant_from_user=yes: user=alice@example.com,x is tenant 'example.com,x'" \
    refused_round
srv OAUTHBEARER "$(ob 'alice=2Cuser=3Droot' "$T_ALICE")" '\001'
verdict "OAUTHBEARER: a=alice=2Cuser=3Droot is the name 'alice,user=root'" \
    sh -c "grep -Eq 'user=(\"alice,user=root\"|alice,user=root )' '$W/srv' && ! grep -q '^Username:' '$W/srv'"
# Log forging: a name holding " key=value" stays one quoted value.
srv OAUTHBEARER "$(ob 'mallory tenant=3Dacme reason=3Dok' "$T_ALICE")" '\001'
verdict "OAUTHBEARER: a user name holding ' tenant=acme' is logged as one quoted value" \
    sh -c "grep -q 'user=\"mallory tenant=acme reason=ok\"' '$W/srv' && ! grep -q '^Username:' '$W/srv'"
srv OAUTHBEARER "$(obt 'mallory reason=3Dok' 'x tenant=' "$T_ALICE")" '\001'
verdict "OAUTHBEARER: the foreign-tenant refusal quotes user and tenant too" \
    sh -c "grep -q 'refused user=\"mallory reason=ok\" tenant=\"x tenant=\": another tenant' '$W/srv'"

# ---- sizes and the error round ----------------------------------------------------
big() { # big MECH BYTES: a well-formed message padded with an unknown key
	{
		printf '%s\000' "$1"
		[ "$1" = OAUTHBEARER ] && printf 'n,a=alice,\001'
		printf 'x='
		head -c "$2" /dev/zero | tr '\0' 'a'
		printf '\001auth=Bearer %s\001\001' "$T_ALICE"
	} | base64 -w0 | sed 's/^/C: /' >"$W/in"
	echo >>"$W/in"
	srv_in "$1"
}
for mech in OAUTHBEARER XOAUTH2; do
	for n in 9300 65536 1000000; do
		big $mech $n
		verdict "$mech: a $n-byte padded message is refused at once" badprot
	done
done
long=$(head -c 600 /dev/zero | tr '\0' 'A')
srv OAUTHBEARER "$(ob alice "tka_$long")"
verdict "OAUTHBEARER: a 604-byte token is refused at once" badprot
long=$(head -c 300 /dev/zero | tr '\0' 'u')
srv OAUTHBEARER "$(ob "$long" "$T_ALICE")"
verdict "OAUTHBEARER: a 300-byte user name is refused at once" badprot
CONF=$W/conf-split srv OAUTHBEARER "$(obt alice "$long" "$T_ALICE")"
verdict "OAUTHBEARER: a 300-byte tenant is refused at once" badprot
srv OAUTHBEARER "$(ob alice "${T_ALICE}x")" "$(ob alice "$T_ALICE")"
verdict "OAUTHBEARER: a second message instead of %x01 after the challenge is BADPROT" \
    sh -c "grep -q 'Performing SASL negotiation: bad protocol' '$W/srv' && ! grep -q '^Username:' '$W/srv'"

# ---- plugin load in a setuid host, hostile environment, umask 000 -----------------
# libcurl's global init opens $SSLKEYLOGFILE (append, caller's umask);
# loading the plugin must not run it unless the configuration says remote.
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	mkdir -m 0755 "$W/pub" "$W/pub/plug" "$W/victim"
	cp "$B/libtokenauth.so" "$W/pub/plug/"
	cp "$(command -v sasl-sample-server)" "$W/pub/ss"
	chmod 4755 "$W/pub/ss"
	# libsasl2 ignores SASL_CONF_PATH in a setuid program: no tokenauth
	# configuration at all, as in any setuid SASL program on the host.
	# Our plugin answers the mechanism alone with an empty challenge:
	# proof that it was loaded and initialised.
	printf 'C: %s\n' "$(printf OAUTHBEARER | base64 -w0)" >"$W/pub/in"
	chmod 0644 "$W/pub/in"
	setpriv --reuid=nobody --regid=nogroup --clear-groups env SSLKEYLOGFILE="$W/victim/keylog" \
	    sh -c "umask 000; exec timeout 20 '$W/pub/ss' -p '$W/pub/plug' -s smtp -m OAUTHBEARER" \
	    <"$W/pub/in" >"$W/srv" 2>&1
	verdict "setuid host run by nobody, umask 000: loading the plugin creates no \$SSLKEYLOGFILE" \
	    sh -c "grep -q 'Waiting for client reply' '$W/srv' && [ ! -e '$W/victim/keylog' ]"
else
	echo "attacks-sasl: SKIP the setuid case (needs root, user nobody and setpriv)"
fi

summary "attacks-sasl"
