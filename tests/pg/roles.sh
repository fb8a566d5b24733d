#!/bin/sh
# check-pg: packaging/postgresql-roles.sql on a private cluster.  The file
# is run as the documented steps say (before and after tokenauth init);
# tokenauth_admin then administers the store and tokenauth_verify verifies
# tokens and OTP codes and keeps failure counters, but can neither issue,
# revoke, enroll nor change a token or a secret, even with psql in hand.
# Usage: roles.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NAME="check-pg roles"
. "$HERE/lib.sh"
ROLES="$HERE/../../packaging/postgresql-roles.sql"
pg_begin /tmp/ta-pgr-XXXXXX
S="$W/pg/srv"
command -v oathtool >/dev/null || { echo "$NAME: FAIL: oathtool missing" >&2; exit 1; }

# psql as ROLE on DB (the cluster trusts its own socket); never ~/.psqlrc
sql() {
	_role=$1 _db=$2
	shift 2
	env -u PGSERVICE -u PGPASSFILE "$PGBIN/psql" -X -q -h "$S" -U "$_role" -d "$_db" \
		-v ON_ERROR_STOP=1 "$@"
}
roles() { sql postgres postgres -v db=tarole -f "$ROLES"; }

expect 0 "roles file, first pass (roles and database)" -- roles
out_has "run tokenauth init as tokenauth_admin" "says what comes next"
expect 0 "roles file again before init (idempotent)" -- roles

for r in admin verify; do
	printf 'host=%s dbname=tarole user=tokenauth_%s\n' "$S" "$r" >"$W/etc/$r.dsn"
	printf 'store = postgresql:\nstore_dsn_file = %s/etc/%s.dsn\nkey_file = %s/etc/master.key\nmax_failures = 3\nlockout = 5m\n' \
		"$W" "$r" "$W" >"$W/$r.conf"
done
chmod 0600 "$W"/etc/*.dsn "$W"/*.conf
adm() { "$B/tokenauth" -c "$W/admin.conf" "$@"; }
ver() { "$B/tokenauth" -c "$W/verify.conf" "$@"; }
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP

expect 3 "init as tokenauth_verify: no right to create tables" -- ver init
err_has "permission denied" "names the missing privilege"
expect 0 "init as tokenauth_admin" -- adm init
expect 0 "issue as tokenauth_admin" -- adm issue --user alice --tenant acme
TOK=$(cat "$W/out")
expect 0 "issue for carol as tokenauth_admin" -- adm issue --user carol --tenant acme
echo "$SECRET" | expect 0 "otp enroll as tokenauth_admin" -- adm otp enroll --user frank --secret-stdin --no-qr
echo "$TOK" | expect 3 "verify before the second pass: no rights yet, unavailable" -- ver verify --user alice --tenant acme
expect 0 "roles file, second pass (grants)" -- roles
out_has "may now verify" "says the grants are in place"
expect 0 "roles file a third time (idempotent)" -- roles

# --- the verify role verifies ------------------------------------------------------
echo "$TOK" | expect 0 "token, as tokenauth_verify" -- ver verify --user alice --tenant acme
echo "${TOK}x" | expect 1 "wrong token, as tokenauth_verify" -- ver verify --user alice --tenant acme
CODE=$(oathtool --totp -b "$SECRET")
echo "$CODE" | expect 0 "TOTP code, as tokenauth_verify (counter moved)" -- ver verify --user frank
echo "$CODE" | expect 1 "the same TOTP code again, as tokenauth_verify" -- ver verify --user frank
# failure counting and lockout need the throttle rights
for _ in 1 2 3; do echo "${TOK}x" | ver verify --user carol --tenant acme >/dev/null 2>&1; done
echo "${TOK}x" | expect 1 "a locked user, as tokenauth_verify" -- ver verify --user carol --tenant acme
err_has "locked" "the lockout was recorded by the verify role"
expect 0 "list as tokenauth_verify (read-only)" -- ver list --user alice
ID=$(awk 'NR==2 {print $1}' "$W/out")

# --- and nothing else ------------------------------------------------------------
expect 3 "issue as tokenauth_verify" -- ver issue --user mallory --tenant acme
err_has "permission denied" "names the missing privilege"
expect 3 "revoke as tokenauth_verify" -- ver revoke "$ID"
echo "$SECRET" | expect 3 "otp enroll as tokenauth_verify" -- ver otp enroll --user mallory --secret-stdin --no-qr
expect 3 "otp remove as tokenauth_verify" -- ver otp remove --user frank
echo "$TOK" | expect 0 "the token still valid after the refused revoke" -- ver verify --user alice --tenant acme
# with psql and the verify role's own login: every write but the counter
# and the throttle rows is refused by the server
for q in "UPDATE tokens SET revoked = 0" "UPDATE tokens SET expires = 0" \
	"INSERT INTO tokens SELECT * FROM tokens" "DELETE FROM tokens" \
	"UPDATE otp SET secret = secret" "UPDATE otp SET type = type" "DELETE FROM otp" \
	"UPDATE tokenauth_schema SET version = version" "CREATE TABLE x(i int)" \
	"TRUNCATE throttle"; do
	expect 1 "psql as tokenauth_verify: $q" -- sql tokenauth_verify tarole -c "$q"
	err_has "permission denied" "$q refused by the server"
done
expect 0 "psql as tokenauth_verify: UPDATE otp SET next = next" -- \
	sql tokenauth_verify tarole -c "UPDATE otp SET next = next"
# a counter moved back would make a spent code good again (on 80e9bbf the
# verify role replayed a used TOTP code this way)
expect 1 "psql as tokenauth_verify: UPDATE otp SET next = 0 (a rewind)" -- \
	sql tokenauth_verify tarole -c "UPDATE otp SET next = 0"
err_has "only moves forward" "a rewind refused by the server"
echo "$CODE" | expect 1 "the spent TOTP code still refused after the attempted rewind" -- ver verify --user frank
echo "$SECRET" | expect 0 "otp enroll --replace as tokenauth_admin (the owner may lower it)" -- \
	adm otp enroll --user frank --secret-stdin --no-qr --replace
expect 0 "roles file once more (the trigger is replaced, idempotent)" -- roles
# what the verify role can still do, as SECURITY.md says: reset a
# user's failure count or lockout (the verify path itself must clear it
# after a success), and hold the writers' lock (every write fails closed)
expect 0 "psql as tokenauth_verify: DELETE FROM throttle (documented: resets lockouts)" -- \
	sql tokenauth_verify tarole -c "DELETE FROM throttle"
echo "${TOK}x" | expect 1 "carol no longer locked after the verify role deleted her row" -- ver verify --user carol --tenant acme
file_lacks "$W/err" "locked" "a lockout"
# no one else may even connect
expect 2 "psql as another role: no CONNECT on the database" -- sql tokenauth tarole -c "SELECT 1"
err_has "permission denied" "CONNECT revoked from PUBLIC"
summary "$NAME"
