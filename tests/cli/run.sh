#!/bin/sh
# CLI tests: every verb, every exit status, the bad inputs next to the good.
# Usage: run.sh path/to/tokenauth
set -u
TA=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/ta-cli-XXXXXX)
trap 'umount "$W/ro" 2>/dev/null; chmod -R u+rwx "$W" 2>/dev/null; rm -rf "$W"' EXIT
chmod 0700 "$W"
C="$W/ta.conf"
printf 'store = %s/db/tokenauth.db\nkey_file = %s/master.key\n' "$W" "$W" >"$C"
chmod 0600 "$C"
ta() { "$TA" -c "$C" "$@"; }
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP

# --- usage and help ----------------------------------------------------------
expect 0 "global help" -- "$TA" --help
out_has "Exit status" "help mentions exit status"
for v in init issue add revoke list verify unlock; do
	expect 0 "$v --help" -- ta "$v" --help
	out_has "Usage: tokenauth $v" "$v help"
done
expect 0 "otp --help" -- ta otp --help
expect 2 "no verb" -- "$TA"
expect 2 "unknown verb" -- ta frobnicate
err_has "unknown verb 'frobnicate'" "names the verb"
expect 2 "unknown option" -- ta issue --user a --bogus
expect 2 "otp without action" -- ta otp
expect 2 "otp unknown action" -- ta otp rotate

# --- missing store before init -------------------------------------------------
expect 3 "issue without a store" -- ta issue --user alice
err_has "does not exist" "missing store named"
echo x | expect 3 "verify without a store" -- ta verify --user alice

# --- config errors -------------------------------------------------------------
printf 'store = %s/db/tokenauth.db\nwindow = 3\n' "$W" >"$W/bad.conf"
expect 2 "unknown config key" -- "$TA" -c "$W/bad.conf" list
err_has "bad.conf:2: unknown option 'window'" "names key and line"
expect 2 "missing config file" -- "$TA" -c "$W/none.conf" list
err_has "does not exist" "missing config named"
expect 0 "help works with a bad config" -- "$TA" -c "$W/bad.conf" issue --help
expect 3 "list without a store" -- ta list
[ -s "$W/out" ] && bad "list printed a header before failing" || ok
err_has "tokenauth init" "hint to run init"

# --- init ----------------------------------------------------------------------
expect 0 "init" -- ta init
err_has "created" "init reports creation"
[ "$(stat -c %a "$W/db")" = 700 ] && ok || bad "store folder not 0700"
[ "$(stat -c %a "$W/db/tokenauth.db")" = 600 ] && ok || bad "store not 0600"
[ "$(stat -c %a "$W/master.key")" = 600 ] && ok || bad "key not 0600"
expect 0 "init again keeps both" -- ta init
err_has "exists, checked" "init is idempotent"

# --- issue / verify ------------------------------------------------------------
expect 0 "issue" -- ta issue --user alice --tenant acme --ttl 8h --param file=/x --param server=s1
TOK=$(cat "$W/out")
[ "$(wc -l <"$W/out")" -eq 1 ] && ok || bad "issue prints more than the token on stdout"
case $TOK in tka_*) ok ;; *) bad "token lacks prefix: $TOK" ;; esac
err_has "id: " "details on stderr"
echo "$TOK" | expect 0 "valid token" -- ta verify --user alice --tenant acme
out_has "valid" "verify says valid"
echo "$TOK" | expect 1 "token, wrong tenant" -- ta verify --user alice --tenant other
echo "$TOK" | expect 1 "token, wrong user" -- ta verify --user bob --tenant acme
echo "${TOK}x" | expect 1 "typo in token" -- ta verify --user alice --tenant acme
echo "whatever" | expect 1 "unknown user" -- ta verify --user nosuchuser
err_has "user has no credential" "unknown user reason"
grep -qF "$TOK" "$W/err" && bad "token printed in log" || ok
expect 2 "verify without --user" -- ta verify </dev/null
printf '' | expect 2 "verify with empty stdin" -- ta verify --user alice
printf 'a\nb\n' | expect 2 "verify with two lines" -- ta verify --user alice
# 600 bytes reach the core's gate (a JWT may be 8 KiB), which refuses them by
# name; past the JWT cap the CLI refuses the input itself
head -c 600 /dev/zero | tr '\0' a | expect 1 "verify with a 600-byte credential" -- ta verify --user alice
err_has "longer than 512 bytes" "the gate names the cap"
head -c 9000 /dev/zero | tr '\0' a | expect 2 "verify with oversized input" -- ta verify --user alice
echo "$TOK" | expect 2 "verify with control char in user" -- ta verify --user "$(printf 'a\tb')"

expect 0 "issue --json" -- ta issue --user carol --json --param k=v --ttl never
out_has '"token":"tka_' "json token"
out_has '"expiration_time":0' "never expires"
out_has '"params":{"k":"v"}' "json params"
for bad_ttl in 5y abc -1 0 ""; do
	expect 2 "malformed ttl '$bad_ttl'" -- ta issue --user alice --ttl "$bad_ttl"
done
err_has "--ttl" "ttl error names the option"
expect 2 "issue without --user" -- ta issue
expect 2 "reserved param" -- ta issue --user a --param userAccount=x
expect 2 "param without =" -- ta issue --user a --param novalue

# --- expiry ----------------------------------------------------------------------
expect 0 "short-lived token" -- ta issue --user dave --ttl 1s
SHORT=$(cat "$W/out")
sleep 2
echo "$SHORT" | expect 1 "expired token" -- ta verify --user dave
err_has "expired" "expiry reason"

# --- add (imported token) -------------------------------------------------------
echo "CEC-external-token-0123456789" | expect 0 "add imported token" -- ta add --user erin --tenant t9
echo "CEC-external-token-0123456789" | expect 0 "imported token valid" -- ta verify --user erin --tenant t9
echo "CEC-external-token-0123456789" | expect 2 "add duplicate" -- ta add --user erin --tenant t9
echo "short" | expect 2 "add too short" -- ta add --user erin
echo "$TOK" | expect 2 "add our own format" -- ta add --user erin
expect 2 "add with empty stdin" -- ta add --user erin </dev/null

# --- list ------------------------------------------------------------------------
expect 0 "list" -- ta list
out_has "alice" "list shows user"
out_has "acme" "list shows tenant"
grep -q "tka_" "$W/out" && bad "list prints a token" || ok
grep -q "CEC-external" "$W/out" && bad "list prints an imported token" || ok
expect 0 "list --json" -- ta list --json --user alice
out_has '"userAccount":"alice"' "json list"
ID=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "$W/out")

# --- revoke ----------------------------------------------------------------------
expect 0 "revoke by id" -- ta revoke "$ID"
echo "$TOK" | expect 1 "revoked token" -- ta verify --user alice --tenant acme
err_has "revoked" "revocation reason"
expect 2 "revoke unknown id" -- ta revoke ffffffffffff
err_has "no token with id" "names the id"
expect 0 "revoke all of a user" -- ta revoke --user carol
err_has "1 token(s) revoked" "count"
expect 2 "revoke with nothing" -- ta revoke
expect 2 "revoke --tenant with --all-tenants" -- ta revoke --user carol --tenant x --all-tenants
err_has "exclude each other" "conflict named"
expect 0 "list one tenant" -- ta list --user bob --tenant t9
grep -q "erin" "$W/out" && bad "list --user bob shows erin" || ok
expect 0 "list --user erin --tenant t9" -- ta list --user erin --tenant t9 --json
out_has '"tenantSpaceId":"t9"' "tenant filter keeps t9"
expect 0 "list --user erin --tenant other" -- ta list --user erin --tenant other --json
grep -q '"t9"' "$W/out" && bad "tenant filter leaks t9" || ok
expect 2 "list --tenant without --user" -- ta list --tenant t9

# --- OTP: enrol with an existing secret, oathtool codes once each ---------------------
echo "$SECRET" | expect 0 "otp enroll --secret-stdin" -- ta otp enroll --user frank --secret-stdin --no-qr
out_has "otpauth://totp/tokenauth:frank?secret=$SECRET" "key uri"
echo "$SECRET" | expect 2 "otp enroll twice" -- ta otp enroll --user frank --secret-stdin --no-qr
err_has "already has an OTP secret" "duplicate enrolment"
CODE=$(oathtool --totp -b "$SECRET")
echo "$CODE" | expect 0 "oathtool TOTP code" -- ta verify --user frank
echo "$CODE" | expect 1 "replayed TOTP code" -- ta verify --user frank
err_has "already used" "replay reason"
grep -q "$CODE" "$W/err" && bad "code printed in log" || ok
echo "ABC1DEF" | expect 2 "bad base32" -- ta otp enroll --user gina --secret-stdin --no-qr
err_has "not valid base32" "base32 error"
echo "MZXW6YTB" | expect 2 "base32 secret too short" -- ta otp enroll --user gina --secret-stdin --no-qr
expect 2 "bad digits" -- ta otp enroll --user gina --digits 9
expect 2 "bad algorithm" -- ta otp enroll --user gina --algorithm MD5
expect 2 "bad period" -- ta otp enroll --user gina --period 0

# HOTP, 8 digits (oathtool's HOTP is SHA1 only)
echo "$SECRET" | expect 0 "hotp enroll" -- ta otp enroll --user hank --hotp --digits 8 --secret-stdin --no-qr
out_has "otpauth://hotp/" "hotp uri"
for c in 0 1; do
	HC=$(oathtool --hotp -d 8 -b -c $c "$SECRET")
	echo "$HC" | expect 0 "hotp code $c" -- ta verify --user hank
done
echo "$HC" | expect 1 "hotp replay" -- ta verify --user hank
# TOTP with SHA256 and SHA512, 8 digits
for alg in SHA256 SHA512; do
	echo "$SECRET" | expect 0 "totp $alg enroll" -- ta otp enroll --user "t$alg" --digits 8 --algorithm $alg --secret-stdin --no-qr
	TC=$(oathtool --totp=$alg -d 8 -b "$SECRET")
	echo "$TC" | expect 0 "totp $alg code" -- ta verify --user "t$alg"
	echo "$TC" | expect 1 "totp $alg replay" -- ta verify --user "t$alg"
done

# --replace keeps the TOTP replay state: the code accepted above stays used
echo "$SECRET" | expect 0 "otp enroll --replace" -- ta otp enroll --user frank --secret-stdin --no-qr --replace
echo "$CODE" | expect 1 "replay still refused after --replace" -- ta verify --user frank

# generated secret + QR code
expect 0 "otp enroll generated, with QR" -- ta otp enroll --user ivan --issuer "ACME Corp" --qr
out_has "otpauth://totp/ACME%20Corp:ivan?secret=" "generated uri"
grep -q "█" "$W/out" && ok || bad "no QR code drawn"
expect 0 "otp enroll --json" -- ta otp enroll --user judy --json --algorithm SHA512
out_has '"uri":"otpauth://totp/' "json uri"
expect 0 "otp remove" -- ta otp remove --user judy
expect 2 "otp remove again" -- ta otp remove --user judy

# --- secrets are not in the store in plaintext ------------------------------------
DB="$W/db/tokenauth.db"
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null 2>&1
RAW=$(echo "$SECRET" | base32 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
for f in "$DB" "$DB-wal"; do
	[ -f "$f" ] || continue
	file_lacks "$f" "$SECRET" "the base32 OTP secret"
	file_lacks "$f" "Hello!" "the raw OTP secret"
	file_lacks "$f" "$TOK" "an issued token"
	file_lacks "$f" "CEC-external-token" "an imported token"
	od -An -tx1 "$f" | tr -d ' \n' | grep -q "$RAW" && bad "raw secret bytes in $f" || ok
done

# --- lockout and unlock --------------------------------------------------------------
expect 0 "issue for lockout" -- ta issue --user kim
KT=$(cat "$W/out")
for i in 1 2 3 4 5; do echo "wrong-$i" | expect 1 "failure $i" -- ta verify --user kim; done
echo "$KT" | expect 1 "locked after 5 failures" -- ta verify --user kim
err_has "locked" "lock reason"
expect 0 "unlock" -- ta unlock --user kim
err_has "unlocked" "unlock said so"
echo "$KT" | expect 0 "valid after unlock" -- ta verify --user kim
expect 0 "unlock a user that is not locked" -- ta unlock --user kim
err_has "was not locked" "no-op unlock"
expect 2 "unlock without --user" -- ta unlock

# --- pam_oath import ---------------------------------------------------------------------
cat >"$W/users.oath" <<EOT
# pam_oath users file
HOTP leo - 3132333435363738393031323334353637383930 1 287082 2026-01-02T03:04:05L
HOTP/T30 mia - 3132333435363738393031323334353637383930
HOTP ned 4321 3132333435363738393031323334353637383930
HOTP/T30/9 oli - 3132333435363738393031323334353637383930
EOT
chmod 600 "$W/users.oath"
expect 2 "import-oath with bad lines" -- ta otp import-oath "$W/users.oath"
err_has "users.oath:4: skipped: user ned has a PIN" "PIN line reported"
err_has "users.oath:5: skipped: unknown token type" "bad type reported"
err_has "2 user(s) imported, 2 line(s) skipped" "counts"
echo 287082 | expect 1 "imported HOTP counter kept (old code refused)" -- ta verify --user leo
echo 359152 | expect 0 "imported HOTP next code" -- ta verify --user leo
MC=$(oathtool --totp 3132333435363738393031323334353637383930)
echo "$MC" | expect 0 "imported TOTP" -- ta verify --user mia
expect 2 "import-oath missing file" -- ta otp import-oath "$W/none"
chmod 0666 "$W/users.oath"
expect 2 "import-oath world-writable file" -- ta otp import-oath "$W/users.oath"
err_has "writable by group or others" "unsafe input file named"
chmod 0600 "$W/users.oath"
expect 2 "import-oath no file" -- ta otp import-oath
# Counters near the top of 64 bits (issue 9): refused by value, not wrapped.
H=3132333435363738393031323334353637383930
cat >"$W/big.oath" <<EOT
HOTP pat - $H 9223372036854775807
HOTP quin - $H 4611686018427387904
HOTP ros - $H 18446744073709551616
HOTP sue - $H 12abc
HOTP sam - $H 4611686018427387903 $(oathtool --hotp -c 4611686018427387903 $H)
EOT
chmod 600 "$W/big.oath"
expect 2 "import-oath with counters out of range" -- ta otp import-oath "$W/big.oath"
err_has "big.oath:1: skipped: counter 9223372036854775807 is too large (must be below 2^62 = 4611686018427387904)" "INT64_MAX counter named"
err_has "big.oath:2: skipped: counter 4611686018427387904 is too large" "2^62 counter named"
err_has "big.oath:3: skipped: counter 18446744073709551616 is too large" "2^64 counter named"
err_has "big.oath:4: skipped: counter '12abc' is not a number" "malformed counter named"
err_has "1 user(s) imported, 4 line(s) skipped" "counts"
C62=$(oathtool --hotp -c 4611686018427387904 $H)
echo "$C62" | expect 0 "largest imported counter: next code accepted" -- ta verify --user sam
echo "$C62" | expect 1 "largest imported counter: same code refused" -- ta verify --user sam
echo "$(oathtool --hotp -c 9223372036854775807 $H)" |
	expect 1 "refused line not enrolled" -- ta verify --user pat
# A wrapped (negative) counter left by an older version is damage, not counter 0.
sqlite3 "$DB" "UPDATE otp SET next=-1 WHERE user='sam'" || bad "sqlite3 update"
echo "$(oathtool --hotp -c 0 $H)" | expect 3 "wrapped counter refused as damage" -- ta verify --user sam
err_has "damaged" "damage named"
expect 0 "the damaged secret can be removed" -- ta otp remove --user sam

# --- store and key safety ----------------------------------------------------------------
chmod 0666 "$DB"
echo "$KT" | expect 3 "world-writable store" -- ta verify --user kim
err_has "writable by group or others" "insecure store named"
chmod 0600 "$DB"
mv "$DB" "$W/db/real.db"
ln -s "$W/db/real.db" "$DB"
echo "$KT" | expect 3 "store is a symlink" -- ta verify --user kim
err_has "symbolic link" "symlink named"
rm "$DB"
mv "$W/db/real.db" "$DB"
chmod 0644 "$W/master.key"
echo "$MC" | expect 3 "world-readable master key" -- ta verify --user mia
err_has "readable by others" "key perms named"
chmod 0600 "$W/master.key"
cp "$W/master.key" "$W/key.bak"
printf 'not-a-key\n' >"$W/master.key"
echo 123456 | expect 3 "unreadable (malformed) master key" -- ta verify --user mia
err_has "expected 64 hex" "key format named"
cp "$W/key.bak" "$W/master.key"
echo "garbage garbage garbage garbage garbage" >"$W/db/junk.db"
chmod 600 "$W/db/junk.db"
echo "$KT" | expect 3 "corrupt store" -- ta --store "$W/db/junk.db" verify --user kim
err_has "not a tokenauth store" "corruption named"

# --- store copy (SQLite -> SQLite) -------------------------------------------------------
mkdir -m 0700 "$W/cp"
S="$W/cp/src.db" D="$W/cp/dst.db"
printf 'store = %s\nkey_file = %s/master.key\n' "$S" "$W" >"$W/cp.conf"
chmod 0600 "$W/cp.conf"
tc() { "$TA" -c "$W/cp.conf" "$@"; }
td() { "$TA" -c "$W/cp.conf" --store "$D" "$@"; }
# every row as stored, one table per line, hashes and sealed secrets in hex
dump() {
	sqlite3 "$1" "SELECT hex(hash),id,user,tenant,kind,created,expires,revoked,params FROM tokens ORDER BY hash;
		SELECT user,tenant,type,alg,digits,period,next,created,hex(secret) FROM otp ORDER BY user,tenant;
		SELECT user,tenant,failures,lockouts,locked_until,updated FROM throttle ORDER BY user,tenant;"
}
expect 0 "copy: init source" -- tc init
expect 0 "copy: issue" -- tc issue --user alice --tenant acme --param k=v
CT=$(cat "$W/out")
expect 0 "copy: issue to revoke" -- tc issue --user rex
RT=$(cat "$W/out")
expect 0 "copy: revoke" -- tc revoke --user rex
expect 0 "copy: issue to lock" -- tc issue --user kim
KT=$(cat "$W/out")
for i in 1 2 3 4 5; do echo "wrong-$i" | expect 1 "copy: failure $i" -- tc verify --user kim; done
echo "$SECRET" | expect 0 "copy: totp enroll" -- tc otp enroll --user frank --secret-stdin --no-qr
FC=$(oathtool --totp -b "$SECRET")
echo "$FC" | expect 0 "copy: TOTP code used on the source" -- tc verify --user frank
echo "$SECRET" | expect 0 "copy: hotp enroll" -- tc otp enroll --user hank --hotp --secret-stdin --no-qr
H0=$(oathtool --hotp -b -c 0 "$SECRET")
H1=$(oathtool --hotp -b -c 1 "$SECRET")
echo "$H0" | expect 0 "copy: HOTP code used on the source" -- tc verify --user hank
dump "$S" >"$W/src.before"
NTHR=$(sqlite3 "$S" "SELECT count(*) FROM throttle")
expect 0 "store copy" -- tc store copy "$S" "$D"
out_has "^copied 3 tokens, 2 OTP secrets, $NTHR throttle rows from $S to $D\$" "counts line"
[ "$(wc -l <"$W/out")" -eq 1 ] && ok || bad "store copy prints one line"
[ "$(stat -c %a "$D")" = 600 ] && ok || bad "copied store not 0600"
dump "$S" >"$W/src.after"
cmp -s "$W/src.before" "$W/src.after" && ok || bad "store copy changed the source"
dump "$D" >"$W/dst.dump"
cmp -s "$W/src.after" "$W/dst.dump" && ok || bad "destination rows differ from the source's"
echo "$CT" | expect 0 "copy: token valid in destination" -- td verify --user alice --tenant acme
echo "$RT" | expect 1 "copy: revoked stays revoked" -- td verify --user rex
err_has "revoked" "revocation reason"
echo "$FC" | expect 1 "copy: used TOTP code refused in destination" -- td verify --user frank
echo "$H0" | expect 1 "copy: used HOTP code refused in destination" -- td verify --user hank
echo "$H1" | expect 0 "copy: next HOTP code accepted in destination" -- td verify --user hank
echo "$KT" | expect 1 "copy: locked user stays locked" -- td verify --user kim
err_has "locked" "lock reason"
# a non-empty destination: refused, and left exactly as it was
dump "$D" >"$W/dst.before"
expect 2 "store copy into a non-empty store" -- tc store copy "$S" "$D"
err_has "destination $D is not empty" "names the destination"
err_has "force" "says how to merge"
dump "$D" >"$W/dst.after"
cmp -s "$W/dst.before" "$W/dst.after" && ok || bad "refused copy changed the destination"
# --force: the source's rows win, the destination's own rows stay
expect 0 "copy: issue in destination only" -- td issue --user dora
DT=$(cat "$W/out")
expect 0 "copy: issue new source token" -- tc issue --user nora
NT=$(cat "$W/out")
expect 0 "store copy --force" -- tc store copy --force "$S" "$D"
out_has "copied 4 tokens" "counts with --force"
echo "$NT" | expect 0 "copy --force: new source token valid" -- td verify --user nora
echo "$DT" | expect 0 "copy --force: destination's own token kept" -- td verify --user dora
echo "$H1" | expect 0 "copy --force: source's HOTP counter back (the source's row wins)" -- td verify --user hank
expect 0 "store copy --json" -- tc store copy --json "$S" "$W/cp/j.db"
out_has '"tokens":4,"otp":2,"throttle":' "json counts"
out_has "\"destination\":\"$W/cp/j.db\"" "json names the destination"
# one store under two names: refused before anything is opened for writing
dump "$S" >"$W/src.before"
expect 2 "store copy onto itself" -- tc store copy "$S" "$S"
err_has "are the same store" "same store named"
expect 2 "store copy onto itself, another path" -- tc store copy "$S" "$W/cp/../cp/src.db"
ln -s "$S" "$W/cp/link.db"
expect 2 "store copy onto a link to the source" -- tc store copy "$S" "$W/cp/link.db"
err_has "are the same store" "link seen as the same store"
dump "$S" >"$W/src.after"
cmp -s "$W/src.before" "$W/src.after" && ok || bad "a refused copy onto itself changed the source"
# a destination that is a link to another store: refused, that store untouched
expect 0 "copy: a store elsewhere" -- tc store copy "$S" "$W/cp/other.db"
dump "$W/cp/other.db" >"$W/other.before"
ln -s "$W/cp/other.db" "$W/cp/dlink.db"
expect 3 "store copy into a symbolic link" -- tc store copy --force "$S" "$W/cp/dlink.db"
err_has "symbolic link" "symlink named"
dump "$W/cp/other.db" >"$W/other.after"
cmp -s "$W/other.before" "$W/other.after" && ok || bad "store behind a link changed"
# a missing source: refused, and no destination made
expect 2 "store copy from a missing store" -- tc store copy "$W/cp/none.db" "$W/cp/new.db"
err_has "source: $W/cp/none.db: does not exist" "missing source named"
[ -e "$W/cp/new.db" ] && bad "a destination was created for a missing source" || ok
# a source at an older schema (schema 4, as it was before the capped flag):
# migrating it would write it, and an older node may still use it; refused
# with the way out named, the file untouched, and no destination made
expect 0 "copy: a source to take back to schema 4" -- tc store copy "$S" "$W/cp/old.db"
sqlite3 "$W/cp/old.db" "DROP TRIGGER throttle_enrolled_otp; DROP TRIGGER throttle_enrolled_token;
	DROP TRIGGER throttle_capped_ins; DROP TRIGGER throttle_capped_del;
	DROP TRIGGER throttle_capped_upd; DROP TABLE throttle_cap_count; DROP INDEX throttle_evict;
	ALTER TABLE throttle DROP COLUMN capped; PRAGMA user_version=4;
	PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || bad "making a schema 4 store"
sha_old=$(sha256sum <"$W/cp/old.db")
expect 2 "store copy from a schema 4 store" -- tc store copy "$W/cp/old.db" "$W/cp/new.db"
err_has "source: $W/cp/old.db: store schema 4 is older than this program's (7)" "old schema named"
err_has "tokenauth init" "the way out named"
[ "$(sha256sum <"$W/cp/old.db")" = "$sha_old" ] && ok || bad "the schema 4 source was written"
[ "$(sqlite3 "$W/cp/old.db" "PRAGMA user_version")" = 4 ] && ok || bad "the schema 4 source was migrated"
[ -e "$W/cp/new.db" ] && bad "a destination was created for a schema 4 source" || ok
# the same store as a destination: refused before anything is written, even
# with --force (migrating it would stop older nodes, helper-53 F2)
expect 2 "store copy into a schema 4 store" -- tc store copy --force "$S" "$W/cp/old.db"
err_has "destination: $W/cp/old.db: store schema 4 is older than this program's (7)" \
	"old destination schema named"
[ "$(sha256sum <"$W/cp/old.db")" = "$sha_old" ] && ok || bad "the schema 4 destination was written"
[ "$(sqlite3 "$W/cp/old.db" "PRAGMA user_version")" = 4 ] && ok ||
	bad "the schema 4 destination was migrated"
# migrated on purpose, it copies
expect 0 "init migrates the schema 4 store" -- tc --store "$W/cp/old.db" init
expect 0 "store copy from the migrated store" -- tc store copy "$W/cp/old.db" "$W/cp/new.db"
out_has "^copied $(sqlite3 "$S" "SELECT count(*) FROM tokens") tokens, 2 OTP secrets, $NTHR throttle rows" \
	"the migrated store's counts"
# the source is opened read-only (helper-53 F3): a source in rollback-journal
# mode stays so, byte for byte (before, it was switched to WAL), and a source
# on read-only media can be copied
expect 0 "copy: a source to journal" -- tc store copy "$S" "$W/cp/rb.db"
[ "$(sqlite3 "$W/cp/rb.db" "PRAGMA journal_mode=DELETE")" = delete ] || bad "journal mode DELETE"
sha_rb=$(cat "$W/cp/rb.db" | sha256sum)
expect 0 "store copy from a rollback-journal source" -- tc store copy "$W/cp/rb.db" "$W/cp/rb2.db"
[ "$(cat "$W/cp/rb.db" | sha256sum)" = "$sha_rb" ] && ok || bad "the rollback-journal source was written"
[ "$(sqlite3 "$W/cp/rb.db" "PRAGMA journal_mode")" = delete ] && ok ||
	bad "the rollback-journal source was switched to WAL"
[ -e "$W/cp/rb.db-wal" ] && bad "the rollback-journal source has a WAL" || ok
# read-only media: a read-only bind mount (root only; skipped elsewhere)
mkdir -m 0700 "$W/rosrc" "$W/ro"
if mount --bind "$W/rosrc" "$W/ro" 2>/dev/null && mount -o remount,bind,ro "$W/ro" 2>/dev/null; then
	umount "$W/ro"
	ro_copy() { # EXIT WHAT [SRC]: copy SRC ($W/ro/s.db), mounted read-only, to a new file
		mount --bind "$W/rosrc" "$W/ro" && mount -o remount,bind,ro "$W/ro" || bad "mount ($2)"
		rm -f "$W/cp/ro2.db"*
		expect "$1" "store copy from read-only media: $2" -- \
			tc store copy "${3:-$W/ro/s.db}" "$W/cp/ro2.db"
		umount "$W/ro"
	}
	all_rows() { out_has "^copied $NTOK tokens, 2 OTP secrets, $NTHR throttle rows" "all rows ($1)"; }
	expect 0 "copy: a source for read-only media" -- tc store copy "$S" "$W/rosrc/s.db"
	NTOK=$(sqlite3 "$S" "SELECT count(*) FROM tokens")
	ls "$W/rosrc/s.db-wal" "$W/rosrc/s.db-shm" >/dev/null 2>&1 || bad "the source's -wal and -shm"
	sha_ro=$(cat "$W/rosrc/s.db" "$W/rosrc/s.db-wal" | sha256sum)
	ro_copy 0 "with its -wal and -shm"
	all_rows "read-only media"
	[ "$(cat "$W/rosrc/s.db" "$W/rosrc/s.db-wal" | sha256sum)" = "$sha_ro" ] && ok ||
		bad "the source on read-only media changed"
	# no WAL index, commits in the WAL: refused (the file alone is not the store)
	rm -f "$W/rosrc/s.db-shm"
	ro_copy 3 "commits in the WAL, no -shm"
	err_has "its WAL holds commits and its index (-shm) is missing" "the missing index named"
	# the same with an older whole state in the file: refused, not copied stale
	sqlite3 "$W/rosrc/s.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null || bad "checkpoint"
	expect 0 "a commit left in the WAL" -- tc --store "$W/rosrc/s.db" issue --user walonly
	[ -s "$W/rosrc/s.db-wal" ] || bad "the WAL is empty"
	rm -f "$W/rosrc/s.db-shm"
	ro_copy 3 "an older state in the file, a commit in the WAL, no -shm"
	err_has "its WAL holds commits" "the WAL's commits named"
	[ -e "$W/cp/ro2.db" ] && bad "a destination was made from the stale file" || ok
	# no WAL index, nothing in the WAL: the file alone is the store
	sqlite3 "$W/rosrc/s.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null || bad "checkpoint"
	NTOK=$(sqlite3 "$W/rosrc/s.db" "SELECT count(*) FROM tokens")
	rm -f "$W/rosrc/s.db-shm"
	[ -s "$W/rosrc/s.db-wal" ] && bad "the WAL is not empty"
	ro_copy 0 "an empty WAL, no -shm"
	all_rows "the file alone"
	rm -f "$W/rosrc/s.db-wal"
	ro_copy 0 "no -wal, no -shm"
	all_rows "no WAL"
	# the file is read from the folder already checked, never by a URI: a
	# path starting '//' is the same file (helper-55 F3: "file://tmp/..."
	# made 'tmp' an authority, "//localhost/x" read /x)
	ro_copy 0 "a path starting //" "/$W/ro/s.db"
	all_rows "the // path"
	# and any name: '?', '#' and '%' stay in it
	mv "$W/rosrc/s.db" "$W/rosrc/s?mode=rw#%41.db"
	ro_copy 0 "a name with ? # %" "$W/ro/s?mode=rw#%41.db"
	all_rows "the odd name"
else
	echo "  skip: read-only media (no bind mount here)"
fi
# on writable media, a WAL index that cannot be opened (here a folder):
# SQLite reads the WAL without it, so the copy has the WAL's commits, and
# nothing of the source changes (helper-55: only read-only media may read
# the file alone)
mkdir -m 0700 "$W/wsrc"
expect 0 "copy: a source with a broken -shm" -- tc store copy "$S" "$W/wsrc/s.db"
expect 0 "a commit in its WAL" -- tc --store "$W/wsrc/s.db" issue --user walonly
rm -f "$W/wsrc/s.db-shm"
mkdir "$W/wsrc/s.db-shm"
sha_w=$(cat "$W/wsrc/s.db" "$W/wsrc/s.db-wal" | sha256sum)
expect 0 "store copy with a -shm that cannot be opened" -- tc store copy "$W/wsrc/s.db" "$W/cp/w2.db"
[ "$(sqlite3 "$W/cp/w2.db" "SELECT count(*) FROM tokens WHERE user='walonly'")" = 1 ] && ok ||
	bad "the WAL's commit was not copied"
[ "$(cat "$W/wsrc/s.db" "$W/wsrc/s.db-wal" | sha256sum)" = "$sha_w" ] && ok ||
	bad "the source with a broken -shm changed"
# spoiled WHAT SQL MESSAGE: a copy of $S spoiled by SQL behind our back is
# refused whole (exit 3, MESSAGE named, nothing left in the destination)
spoiled() {
	rm -f "$W/cp/evil.db"* "$W/cp/e2.db" "$W/cp/e2.db-wal" "$W/cp/e2.db-shm"
	expect 0 "copy: a source to spoil ($1)" -- tc store copy "$S" "$W/cp/evil.db"
	sqlite3 "$W/cp/evil.db" "$2" || bad "sqlite3 update ($1)"
	expect 3 "store copy of $1" -- tc store copy "$W/cp/evil.db" "$W/cp/e2.db"
	err_has "$3" "$1 named"
	[ "$(sqlite3 "$W/cp/e2.db" "SELECT count(*) FROM tokens")" = 0 ] && ok ||
		bad "partial copy left behind ($1)"
}
# a hostile source row (names are checked on insert; this one was written behind our back)
spoiled "a hostile row" "UPDATE throttle SET user='kim'||char(10)||'root' WHERE user='kim'" \
	"outside the grammar"
# a throttle time no program wrote (helper-53 F4: near 2^63 the eviction
# rank overflowed in PostgreSQL), and a negative one
for v in 9223372036854775000 -5; do
	spoiled "a throttle time $v" "UPDATE throttle SET locked_until=$v WHERE user='kim'" \
		"a time outside 1970-01-01..9999-12-31"
done
# hostile parameters: a name /verify emits itself, a case twin, raw control
# bytes (printed by 'tokenauth list'), not an object; on 7957fc2 all were copied
for p in '{"userAccount":"root"}' '{"a":"1","A":"2"}' "{\"m\":\"$(printf '\033[2J')\"}" '[1]' '{"a":1}'; do
	spoiled "hostile parameters $p" \
		"UPDATE tokens SET params='$p' WHERE id=(SELECT min(id) FROM tokens)" \
		"parameters that tokenauth would not store"
done
# usage
expect 0 "store copy --help" -- tc store copy --help
out_has "Usage: tokenauth store copy" "store copy help"
expect 0 "store --help" -- tc store --help
expect 2 "store without action" -- tc store
expect 2 "store unknown action" -- tc store move "$S" "$D"
err_has "unknown action 'move'" "names the action"
expect 2 "store copy with one store" -- tc store copy "$S"
err_has "expected SRC and DST" "says what is missing"
expect 2 "store copy with three stores" -- tc store copy "$S" "$D" "$W/x.db"
expect 2 "store copy with a relative path" -- tc store copy "$S" dst.db
err_has "absolute" "relative path refused"
expect 2 "store copy unknown option" -- tc store copy --bogus "$S" "$D"

summary cli
