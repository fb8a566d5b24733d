#!/bin/sh
# check-pg: three tokenauthd processes sharing ONE PostgreSQL store (a
# private cluster, tests/pg/cluster.sh), each on its own Unix socket:
#  1. a token issued with the CLI validates on every node; once revoked,
#     every node refuses it at once;
#  2. the same fresh TOTP code posted to the three nodes at the same
#     instant, 20 rounds of distinct users: exactly one success per round;
#  3. 8 clients x 200 distinct users (tokens issued through the nodes'
#     admin API), round robin over the nodes: every validation succeeds;
#  4. PostgreSQL stopped for 2 s under a load of valid and wrong tokens:
#     every answer meanwhile is "unavailable" (503, 10004), never a verdict;
#     no failure recorded against the valid users; every node serves again
#     within 2 s of the server's return, without a restart (idle nodes
#     too: their first requests after a restart are served);
#  5. kill -9 one node while all three issue tokens and validate: every
#     token whose issue was answered validates on the other two, which
#     answered every request throughout.
# The load comes from tests/pg/load.py (one log line per answer).
# Every tokenauthd and the cluster are stopped on every path.
# Usage: nodes.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NAME="check-pg nodes"
. "$HERE/lib.sh"
command -v oathtool >/dev/null || { echo "check-pg nodes: FAIL: oathtool missing" >&2; exit 1; }
pg_begin /tmp/ta-pgn-XXXXXX
expect 0 "init against postgresql:" -- ta init
(umask 077 && openssl rand -hex 24 >"$W/etc/admin.key")

# --- three nodes on the same store ------------------------------------------------
for n in 1 2 3; do
	# rate_limit = 0: the load clients all share one uid (one client to
	# the rate limiter), and this measures the store, not the limiter
	{ cat "$C"; echo "listen = unix:$W/n$n.sock"; echo "admin_api_key_file = $W/etc/admin.key"
		echo "rate_limit = 0"; } >"$W/n$n.conf"
	chmod 0600 "$W/n$n.conf"
	if node_start $n "$W/n$n.conf"; then ok; else
		bad "node $n did not start"
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

# --- load helpers --------------------------------------------------------------------
# tests/pg/load.py logs one line per answer, wall-clock seconds first:
#   validate: SEND RECV CLIENT NODE LABEL HTTP CODE
#   generate: SEND RECV CLIENT NODE USER HTTP CODE TOKEN
SOCKS="$W/n1.sock,$W/n2.sock,$W/n3.sock"
load() { python3 "$HERE/load.py" "$@"; }
# load_bg NAME ARGS...: load.py in the background (stopped by cleanup too)
load_bg() {
	_n=$1
	shift
	load "$@" &
	echo $! >"$W/load.$_n.pid"
}
load_wait() { wait "$(cat "$W/load.$1.pid")" 2>/dev/null; rm -f "$W/load.$1.pid"; }
now() { date +%s.%N; }
sql() { psql -X -qAt -h "$W/pg/srv" -U tokenauth -d tokenauth -c "$1"; }

# --- 3. 8 clients x 200 distinct users over the three nodes --------------------------
# 200 tokens through the nodes' admin API, for 200 users, then 8 concurrent
# clients validate them, each its 25 users 8 times, round robin over the nodes
load generate --socks "$SOCKS" --admin-key-file "$W/etc/admin.key" --clients 4 --count 200 \
	--prefix u --out "$W/gen200"
awk '$8 != "-" {print "ok", $5, "acme", $8}' "$W/gen200" >"$W/work200"
n=$(wc -l <"$W/work200")
users=$(awk '{print $2}' "$W/work200" | sort -u | wc -l)
if [ "$n" -eq 200 ] && [ "$users" -eq 200 ]; then ok; else
	bad "issued $n tokens for $users users through the admin API, wanted 200 and 200"
fi
t0=$(now)
load validate --socks "$SOCKS" --work "$W/work200" --clients 8 --passes 8 --out "$W/val200"
t1=$(now)
total=$(wc -l <"$W/val200")
good=$(awk '$6 == 200 && $7 == 0' "$W/val200" | wc -l)
failed=$((total - good))
per_node=$(awk '$6 == 200 && $7 == 0 {c[$4]++} END {for (n = 1; n <= 3; n++) printf " node%d=%d", n, c[n]}' "$W/val200")
if [ "$total" -eq 1600 ] && [ "$failed" -eq 0 ]; then ok; else
	bad "8 clients x 200 users: $total validations, $failed failed (wanted 1600, 0)"
	awk '!($6 == 200 && $7 == 0)' "$W/val200" | sort -k6,7 | awk '{print $4, $6, $7}' | uniq -c | head -5 >&2
fi
echo "  8 clients x 200 users: $total validations, $good ok, $failed failed ($(echo "$t0 $t1" | awk '{printf "%.1f s, %.0f/s", $2 - $1, 1600 / ($2 - $1)}');$per_node)"

# --- 4. PostgreSQL stopped during a load -------------------------------------------------
# 24 users with their valid token, a wrong token for a user with a token
# ("victim": locked after max_failures, then refused unchecked) and for an
# unknown user (checked every time: an unknown user is never locked); 8
# clients (3 valid lines and 1 wrong each) round robin over the nodes; the
# server is stopped (pg_ctl stop -m fast) for 2 s, then started again.
# While it is down every answer must be "unavailable" (HTTP 503, 10004);
# never a success for the wrong token, never a verdict against a valid one;
# afterwards the valid users carry no failure, and every node serves again
# within 2 s of the server's return, without a restart of tokenauthd.
ta issue --user victim --tenant acme >/dev/null 2>&1
BADTOK="tka_$(openssl rand -hex 24)"
head -24 "$W/work200" >"$W/workpg"
for u in victim nosuch victim nosuch victim nosuch victim nosuch; do
	echo "bad $u acme $BADTOK" >>"$W/workpg"
done
VALID_USERS=$(head -24 "$W/work200" | awk '{printf "%s\x27%s\x27", (NR > 1 ? "," : ""), $2}')
rm -f "$W/stop.pg"
load_bg pg validate --socks "$SOCKS" --work "$W/workpg" --clients 8 --until "$W/stop.pg" --out "$W/valpg"
sleep 1
t_stop0=$(now)
sh "$HERE/cluster.sh" pause "$W/pg" || bad "cluster.sh pause"
t_stop1=$(now)
sleep 2
t_start0=$(now)
sh "$HERE/cluster.sh" resume "$W/pg" || bad "cluster.sh resume"
t_start1=$(now)
sleep 3
touch "$W/stop.pg"
load_wait pg
# the moments, as awk variables
AT="-v s0=$t_stop0 -v s1=$t_stop1 -v r0=$t_start0 -v r1=$t_start1"
total=$(wc -l <"$W/valpg")
gap=$(awk $AT '$1 >= s1 && $2 <= r0' "$W/valpg" | wc -l)
gap_unavail=$(awk $AT '$1 >= s1 && $2 <= r0 && $6 == 503 && $7 == 10004' "$W/valpg" | wc -l)
gap_bad=$(awk $AT '$1 >= s1 && $2 <= r0 && $5 == "bad"' "$W/valpg" | wc -l)
if [ "$gap" -gt 0 ] && [ "$gap_bad" -gt 0 ] && [ "$gap_unavail" -eq "$gap" ]; then ok; else
	bad "PostgreSQL down: $gap answers in the gap ($gap_bad for the wrong token), $gap_unavail of them 503/10004"
	awk $AT '$1 >= s1 && $2 <= r0 && !($6 == 503 && $7 == 10004) {print $4, $5, $6, $7}' "$W/valpg" | sort | uniq -c >&2
fi
# over the whole run: the wrong token never passes, a valid one never gets a
# verdict against it; 503/10004 is the only other answer
bad_ok=$(awk '$5 == "bad" && $7 == 0' "$W/valpg" | wc -l)
ok_verdict=$(awk '$5 == "ok" && $7 ~ /^2000[0-9]$/' "$W/valpg" | wc -l)
other=$(awk '!(($5 == "ok" && $6 == 200 && $7 == 0) || ($5 == "bad" && $6 == 200 && ($7 == 20001 || $7 == 20004)) || ($6 == 503 && $7 == 10004))' "$W/valpg" | wc -l)
if [ "$bad_ok" -eq 0 ]; then ok; else bad "PostgreSQL outage: the wrong token passed $bad_ok times"; fi
if [ "$ok_verdict" -eq 0 ]; then ok; else bad "PostgreSQL outage: valid tokens refused with a verdict $ok_verdict times"; fi
if [ "$other" -eq 0 ]; then ok; else
	bad "PostgreSQL outage: $other answers neither a verdict nor 503/10004"
	awk '!(($5 == "ok" && $6 == 200 && $7 == 0) || ($5 == "bad" && $6 == 200 && ($7 == 20001 || $7 == 20004)) || ($6 == 503 && $7 == 10004)) {print $4, $5, $6, $7}' "$W/valpg" | sort | uniq -c >&2
fi
# back in service: the first success of each node after the server's
# return, and nothing but successes for the valid tokens from 2 s on
line=""
for n in 1 2 3; do
	# pg_ctl -w polls for readiness: a node may be served before it
	# returns, which counts as 0
	d=$(awk $AT -v n="$n" '$4 == n && $5 == "ok" && $7 == 0 && $1 >= s1 {d = $2 - r1; printf "%.2f", d < 0 ? 0 : d; exit}' "$W/valpg")
	line="$line node$n=${d:-never}s"
	if [ -n "$d" ] && awk -v d="$d" 'BEGIN {exit !(d <= 2)}'; then ok; else
		bad "node $n: first success ${d:-never} s after PostgreSQL's return, wanted <= 2 s"
	fi
done
late=$(awk $AT '$5 == "ok" && $1 >= r1 + 2 && !($6 == 200 && $7 == 0)' "$W/valpg" | wc -l)
if [ "$late" -eq 0 ]; then ok; else bad "$late valid validations failed 2 s or more after PostgreSQL's return"; fi
for n in 1 2 3; do
	if kill -0 "$(cat "$W/n$n.pid")" 2>/dev/null; then ok; else bad "node $n did not live through the outage"; fi
done
# no failure recorded for the valid users, and they pass on every node
rows=$(sql "SELECT count(*) FROM throttle WHERE tenant='acme' AND \"user\" IN ($VALID_USERS) AND (failures > 0 OR locked_until > extract(epoch FROM now()))")
if [ "$rows" = 0 ]; then ok; else bad "after the outage: $rows valid users with failures or a lockout ('$rows')"; fi
vf=0
head -24 "$W/work200" >"$W/workpg.ok"
while read -r _ u t tok; do
	for n in 1 2 3; do
		[ "$(validate $n "$u" "$t" "$tok" | retcode)" = 0 ] || vf=$((vf + 1))
	done
done <"$W/workpg.ok"
if [ "$vf" -eq 0 ]; then ok; else bad "after the outage: $vf validations of the 24 valid users failed"; fi
# idle nodes: with no request while the server was down, the first ones
# after its return are served, not failed on sessions that are gone
sh "$HERE/cluster.sh" pause "$W/pg" && sh "$HERE/cluster.sh" resume "$W/pg" || bad "cluster.sh pause/resume"
read -r _ u t tok <"$W/workpg.ok"
idle=""
for n in 1 2 3; do
	for _ in 1 2 3 4 5 6; do idle="$idle$(validate $n "$u" "$t" "$tok" | retcode),"; done
done
if [ "$idle" = "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0," ]; then ok; else
	bad "idle nodes after a restart of PostgreSQL: retCodes $idle, wanted 0 for all 18"
fi
locked=$(sql "SELECT count(*) FROM throttle WHERE tenant='acme' AND \"user\"='victim' AND locked_until > extract(epoch FROM now())")
if [ "$locked" = 1 ]; then ok; else bad "the wrong token's owner is not locked ('$locked')"; fi
echo "  PostgreSQL stopped for $(echo "$t_stop1 $t_start0" | awk '{printf "%.1f", $2 - $1}') s under load: $total answers, $gap in the gap all 503/10004 ($gap_bad for the wrong token), wrong token passed $bad_ok, valid refused $ok_verdict; back in service after:$line"

# --- 5. kill -9 of one node under load: no issued token lost ------------------------
# 4 clients issue tokens through /generate on all three nodes and 4
# validate valid tokens on all three; node 2 is killed mid-stream.  Every
# token whose issue was answered with success validates afterwards on the
# survivors, and the survivors answered every request throughout.
TOK2=$(ta issue --user bob --tenant acme 2>/dev/null)
rm -f "$W/stop.kill"
load_bg gen generate --socks "$SOCKS" --admin-key-file "$W/etc/admin.key" --clients 4 \
	--until "$W/stop.kill" --prefix k --out "$W/genkill"
load_bg val validate --socks "$SOCKS" --work "$W/work200" --clients 4 --until "$W/stop.kill" \
	--out "$W/valkill"
# kill once node 2 has issued tokens (at least 1 s, at most 20 s)
_w=0
while [ $_w -lt 200 ]; do
	sleep 0.1
	_w=$((_w + 1))
	[ $_w -ge 10 ] && [ "$(awk '$4 == 2 && $8 != "-"' "$W/genkill" 2>/dev/null | wc -l)" -gt 30 ] && break
done
t_kill=$(now)
node_stop 2 9
sleep 1.5
touch "$W/stop.kill"
load_wait gen
load_wait val
issued=$(awk '$8 != "-"' "$W/genkill" | wc -l)
by2=$(awk -v k="$t_kill" '$4 == 2 && $8 != "-"' "$W/genkill" | wc -l)
after=$(awk -v k="$t_kill" '$4 != 2 && $8 != "-" && $1 > k' "$W/genkill" | wc -l)
if [ "$by2" -gt 0 ] && [ "$after" -gt 0 ]; then ok; else
	bad "kill -9: node 2 issued $by2 tokens before, the survivors $after after the kill (wanted both > 0)"
fi
surv_gen_bad=$(awk '$4 != 2 && $8 == "-"' "$W/genkill" | wc -l)
surv_val=$(awk '$4 != 2' "$W/valkill" | wc -l)
surv_val_bad=$(awk '$4 != 2 && !($6 == 200 && $7 == 0)' "$W/valkill" | wc -l)
surv_val_after=$(awk -v k="$t_kill" '$4 != 2 && $1 > k' "$W/valkill" | wc -l)
if [ "$surv_gen_bad" -eq 0 ] && [ "$surv_val_bad" -eq 0 ] && [ "$surv_val_after" -gt 0 ]; then ok; else
	bad "kill -9: survivors failed $surv_gen_bad issues and $surv_val_bad of $surv_val validations ($surv_val_after after the kill)"
fi
awk '$8 != "-" {print "ok", $5, "acme", $8}' "$W/genkill" >"$W/workkill"
load validate --socks "$W/n1.sock,$W/n3.sock" --work "$W/workkill" --clients 4 --out "$W/valissued"
checked=$(wc -l <"$W/valissued")
lost=$(awk '!($6 == 200 && $7 == 0)' "$W/valissued" | wc -l)
if [ "$checked" -eq "$issued" ] && [ "$lost" -eq 0 ]; then ok; else
	bad "kill -9: $checked of $issued issued tokens checked on the survivors, $lost lost"
fi
line=""
for n in 1 3; do
	rc=$(validate $n bob acme "$TOK2" | retcode)
	line="$line node$n=$rc"
	if [ "$rc" = 0 ]; then ok; else bad "node $n after kill -9 of node 2: retCode '$rc', wanted 0"; fi
done
if validate 2 bob acme "$TOK2" >/dev/null; then bad "node 2 still answers after kill -9"; else ok; fi
echo "  kill -9 of node 2 under load: $issued tokens issued ($by2 by node 2), $checked checked on the survivors, $lost lost; survivors: $surv_val validations, $surv_val_bad failed, $surv_gen_bad issues failed"
echo "  valid token after kill -9 of node 2:$line"

node_stop 1
node_stop 3
# no token or TOTP code in any node's log
for n in 1 2 3; do
	file_lacks "$W/n$n.log" "$TOK" "a token"
	file_lacks "$W/n$n.log" "$BADTOK" "the wrong token"
	file_lacks "$W/n$n.log" "$(awk 'NR == 1 {print $4}' "$W/work200")" "an issued token"
done
summary "check-pg nodes"
