#!/bin/bash
# nodes.sh BUILD_DIR - portal sessions across nodes (part of make
# check-portal): two tokenauthd nodes with portal = yes sharing one
# PostgreSQL store (a private cluster, tests/pg/cluster.sh).  A session
# made on node 1 works on node 2 (page, CSRF token, an action), and a
# logout on node 2 ends it on node 1; creations on both nodes side by side
# stay within portal_max_tokens, and a store that cannot count them is a
# 503.  The nodes and the cluster are
# stopped on every path.
# Last line: "portal nodes: N passed, M failed"; exit 1 on any failure.
set -u
SUITE="portal nodes"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
portal_init "${1:-build}"

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cleanup() {
	sh "$TOP/tests/pg/cluster.sh" stop "$FIX/pg" 2>/dev/null
	finish
}
[ -x "$PGBIN/initdb" ] || { echo "$SUITE: FAIL: PostgreSQL server binaries missing in $PGBIN; run 'make deps'"; exit 1; }
portal_fixture || die "fixture"
trap 'cleanup' INT TERM
chmod 0711 "$FIX" # the cluster runs as an unprivileged user inside it
sh "$TOP/tests/pg/cluster.sh" start "$FIX/pg" || die "cannot start a PostgreSQL cluster"
P1=$(portal_port)
P2=$(portal_port)
[ "$P2" = "$P1" ] && P2=$((P1 + 1))
pgconf() { # pgconf NAME PORT [LINE...]: a node on the shared store
	portal_conf "$@"
	sed -i "s|^store = .*|store = postgresql:\nstore_dsn_file = $FIX/pg/dsn|" "$FIX/$1.conf"
}
pgconf n1 "$P1" "portal_max_tokens = 2"
pgconf n2 "$P2" "portal_max_tokens = 2"
check "tokenauth init on PostgreSQL" "$B/tokenauth" -c "$FIX/n1.conf" init
portal_start n1 "$FIX/n1.conf" || { bad "node 1 did not start: $(tail -3 "$FIX/n1.log")"; cleanup; }
portal_start n2 "$FIX/n2.conf" || { bad "node 2 did not start: $(tail -3 "$FIX/n2.log")"; cleanup; }

c=$(login_cookie "$P1" alice Alice-pw-1)
check "login on node 1" [ -n "$c" ]
t1=$(csrf_of "$P1" "$c")
t2=$(csrf_of "$P2" "$c")
check "the session made on node 1 works on node 2" grep -q 'Signed in as <b>alice</b>' "$FIX/b"
check "node 2 gives the same CSRF token" [ -n "$t2" ] && [ "$t1" = "$t2" ]
s=$(hc "https://127.0.0.1:$P2/my/tokens" -H "Cookie: __Host-tokenauth=$c" -d "label=from-node-2&csrf=$t1")
check "an action on node 2 with node 1's page -> 200" [ "$s" = 200 ]
tok=$(sed -n 's/.*id="new-token">\([^<]*\)<.*/\1/p' "$FIX/b")
hc "https://127.0.0.1:$P1/my/" -H "Cookie: __Host-tokenauth=$c" >/dev/null
check "node 1 lists the app password made on node 2" grep -q 'from-node-2' "$FIX/b"
s=$(hc "https://127.0.0.1:$P2/my/logout" -H "Cookie: __Host-tokenauth=$c" -d "csrf=$t1")
check "logout on node 2" [ "$s" = 303 ]
s=$(hc "https://127.0.0.1:$P1/my/tokens" -H "Cookie: __Host-tokenauth=$c" -d "label=after&csrf=$t1")
check "the session is over on node 1 too (401)" [ "$s" = 401 ]
check "no session id or app password in the nodes' logs" sh -c \
    "! grep -q -e '$c' -e '${tok:-none}' '$FIX/n1.log' '$FIX/n2.log'"
# The app password limit across nodes: bob's creations, four on each node
# side by side, are counted under the user's lock on the one PostgreSQL
# store, so the two nodes together make only portal_max_tokens = 2.
b=$(login_cookie "$P1" bob Bob-pw-2)
bt=$(csrf_of "$P1" "$b")
pids=
for i in 1 2 3 4 5 6 7 8; do
	port=$P1
	[ $((i % 2)) = 0 ] && port=$P2
	curl -sk -o /dev/null -w '%{http_code}\n' "https://127.0.0.1:$port/my/tokens" \
	    -H "Cookie: __Host-tokenauth=$b" -d "label=race$i&csrf=$bt" >"$FIX/race.$i" &
	pids="$pids $!"
done
wait $pids # not the daemons
made=$(cat "$FIX"/race.[1-8] | grep -c '^200$')
full=$(cat "$FIX"/race.[1-8] | grep -c '^409$')
check "limit: 8 creates on two nodes, portal_max_tokens = 2 -> 2 made, 6 refused ($made, $full)" \
    sh -c "[ '$made' = 2 ] && [ '$full' = 6 ]"
check "limit: 2 app passwords of bob in the store" \
    [ "$("$B/tokenauth" -c "$FIX/n1.conf" list --user bob | grep -c ' active ')" = 2 ]
# A store that cannot count app passwords is an outage (503), never "you
# already have the most" (409) (helper-53 F5): the table out of the way.
pq() { psql -X -qAt -v ON_ERROR_STOP=1 -h "$FIX/pg/srv" -U tokenauth -d tokenauth -c "$1"; }
pq "ALTER TABLE tokens RENAME TO tokens_away" >/dev/null || bad "moving the tokens table"
s=$(hc "https://127.0.0.1:$P1/my/tokens" -H "Cookie: __Host-tokenauth=$b" -d "label=nocount&csrf=$bt")
check "create while the tokens cannot be counted -> 503 ($s)" [ "$s" = 503 ]
check "and the page says unavailable, not too many" sh -c \
    "grep -q 'Cannot create an app password now' '$FIX/b' && ! grep -q 'already have' '$FIX/b'"
pq "ALTER TABLE tokens_away RENAME TO tokens" >/dev/null || bad "putting the tokens table back"
td_stop n1 || true
td_stop n2 || true
cleanup
