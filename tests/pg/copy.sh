#!/bin/sh
# check-pg: tokenauth store copy across engines, SQLite -> PostgreSQL ->
# a new SQLite store, the same properties checked on each hop; and a
# PostgreSQL server that is down: exit 3, nothing written on the SQLite
# side.  A private cluster (tests/pg/cluster.sh), removed on every path.
# Usage: copy.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NAME="check-pg copy"
. "$HERE/lib.sh"
pg_begin /tmp/ta-pgcopy-XXXXXX
mv "$C" "$W/pg.conf" # the PostgreSQL side; ta() below is the SQLite one
S="$W/etc/src.db" P="postgresql:$W/pg/dsn" D="$W/etc/back.db"
printf 'store = %s\nkey_file = %s/etc/master.key\n' "$S" "$W" >"$W/ta.conf"
chmod 0600 "$W/ta.conf"
ta() { "$TA" -c "$W/ta.conf" "$@"; }
# at STORE VERB...: a verb on one store (the PostgreSQL one through its configuration)
at() {
	store=$1
	shift
	case $store in
	postgresql:*) "$TA" -c "$W/pg.conf" "$@" ;;
	*) "$TA" -c "$W/ta.conf" --store "$store" "$@" ;;
	esac
}
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP

expect 0 "init the SQLite source" -- ta init
expect 0 "issue" -- ta issue --user alice --tenant acme
CT=$(cat "$W/out")
expect 0 "issue to revoke" -- ta issue --user rex
RT=$(cat "$W/out")
expect 0 "revoke" -- ta revoke --user rex
expect 0 "issue to lock" -- ta issue --user kim
KT=$(cat "$W/out")
for i in 1 2 3 4 5; do echo "wrong-$i" | expect 1 "failure $i" -- ta verify --user kim; done
echo "$SECRET" | expect 0 "hotp enroll" -- ta otp enroll --user hank --hotp --secret-stdin --no-qr
echo "$(oathtool --hotp -b -c 0 "$SECRET")" | expect 0 "HOTP code 0 used on the source" -- ta verify --user hank

# The properties each hop keeps; $2 is the HOTP counter the next code uses.
check_store() {
	store=$1 next=$2 hop=$3
	echo "$CT" | expect 0 "$hop: token valid" -- at "$store" verify --user alice --tenant acme
	echo "$RT" | expect 1 "$hop: revoked stays revoked" -- at "$store" verify --user rex
	echo "$KT" | expect 1 "$hop: locked user stays locked" -- at "$store" verify --user kim
	err_has "locked" "$hop: lock reason"
	echo "$(oathtool --hotp -b -c $((next - 1)) "$SECRET")" |
		expect 1 "$hop: used HOTP code refused" -- at "$store" verify --user hank
	echo "$(oathtool --hotp -b -c "$next" "$SECRET")" |
		expect 0 "$hop: next HOTP code accepted" -- at "$store" verify --user hank
}

# --- PostgreSQL down: exit 3 naming the side, nothing written anywhere ------------
mv "$W/pg/dsn" "$W/dsn.ok"
printf 'host=%s/nosuch dbname=tokenauth user=tokenauth\n' "$W" >"$W/pg/dsn"
chmod 0600 "$W/pg/dsn"
expect 3 "copy into an unreachable PostgreSQL" -- ta store copy "$S" "$P"
err_has "destination" "names the destination side"
expect 3 "copy from an unreachable PostgreSQL" -- ta store copy "$P" "$W/etc/none.db"
err_has "source" "names the source side"
[ -e "$W/etc/none.db" ] && bad "a SQLite store was made while the source was down" || ok
mv "$W/dsn.ok" "$W/pg/dsn"

# --- hop 1: SQLite -> PostgreSQL (created, as init would) ------------------------------
expect 0 "copy SQLite -> PostgreSQL" -- ta store copy "$S" "$P"
out_has "^copied 3 tokens, 1 OTP secrets, [0-9]* throttle rows from $S to $P\$" "counts line"
expect 2 "copy into the non-empty PostgreSQL store" -- ta store copy "$S" "$P"
err_has "is not empty" "non-empty destination refused"
check_store "$P" 1 "PostgreSQL"

# --- hop 2: PostgreSQL -> a new SQLite store ---------------------------------------------
expect 0 "copy PostgreSQL -> SQLite" -- ta store copy --json "$P" "$D"
out_has '"tokens":3,"otp":1' "json counts"
check_store "$D" 2 "back in SQLite"
expect 2 "copy PostgreSQL onto itself" -- ta store copy "$P" "$P"
err_has "are the same store" "same DSN file refused"

# --- a PostgreSQL source at an older schema: refused, not migrated -------------------
# (nodes of the older version may still share it: migrating it would stop them)
pq() { psql -X -qAt -v ON_ERROR_STOP=1 -h "$W/pg/srv" -U tokenauth -d tokenauth -c "$1"; }
pq "UPDATE tokenauth_schema SET version = 4" >/dev/null || bad "marking the store schema 4"
expect 2 "copy from a schema 4 PostgreSQL store" -- ta store copy "$P" "$W/etc/old4.db"
err_has "store schema 4 is older than this program's (7)" "old schema named"
[ "$(pq "SELECT version FROM tokenauth_schema")" = 4 ] && ok || bad "the schema 4 source was migrated"
[ -e "$W/etc/old4.db" ] && bad "a destination was made for a schema 4 source" || ok
# and as a destination (helper-53 F2): refused before any write, still at 4
rows=$(pq "SELECT (SELECT count(*) FROM tokens) || ':' || (SELECT count(*) FROM throttle)")
expect 2 "copy into a schema 4 PostgreSQL store" -- ta store copy --force "$D" "$P"
err_has "destination: $P: store schema 4 is older than this program's (7)" "old destination named"
[ "$(pq "SELECT version FROM tokenauth_schema")" = 4 ] && ok ||
	bad "the schema 4 destination was migrated"
[ "$(pq "SELECT (SELECT count(*) FROM tokens) || ':' || (SELECT count(*) FROM throttle)")" = "$rows" ] &&
	ok || bad "the schema 4 destination was written"
pq "UPDATE tokenauth_schema SET version = 7" >/dev/null || bad "marking the store schema 7 again"

# --- the server stopped between two copies: exit 3, the SQLite side untouched --------
expect 0 "a copy to compare" -- ta store copy "$D" "$W/etc/cmp.db"
# stopped as cluster.sh runs it: as the owner of its folder (the server refuses root)
if [ "$(id -u)" -eq 0 ]; then
	runuser -u "${TA_PG_OS_USER:-nobody}" -- "$PGBIN/pg_ctl" -D "$W/pg/srv/data" -m fast -w stop >/dev/null
else
	"$PGBIN/pg_ctl" -D "$W/pg/srv/data" -m fast -w stop >/dev/null
fi || bad "pg_ctl stop"
expect 3 "copy from a stopped PostgreSQL" -- ta store copy --force "$P" "$D"
err_has "source" "names the source"
sqlite3 "$D" "SELECT count(*) FROM tokens" >"$W/n" && [ "$(cat "$W/n")" = 3 ] && ok ||
	bad "the SQLite destination changed"
summary "check-pg copy"
