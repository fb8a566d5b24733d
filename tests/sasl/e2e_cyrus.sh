#!/bin/sh
# e2e_cyrus.sh BUILD - Cyrus IMAP with our plugin on its own port.
#
# A private Cyrus master (its own imapd.conf, cyrus.conf and folders under
# /tmp, imapd on 127.0.0.1 only) is started and stopped here; /etc and
# /var/lib/cyrus are not touched.  curl logs in over IMAP with
# AUTH=OAUTHBEARER; a bad token is refused.
set -u
B=$(cd "$1" && pwd)
. "$(dirname "$0")/lib.sh"

master=/usr/lib/cyrus/bin/master
if [ ! -x "$master" ] || ! command -v curl >/dev/null 2>&1; then
	echo "SKIP - cyrus-imapd or curl not installed"
	exit 0
fi
D=$(mktemp -d /tmp/ta-cyrus-XXXXXX)
chmod 0755 "$D"
cleanup() {
	if [ -s "$D/master.pid" ]; then
		kill "$(cat "$D/master.pid")" 2>/dev/null
		i=0
		while kill -0 "$(cat "$D/master.pid")" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT INT TERM


mkdir -p "$D/conf" "$D/spool" "$D/plug" "$D/store" "$D/run/socket" "$D/run/proc" "$D/run/lock"
cp "$B/libtokenauth.so" "$D/plug/"
printf 'store = %s/store/db/tokenauth.db\nkey_file = %s/store/master.key\n' "$D" "$D" >"$D/ta.conf"
TA="$B/tokenauth -c $D/ta.conf"
$TA init >/dev/null 2>&1
TOK=$($TA issue --user alice 2>/dev/null)
chown -R cyrus:mail "$D/conf" "$D/spool" "$D/run" "$D/store"
chmod 0700 "$D/store"

# imapd.conf: every sasl_<option> is a SASL option, so tokenauth_config
# is sasl_tokenauth_config here.
cat >"$D/imapd.conf" <<EOF
configdirectory: $D/conf
defaultpartition: default
partition-default: $D/spool
proc_path: $D/run/proc
mboxname_lockpath: $D/run/lock
lmtpsocket: $D/run/socket/lmtp
idlesocket: $D/run/socket/idle
notifysocket: $D/run/socket/notify
servername: ta-test.localdomain
allowplaintext: yes
sasl_mech_list: OAUTHBEARER XOAUTH2
sasl_tokenauth_config: $D/ta.conf
syslog_prefix: ta-cyrus
EOF
# A port below the kernel's ephemeral range (32768-60999), so no outgoing
# connection of another test can hold it.  Cyrus logs only to syslog, so a
# master that does not listen is retried on another port, and the test shows
# who holds the port.
port_busy() { ss -tan 2>/dev/null | awk -v p=":$1" '$4 ~ p"$"' | grep -q .; }
start_master() {
	cat >"$D/cyrus.conf" <<EOF
START {
}
SERVICES {
  imap cmd="imapd -C $D/imapd.conf" listen="127.0.0.1:$port" prefork=0
}
EVENTS {
}
EOF
	SASL_PATH=$D/plug "$master" -C "$D/imapd.conf" -M "$D/cyrus.conf" -p "$D/master.pid" -d \
	    -L "$D/master.log"
	i=0
	while ! ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port " && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port "
}
port=$((20000 + $$ % 10000))
try=0
while :; do
	while port_busy $port; do port=$((port + 1)); done
	start_master && break
	echo "# Cyrus master did not listen on 127.0.0.1:$port; sockets on that port:"
	ss -tanp 2>/dev/null | grep ":$port " | sed 's/^/#   /'
	sed 's/^/#   master: /' "$D/master.log" 2>/dev/null
	[ -s "$D/master.pid" ] && kill "$(cat "$D/master.pid")" 2>/dev/null
	rm -f "$D/master.pid"
	try=$((try + 1))
	if [ $try -ge 3 ]; then
		bad "Cyrus IMAP: private master listens on 127.0.0.1 (3 ports tried)"
		exit 0
	fi
	port=$((port + 101))
done

imap() {
	curl -sv --max-time 20 "imap://127.0.0.1:$port/" -u alice: --oauth2-bearer "$1" \
	    --login-options AUTH=OAUTHBEARER >"$D/curl" 2>&1
	return 0
}
imap "$TOK"
check "Cyrus IMAP: CAPABILITY offers AUTH=OAUTHBEARER" grep -q 'AUTH=OAUTHBEARER' "$D/curl"
# The tagged answer to AUTHENTICATE itself, not to CAPABILITY.
auth_reply() {
	_tag=$(sed -n 's/^> \(A[0-9]*\) AUTHENTICATE OAUTHBEARER.*/\1/p' "$D/curl")
	[ -n "$_tag" ] && grep -q "^< $_tag $1" "$D/curl"
}
check "Cyrus IMAP: curl AUTH=OAUTHBEARER with a valid token logs in (tagged OK)" auth_reply OK
imap "${TOK}x"
bad_round() { grep -q '^< + eyJzdGF0dXMi' "$D/curl" && grep -q '^> AQ==' "$D/curl" && auth_reply NO; }
check "Cyrus IMAP: a bad token: JSON challenge, %x01, then tagged NO" \
    bad_round
