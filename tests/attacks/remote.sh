#!/bin/sh
# remote.sh BUILD - attacks on the remote-verify path through the real CLI
# against a plain-HTTP fixture on 127.0.0.1 (issue 9, defects 1, 6, 7, 8):
# header smuggling in the credential, lockout of users only the remote
# knows, revocation against offline_grace, hosts that only look loopback,
# and key files that would break a header.
set -u
B=$1
TA="$B/tokenauth"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cli/lib.sh"
W=$(mktemp -d /tmp/ta-att-remote-XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
chmod 700 "$W"
TOKEN="tka_RemoteTestToken000000000000000000000000000000000"

python3 "$HERE/../remote/fixture.py" --plain --token "$TOKEN" --log "$W/requests" \
	>"$W/srv.out" 2>"$W/srv.err" &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	PORT=$(sed -n 's/^READY //p' "$W/srv.out" 2>/dev/null)
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || { echo "fixture did not start" >&2; exit 1; }
U="http://127.0.0.1:$PORT"
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

conf() { # NAME key=value... (remote only, one shared store)
	f="$W/$1.conf"
	shift
	{
		echo "store = $W/db/tokenauth.db"
		echo "key_file = $W/master.key"
		echo "verify = remote"
		echo "timeout_ms = 2000"
		for kv in "$@"; do echo "$kv"; done
	} >"$f"
	chmod 600 "$f"
	echo "$f"
}
"$TA" -c "$(conf base "url = $U/ok")" init 2>/dev/null
requests() { if [ -f "$W/requests" ]; then wc -l <"$W/requests"; else echo 0; fi; }
verify() { # WANT DESC CONF USER  (credential on stdin)
	expect "$1" "$2" -- "$TA" -c "$3" verify --user "$4" --tenant acme
}

# --- defect 1: the credential cannot carry a second request ---------------------
cf=$(conf kudo "url = $U/kudo-ok" "profile = kudo")
# the CLI takes one line; the bare-CR form reaches the core, which refuses it
printf 'x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n' |
	verify 2 "CLI: a multi-line credential is refused" "$cf" alice
printf 'x\r\rGET /healthz HTTP/1.1\rHost: a\r\rz\n' |
	verify 1 "kudo: CR in the credential is refused" "$cf" alice
err_has "not printable ASCII" "the gate names the problem"
printf 'tka_\001abc\n' | verify 1 "kudo: a control byte in the credential is refused" "$cf" alice
printf 'tok en\n' | verify 1 "a space in the credential is refused" "$cf" alice
if grep -q healthz "$W/requests" 2>/dev/null; then bad "a smuggled request reached the endpoint"; else ok; fi
[ "$(requests)" -eq 0 ] && ok || bad "a refused credential reached the endpoint"
echo "$TOKEN" | verify 0 "kudo: the real token still works" "$cf" alice
# a 200 that does not name the user is no verdict
echo "$TOKEN" | verify 3 "kudo: 200 without userAccount is not a yes" \
	"$(conf kudo2 "url = $U/ok-no-user" "profile = kudo")" alice
# introspection: "active" without a name says the token is good, not whose
# (second attack round: bob's valid token logged in as alice)
anon=$(conf anon "url = $U/introspect-anon" "profile = introspection")
echo "$TOKEN" | verify 3 "introspection: an active answer naming nobody is not a yes" "$anon" alice
err_has "names no sub or username" "the refusal says why"
echo "$TOKEN" | verify 0 "introspection: an answer naming alice still is" \
	"$(conf named "url = $U/introspect-active" "profile = introspection")" alice

# --- defect 6: a user only the remote knows is locked out ------------------------
cf=$(conf lock "url = $U/retcode1" "max_failures = 3" "lockout = 300")
for i in 1 2 3; do echo "12345$i" | verify 1 "remote-only user: wrong code $i" "$cf" rita; done
n=$(requests)
echo "$TOKEN" | verify 1 "remote-only user: locked after 3 failures" "$(conf lock2 "url = $U/ok" "max_failures = 3")" rita
err_has "locked" "the refusal says locked"
[ "$(requests)" -eq "$n" ] && ok || bad "a locked user's check still asked the endpoint"
expect 0 "tokenauth unlock clears a remote-only user" -- "$TA" -c "$cf" unlock --user rita --tenant acme
echo "$TOKEN" | verify 1 "after unlock the user is asked for again (wrong user for the fixture)" \
	"$(conf lock3 "url = $U/ok" "max_failures = 3")" rita
[ "$(requests)" -gt "$n" ] && ok || bad "unlock did not let the check through"
# made-up names: each costs one refused round trip and at most one bounded row
for i in $(seq 20); do echo "99999$i" | "$TA" -c "$cf" verify --user "rnd$i" --tenant acme >/dev/null 2>&1; done
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from throttle').fetchone()[0])" "$W/db/tokenauth.db")
[ "$rows" -le 22 ] && ok || bad "throttle rows grew past the names used ($rows)"

# --- defect 7: a refusal evicts the cached success; grace cannot revive it ------
good=$(conf g1 "url = $U/ok" "offline_grace = 3600")
no=$(conf g2 "url = $U/retcode1" "offline_grace = 3600")
down=$(conf g3 "url = http://127.0.0.1:$CLOSED/ok" "offline_grace = 3600")
echo "$TOKEN" | verify 0 "grace: success cached" "$good" alice
echo "$TOKEN" | verify 0 "grace: control, endpoint down, cached success serves" "$down" alice
echo "$TOKEN" | verify 1 "grace: the endpoint now refuses the token (revoked)" "$no" alice
echo "$TOKEN" | verify 3 "grace: endpoint down after the refusal: unavailable, not success" "$down" alice
if grep -q "served from cache" "$W/err"; then bad "a revoked token was served from the cache"; else ok; fi

# --- defect 8: only real loopback may take plain http ----------------------------
for host in 127.evil.example 127.0.0.1.evil.example localhost.evil.example 0x7f.example; do
	echo "$TOKEN" | verify 2 "plain http to $host is refused" "$(conf lb "url = http://$host/ok")" alice
	err_has "plain http only to loopback" "reason for $host"
done
echo "$TOKEN" | verify 0 "plain http to 127.0.0.1 still allowed" "$(conf lb2 "url = $U/ok")" alice

# --- a key file that would break a header -----------------------------------------
printf 'key\twith-tab\n' >"$W/bad.key"
chmod 600 "$W/bad.key"
echo "$TOKEN" | verify 2 "api key with a control byte is a config error" \
	"$(conf ak "url = $U/apikey" "api_key_file = $W/bad.key")" alice
err_has "not printable ASCII" "reason names the header"
grep -q "with-tab" "$W/err" && bad "api key in the log" || ok

summary "attacks-remote"
