#!/bin/sh
# e2e_postfix.sh BUILD - Postfix smtpd with our plugin on its own port.
#
# A private Postfix instance (its own config, queue and data folders under
# /tmp, listening on 127.0.0.1 only) is started and stopped here; nothing
# under /etc is touched.  curl logs in with --oauth2-bearer for both
# mechanisms: 235 for a valid token, 535 after the error round otherwise.
set -u
B=$(cd "$1" && pwd)
. "$(dirname "$0")/lib.sh"

if ! command -v postfix >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
	echo "SKIP - postfix or curl not installed"
	exit 0
fi
D=$(mktemp -d /tmp/ta-postfix-XXXXXX)
chmod 0755 "$D"
cleanup() {
	postfix -c "$D/etc" stop >/dev/null 2>&1
	# Never leave our master behind, whatever stop did.
	if [ -s "$D/spool/pid/master.pid" ]; then
		pid=$(tr -d ' ' <"$D/spool/pid/master.pid")
		kill "$pid" 2>/dev/null
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT INT TERM

free_port() {
	_p=$1
	while ss -ltn 2>/dev/null | grep -q ":$_p "; do _p=$((_p + 1)); done
	echo "$_p"
}
# Below the ephemeral range (32768-60999): no client socket can hold it.
port=$(free_port $((20000 + $$ % 10000)))
port2=$(free_port $((port + 1)))

# The store belongs to the postfix user: smtpd opens it after dropping root.
mkdir -p "$D/etc/sasl" "$D/spool" "$D/data" "$D/plug" "$D/store"
cp "$B/libtokenauth.so" "$D/plug/"
printf 'store = %s/store/db/tokenauth.db\nkey_file = %s/store/master.key\n' "$D" "$D" >"$D/ta.conf"
TA="$B/tokenauth -c $D/ta.conf"
$TA init >/dev/null 2>&1
TOK=$($TA issue --user alice 2>/dev/null)
chown -R postfix: "$D/store"
chmod 0700 "$D/store"
chown postfix: "$D/data"

# Debian's Postfix reads $config_directory/sasl/smtpd.conf (/etc/postfix/sasl).
cat >"$D/etc/sasl/smtpd.conf" <<EOF
mech_list: OAUTHBEARER XOAUTH2
tokenauth_config: $D/ta.conf
EOF
# curl prefers OAUTHBEARER whenever it is offered, so the XOAUTH2 tests use
# a second smtpd whose SASL application (smtpd_sasl_path) offers only XOAUTH2.
cat >"$D/etc/sasl/smtpd-xoauth2.conf" <<EOF
mech_list: XOAUTH2
tokenauth_config: $D/ta.conf
EOF
cat >"$D/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $D/spool
data_directory = $D/data
mail_owner = postfix
myhostname = ta-test.localdomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
maillog_file_prefixes = $D
maillog_file = $D/maillog
smtpd_sasl_auth_enable = yes
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $D/etc/sasl
smtpd_sasl_security_options = noanonymous
smtpd_tls_security_level = none
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C SASL_PATH=$D/plug
EOF
cat >"$D/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd ${SMTPD_ARGS:-}
127.0.0.1:$port2 inet n - n - - smtpd -o smtpd_sasl_path=smtpd-xoauth2
postlog unix-dgram n - n - 1 postlogd
anvil unix - - n - 1 anvil
EOF

if ! postfix -c "$D/etc" start >"$D/start.log" 2>&1; then
	bad "Postfix: private instance starts on 127.0.0.1:$port"
	cat "$D/start.log" >&2
	exit 0
fi
i=0
while ! ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port2 " && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done

# smtp MECH TOKEN: curl's whole dialogue in $D/curl.
smtp() {
	if [ "$1" = XOAUTH2 ]; then _p=$port2; else _p=$port; fi
	curl -sv --max-time 20 "smtp://127.0.0.1:$_p" -u alice: --oauth2-bearer "$2" \
	    --login-options "AUTH=$1" -X NOOP >"$D/curl" 2>&1
	return 0
}
said() { grep -q "^< $1" "$D/curl"; }
sent() { grep -q "^> $1" "$D/curl"; }

# raw_xoauth2 TOKEN: the XOAUTH2 dialogue by hand (bash /dev/tcp), answering
# the error challenge with an empty line as Gmail's clients do; curl 7.88
# gives up on XOAUTH2 at the challenge without answering it.
raw_xoauth2() {
	_ir=$(printf 'user=alice\001auth=Bearer %s\001\001' "$1" | b64)
	timeout 20 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		say() { printf "%s\r\n" "$1" >&3; echo "> $1"; }
		hear() { IFS= read -r l <&3; l=${l%?}; echo "< $l"; }
		hear
		say "EHLO test"
		while hear; do case $l in "250 "*) break ;; esac; done
		say "AUTH XOAUTH2 $2"
		hear
		say ""
		hear
		say QUIT
		hear' _ "$port2" "$_ir" >"$D/raw" 2>&1
	return 0
}

for mech in OAUTHBEARER XOAUTH2; do
	smtp $mech "$TOK"
	check "Postfix: EHLO offers AUTH $mech" grep -q "^< 250-AUTH.*$mech" "$D/curl"
	check "Postfix: curl AUTH=$mech with a valid token gets 235" \
	    sh -c "grep -q '^> AUTH $mech' '$D/curl' && grep -q '^< 235 ' '$D/curl'"
	smtp $mech "${TOK}x"
	if [ $mech = OAUTHBEARER ]; then
		check "Postfix: curl AUTH=$mech with a bad token: 334 JSON challenge, then 535" \
		    sh -c "grep -q '^< 334 eyJzdGF0dXMi' '$D/curl' && grep -q '^< 535 ' '$D/curl'"
	else
		check "Postfix: curl AUTH=$mech with a bad token gets the 334 JSON challenge" \
		    sh -c "grep -q '^< 334 eyJzdGF0dXMi' '$D/curl' && ! grep -q '^< 235 ' '$D/curl'"
		raw_xoauth2 "${TOK}x"
		check "Postfix: AUTH XOAUTH2 with a bad token: 334 JSON, empty answer, then 535" \
		    sh -c "grep -q '^< 334 eyJzdGF0dXMi' '$D/raw' && grep -q '^< 535 ' '$D/raw'"
	fi
done

smtp OAUTHBEARER "${TOK}x"
check "Postfix: curl answers the OAUTHBEARER challenge with %x01 (AQ==) before the 535" sent "AQ=="
check "Postfix: the mail log records the failed OAUTHBEARER and XOAUTH2 logins" \
    sh -c "grep -q 'SASL OAUTHBEARER authentication failed' '$D/maillog' && grep -q 'SASL XOAUTH2 authentication failed' '$D/maillog'"
check "Postfix: the token never appears in the mail log" sh -c "! grep -q '$TOK' '$D/maillog'"
