#!/bin/sh
# check-pg: three tokenauthd processes sharing ONE PostgreSQL store (a
# private cluster, tests/pg/cluster.sh), each on its own Unix socket:
#  1. a token issued with the CLI validates on every node; once revoked,
#     every node refuses it at once;
#  2. the same fresh TOTP code posted to the three nodes at the same
#     instant, 20 rounds of distinct users: exactly one success per round;
#  3. kill -9 one node: the other two still answer.
# Every tokenauthd and the cluster are stopped on every path.
# Usage: nodes.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NAME="check-pg nodes"
. "$HERE/lib.sh"
command -v oathtool >/dev/null || { echo "check-pg nodes: FAIL: oathtool missing" >&2; exit 1; }
W=$(mktemp -d /tmp/ta-pgn-XXXXXX)
cleanup() {
	for p in "$W"/n*.pid; do
		[ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
	done
	sh "$HERE/cluster.sh" stop "$W/pg"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
chmod 0711 "$W"
. "$HERE/../cli/lib.sh"
: >"$W/results"
sh "$HERE/cluster.sh" start "$W/pg" || { echo "check-pg nodes: cannot start a cluster" >&2; exit 1; }

TA="$B/tokenauth"
TD="$B/tokenauthd"
C="$W/ta.conf"
mkdir -m 0700 "$W/etc"
printf 'store = postgresql:\nstore_dsn_file = %s/pg/dsn\nkey_file = %s/etc/master.key\n' \
	"$W" "$W" >"$C"
chmod 0600 "$C"
ta() { "$TA" -c "$C" "$@"; }
expect 0 "init against postgresql:" -- ta init
(umask 077 && openssl rand -hex 24 >"$W/etc/admin.key")

# --- three nodes on the same store ------------------------------------------------
for n in 1 2 3; do
	{ cat "$C"; echo "listen = unix:$W/n$n.sock"; echo "admin_api_key_file = $W/etc/admin.key"; } >"$W/n$n.conf"
	chmod 0600 "$W/n$n.conf"
	"$TD" -c "$W/n$n.conf" -f 2>"$W/n$n.log" &
	echo $! >"$W/n$n.pid"
done
for n in 1 2 3; do
	i=0
	while [ $i -lt 200 ] && ! grep -q "tokenauthd ready" "$W/n$n.log" 2>/dev/null; do
		kill -0 "$(cat "$W/n$n.pid")" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	if grep -q "tokenauthd ready" "$W/n$n.log"; then ok; else
		bad "node $n did not start: $(tail -3 "$W/n$n.log")"
		summary "check-pg nodes"
		exit 1
	fi
done

VPATH=/rest/cc-management/v1/thirdparty/thirdPartyValidate
# validate NODE USER TENANT CREDENTIAL: prints the answer body (empty if none)
validate() {
	curl -s -m 10 --unix-socket "$W/n$1.sock" -H "Content-Type: application/json" \
		-d "{\"access_token\":\"$4\",\"tenantSpaceId\":\"$3\",\"userAccount\":\"$2\"}" \
		"http://localhost$VPATH"
}
retcode() { sed -n 's/.*"retCode":\([0-9]*\).*/\1/p'; }

# --- 1. issue on the CLI, validate everywhere, revoke, refused everywhere ----------
JSON=$(ta issue --user alice --tenant acme --json 2>/dev/null)
TOK=$(printf '%s' "$JSON" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
ID=$(printf '%s' "$JSON" | sed -n 's/.*"id" *: *"\([0-9a-f]*\)".*/\1/p')
if [ -n "$TOK" ] && [ -n "$ID" ]; then ok; else bad "issue --json gave a token and an id"; fi
for n in 1 2 3; do
	rc=$(validate $n alice acme "$TOK" | retcode)
	if [ "$rc" = 0 ]; then ok; else bad "node $n: CLI token, retCode '$rc', wanted 0"; fi
done
expect 0 "revoke" -- ta revoke "$ID"
line=""
for n in 1 2 3; do
	rc=$(validate $n alice acme "$TOK" | retcode)
	line="$line node$n=$rc"
	if [ -n "$rc" ] && [ "$rc" != 0 ]; then ok; else bad "node $n: revoked token, retCode '$rc', wanted non-zero"; fi
done
echo "  revoked token, right after revoke:$line"

# --- 2. one TOTP code, three nodes, one instant ------------------------------------
ROUNDS=20
i=1
while [ $i -le $ROUNDS ]; do
	# a 160-bit secret in base32 (20 bytes: 32 characters, no padding)
	openssl rand 20 | base32 >"$W/b32_$i"
	i=$((i + 1))
done
enrolled=0
i=1
while [ $i -le $ROUNDS ]; do
	if ta otp enroll --user "otp$i" --secret-stdin --no-qr <"$W/b32_$i" >/dev/null 2>"$W/err"; then
		enrolled=$((enrolled + 1))
	else
		sed 's/^/    stderr: /' "$W/err" >&2
	fi
	i=$((i + 1))
done
if [ $enrolled -eq $ROUNDS ]; then ok; else bad "enrolled $enrolled of $ROUNDS TOTP users"; fi

mkfifo "$W/go"
one=0
i=1
while [ $i -le $ROUNDS ]; do
	CODE=$(oathtool --totp -b "$(cat "$W/b32_$i")")
	# the writer end is held open (read-write: never blocks), so every
	# reader's open returns at once and its read waits for its line
	exec 3<>"$W/go"
	jobs=""
	for n in 1 2 3; do
		( read _ <&3; validate $n "otp$i" "" "$CODE" | retcode >"$W/r$i.$n" ) &
		jobs="$jobs $!"
	done
	sleep 0.2
	printf 'go\ngo\ngo\n' >&3
	for j in $jobs; do wait "$j"; done
	exec 3>&-
	succ=0
	line=""
	for n in 1 2 3; do
		rc=$(cat "$W/r$i.$n")
		line="$line n$n=$rc"
		[ "$rc" = 0 ] && succ=$((succ + 1))
		[ -n "$rc" ] || succ=99   # no answer at all is never a pass
	done
	if [ $succ -eq 1 ]; then one=$((one + 1)); ok; else
		bad "round $i (otp$i): $succ successes:$line"
	fi
	i=$((i + 1))
done
echo "  $ROUNDS rounds: $one with exactly one success"

# --- 3. kill -9 one node, the other two still answer -------------------------------
TOK2=$(ta issue --user bob --tenant acme 2>/dev/null)
kill -9 "$(cat "$W/n2.pid")"
wait "$(cat "$W/n2.pid")" 2>/dev/null
rm -f "$W/n2.pid"
line=""
for n in 1 3; do
	rc=$(validate $n bob acme "$TOK2" | retcode)
	line="$line node$n=$rc"
	if [ "$rc" = 0 ]; then ok; else bad "node $n after kill -9 of node 2: retCode '$rc', wanted 0"; fi
done
if validate 2 bob acme "$TOK2" >/dev/null; then bad "node 2 still answers after kill -9"; else ok; fi
echo "  valid token after kill -9 of node 2:$line"

for n in 1 3; do
	kill -TERM "$(cat "$W/n$n.pid")" 2>/dev/null
	wait "$(cat "$W/n$n.pid")" 2>/dev/null
	rm -f "$W/n$n.pid"
done
# no token or TOTP code in any node's log
for n in 1 2 3; do file_lacks "$W/n$n.log" "$TOK" "a token"; done
summary "check-pg nodes"
