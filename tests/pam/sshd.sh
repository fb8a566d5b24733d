#!/bin/sh
# sshd.sh BUILD_DIR - end-to-end: OpenSSH sshd -> libpam -> pam_tokenauth.so.
#
# Needs root (sshd reads /etc/pam.d and switches users); prints a SKIP line
# and exits 0 otherwise.  Everything it creates is removed by the trap:
#   - a private sshd on 127.0.0.1 with its own port, host key, config;
#   - /etc/pam.d/<unique service>: sshd names its PAM service after the
#     program (__progname), so sshd runs through a symlink with a unique
#     name and /etc/pam.d/sshd is never touched (OpenSSH 9.2 has no
#     PAMServiceName; 9.8+ does);
#   - a throwaway local user (useradd/userdel);
#   - /run/sshd when it did not exist.
# Prints "N passed, M failed" last.
set -u

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: sshd e2e needs root"
	exit 0
fi

B=$(cd "${1:-build}" && pwd)
TA=$B/tokenauth
MOD=$B/pam_tokenauth.so
SSHD=/usr/sbin/sshd
for t in "$SSHD" ssh sshpass oathtool useradd userdel ssh-keygen; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: sshd e2e needs $t"; exit 0; }
done
[ -x "$TA" ] && [ -f "$MOD" ] || { echo "sshd.sh: build $TA and $MOD first" >&2; exit 1; }

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }

ID=tatest$$
SERVICE=sshd-$ID
PAMFILE=/etc/pam.d/$SERVICE
FIX=$(mktemp -d /tmp/ta-sshd.XXXXXX) || exit 1
chmod 700 "$FIX"
SSHD_PID=
MADE_RUNDIR=
MADE_USER=

cleanup() {
	if [ -n "$SSHD_PID" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	[ -f "$PAMFILE" ] && rm -f "$PAMFILE"
	[ -n "$MADE_USER" ] && userdel -r "$ID" >/dev/null 2>&1
	[ -n "$MADE_RUNDIR" ] && rmdir /run/sshd 2>/dev/null
	rm -rf "$FIX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

die() { echo "sshd.sh: $*" >&2; bad "$*"; echo "$pass passed, $fail failed"; exit 1; }

# ---- store, user, PAM service --------------------------------------------------
cat >"$FIX/tokenauth.conf" <<EOF
store = $FIX/tokenauth.db
key_file = $FIX/master.key
EOF
chmod 600 "$FIX/tokenauth.conf"
cli() { "$TA" -c "$FIX/tokenauth.conf" "$@"; }
cli init >/dev/null 2>&1 || die "tokenauth init failed"
useradd -M -d "/nonexistent-$ID" -s /bin/sh "$ID" || die "useradd failed"
MADE_USER=1
TOKEN=$(cli issue --user "$ID" --ttl 1h 2>/dev/null) || die "issue failed"
head -c 20 /dev/urandom | base32 >"$FIX/secret"
cli otp enroll --user "$ID" --secret-stdin --no-qr <"$FIX/secret" >/dev/null ||
	die "otp enroll failed"

[ -e "$PAMFILE" ] && die "$PAMFILE already exists"
cat >"$PAMFILE" <<EOF
# Temporary service of tokenauth's tests/pam/sshd.sh; removed on exit.
auth     required $MOD config=$FIX/tokenauth.conf
account  required pam_permit.so
session  required pam_permit.so
password required pam_deny.so
EOF

# ---- private sshd ---------------------------------------------------------------
if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd && MADE_RUNDIR=1
fi
ssh-keygen -q -t ed25519 -N '' -f "$FIX/hostkey" || die "ssh-keygen failed"
PORT=
for p in $(seq $((20000 + $$ % 10000)) $((20100 + $$ % 10000))); do
	if ! ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then PORT=$p; break; fi
done
[ -n "$PORT" ] || die "no free port"
cat >"$FIX/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $FIX/hostkey
PidFile $FIX/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
PermitRootLogin no
AllowUsers $ID
StrictModes no
MaxAuthTries 2
LogLevel VERBOSE
EOF
ln -s "$SSHD" "$FIX/$SERVICE"
"$FIX/$SERVICE" -t -f "$FIX/sshd_config" || die "sshd -t rejected the config"
"$FIX/$SERVICE" -D -e -f "$FIX/sshd_config" 2>"$FIX/sshd.log" &
SSHD_PID=$!
i=0
until ss -ltnH "sport = :$PORT" 2>/dev/null | grep -q .; do
	i=$((i + 1))
	[ $i -lt 50 ] || die "sshd did not start: $(cat "$FIX/sshd.log")"
	sleep 0.1
done

# login CREDENTIAL: runs "echo ok-$ID" over ssh, answering the one prompt.
login() {
	sshpass -P 'Token:' -p "$1" ssh -F /dev/null -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PreferredAuthentications=keyboard-interactive -o PubkeyAuthentication=no \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 -o LogLevel=ERROR \
		"$ID@127.0.0.1" "echo ok-$ID" 2>>"$FIX/ssh.err"
}

out=$(login "$TOKEN")
if [ "$out" = "ok-$ID" ]; then ok "ssh: access token accepted"; else bad "ssh: access token refused ($out)"; fi

code=$(oathtool --totp -b "$(cat "$FIX/secret")")
out=$(login "$code")
if [ "$out" = "ok-$ID" ]; then ok "ssh: TOTP code accepted"; else bad "ssh: TOTP code refused ($out)"; fi

out=$(login "$code")
if [ -z "$out" ]; then ok "ssh: replayed TOTP code refused"; else bad "ssh: replayed code accepted"; fi

out=$(login "tka_wrong")
if [ -z "$out" ]; then ok "ssh: wrong token refused"; else bad "ssh: wrong token accepted"; fi

if grep -q "Accepted keyboard-interactive/pam for $ID" "$FIX/sshd.log"; then
	ok "sshd log: keyboard-interactive/pam accepted"
else
	bad "sshd log lacks the accepted line"
fi
if grep -q "$TOKEN" "$FIX/sshd.log" "$FIX/ssh.err"; then
	bad "token appears in a log"
else
	ok "token in no log"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
