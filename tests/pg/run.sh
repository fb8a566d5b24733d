#!/bin/sh
# check-pg: the store conformance suite and the CLI end to end against a
# private PostgreSQL cluster (tests/pg/cluster.sh), removed on every path.
# Usage: run.sh BUILD_DIR
set -u
B=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NAME="check-pg"
. "$HERE/lib.sh"
pg_begin /tmp/ta-pg-XXXXXX

# --- the conformance suite, both engines ---------------------------------------
if TA_TEST_PG_DSN_FILE="$W/pg/dsn" "$B/tests/test_store_conformance" >"$W/conf.out" 2>&1; then
	ok
	grep -E "PASSED|SKIPPED|FAILED" "$W/conf.out" | sed 's/^/  /'
else
	bad "store conformance against PostgreSQL"
	sed 's/^/    /' "$W/conf.out" >&2
fi
grep -q "store conformance: postgresql" "$W/conf.out" || true
# a COMMIT or ROLLBACK that never reaches the server (tests/unit/test_pg_faults.c)
if TA_TEST_PG_DSN_FILE="$W/pg/dsn" "$B/tests/test_pg_faults" >"$W/faults.out" 2>&1; then
	ok
else
	bad "a transaction end that never reached the server"
	sed 's/^/    /' "$W/faults.out" >&2
fi

# --- the CLI against store = postgresql: ---------------------------------------------
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP

expect 3 "issue before init" -- ta issue --user alice
err_has "no tokenauth store" "missing schema named"
expect 0 "init" -- ta init
expect 0 "init again" -- ta init
expect 0 "issue" -- ta issue --user alice --tenant acme --ttl 8h
TOK=$(cat "$W/out")
echo "$TOK" | expect 0 "valid token" -- ta verify --user alice --tenant acme
echo "$TOK" | expect 1 "token, wrong user" -- ta verify --user bob --tenant acme
echo "${TOK}x" | expect 1 "typo in token" -- ta verify --user alice --tenant acme
expect 0 "list" -- ta list --user alice
ID=$(awk 'NR==2 {print $1}' "$W/out")
[ -n "$ID" ] && ok || bad "list shows the token id"
expect 0 "revoke" -- ta revoke "$ID"
echo "$TOK" | expect 1 "revoked token" -- ta verify --user alice --tenant acme
echo "$SECRET" | expect 0 "otp enroll" -- ta otp enroll --user frank --secret-stdin --no-qr
CODE=$(oathtool --totp -b "$SECRET")
echo "$CODE" | expect 0 "TOTP code" -- ta verify --user frank
echo "$CODE" | expect 1 "replayed TOTP code" -- ta verify --user frank
err_has "already used" "replay reason"
# the caller's PG* variables never reach libpq (sudo -E, a unit's
# Environment=): each of these would redirect or break the connection
PGHOSTADDR=192.0.2.1 PGOPTIONS='-c default_transaction_read_only=on' PGPASSFILE=/dev/null \
	PGSSLMODE=require PGTARGETSESSIONATTRS=standby PGCONNECT_TIMEOUT=1 \
	expect 0 "issue with hostile PG* variables set: the DSN file alone decides" -- \
	ta issue --user carol --tenant acme
# the DSN file is a secret: readable by others, it is refused
chmod 0644 "$W/pg/dsn"
echo "$TOK" | expect 3 "world-readable DSN file" -- ta verify --user alice --tenant acme
chmod 0600 "$W/pg/dsn"
# a server that is gone is an outage, never a verdict
mv "$W/pg/dsn" "$W/dsn.ok"
printf 'host=%s/nosuch dbname=tokenauth user=tokenauth\n' "$W" >"$W/pg/dsn"
chmod 0600 "$W/pg/dsn"
echo "$CODE" | expect 3 "server unreachable" -- ta verify --user frank
err_has "connect failed" "names the connect failure"
file_lacks "$W/err" "tokenauth init" "a hint to create a store file"
# a server that accepts the connection and then never answers (stopped, a
# hung disk, a man in the middle keeping the connection open): the login
# is unavailable within our own bound, never a hang (on 80e9bbf it hung
# for ever: every statement waited on libpq's blocking PQexec)
mkdir -m 0700 "$W/stall"
python3 "$HERE/stall_server.py" "$W/stall" "$W/load.stall.pid" &
_i=0
while [ ! -S "$W/stall/.s.PGSQL.5432" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
printf 'host=%s/stall dbname=tokenauth user=tokenauth\n' "$W" >"$W/pg/dsn"
_t0=$(date +%s)
echo "$CODE" | expect 3 "a server that stalls after the startup: unavailable" -- \
	timeout 40 "$TA" -c "$C" verify --user frank
_t=$(($(date +%s) - _t0))
[ "$_t" -le 25 ] && ok || bad "a stalled server bounded to about 15 s (took ${_t} s)"
err_has "no answer from the server" "says the server did not answer"
kill "$(cat "$W/load.stall.pid")" 2>/dev/null
# a DSN libpq cannot parse: a fixed message, never the string (libpq's own
# parse errors quote it, password and all)
for bad_dsn in 'postgresql://tokenauth:Sup3rS%ecret@[::1/tokenauth' \
	'host=/nowhere password=Sup3r Secret' 'sslmode= password=Sup3r host=/nowhere' \
	'host= password=Sup3r' 'port=5432password=Sup3r host=/nowhere' \
	'postgresql://tokenauth:Sup3r/x@db.invalid/tokenauth' \
	"host=$W/pg/srv user=tokenauth dbname= password=Sup3r" \
	"host=$W/pg/srv user=tokenauth dbname=tokenauth options= password=Sup3r" \
	"postgresql://tokenauth@/password=Sup3r?host=$W/pg/srv"; do
	printf '%s\n' "$bad_dsn" >"$W/pg/dsn"
	echo "$CODE" | expect 2 "malformed DSN (a configuration error)" -- ta verify --user frank
	err_has "DSN file" "says the DSN file is at fault"
	file_lacks "$W/err" "Sup3r" "the password"
done
# service= would read a service file nobody checked
printf 'service=tasvc\n' >"$W/pg/dsn"
echo "$CODE" | expect 2 "service= in the DSN (a configuration error)" -- ta verify --user frank
err_has "service= is not supported" "names service="
mv "$W/dsn.ok" "$W/pg/dsn"

# --- parallel guesses: exactly max_failures checked, across sessions ---------------------
# 8 processes (8 sessions) send 10 wrong codes each for one user at once;
# the failure count is a read-modify-write under that user's lock, so
# together they get exactly max_failures = 5 checks and the rest are
# refused as locked (never more checks, never a lost count); another user
# guessing beside them is not held up by that lock.
G="$W/guess.conf"
cp "$C" "$G" && printf 'max_failures = 5\nlockout = 1h\n' >>"$G" && chmod 0600 "$G"
"$B/tests/stress" "$G" setup racer 2 || bad "stress setup"
for i in 1 2 3 4 5 6 7 8; do
	("$B/tests/stress" "$G" guess racer0 10 "$W/gate" >"$W/guess.$i"; echo $? >"$W/guess.rc.$i") 2>>"$W/guess.log" &
done
("$B/tests/stress" "$G" guess racer1 3 "$W/gate" >"$W/guess.other") 2>>"$W/guess.log" &
sleep 0.5
touch "$W/gate"
wait
checked=$(cat "$W"/guess.[0-9]* | awk '{s += $1} END {print s + 0}')
rcs=$(cat "$W"/guess.rc.* | sort -u | tr -d '\n')
echo "  8 sessions x 10 wrong codes for one user (max_failures = 5): $checked checked"
if [ "$checked" = 5 ] && [ "$rcs" = 0 ]; then ok; else
	bad "parallel guesses: $checked checked (wanted 5), exit codes '$rcs'"
	head -5 "$W/guess.log" >&2
fi
if [ "$(cat "$W/guess.other")" = 3 ]; then ok; else bad "the other user: '$(cat "$W/guess.other")' of 3 checked"; fi
row=$(psql -X -qAt -h "$W/pg/srv" -U tokenauth -d tokenauth -c "SELECT failures || ',' || lockouts FROM throttle WHERE \"user\"='racer0'")
if [ "$row" = "0,1" ]; then ok; else bad "racer0's throttle row after the lockout: '$row' (wanted 0,1)"; fi

# --- schema 4 -> 7: the capped flag filled in, the eviction index ---------------------
# A store as schema 4 left it (no capped column), with a streak of frank
# (enrolled: an OTP secret) and of a made-up name: after the migration only
# the made-up name's row lives under the cap.  A row no program wrote (a
# time near 2^63, negative counts) is brought into range: before schema 7
# the eviction index could not rank it and the migration failed with
# "bigint out of range" (helper-53 F4).
q() { psql -X -qAt -v ON_ERROR_STOP=1 -h "$W/pg/srv" -U tokenauth -d tokenauth -c "$1"; }
q "ALTER TABLE throttle DROP COLUMN capped; DROP TRIGGER throttle_enrolled_otp ON otp;
   DROP TRIGGER throttle_enrolled_token ON tokens; UPDATE tokenauth_schema SET version = 4;
   INSERT INTO throttle(\"user\",tenant,failures,lockouts,locked_until,updated)
   VALUES ('frank','',2,0,0,1), ('ghost','',3,0,0,1),
          ('tampered','',-1,-3,9223372036854775000,-5)
   ON CONFLICT (\"user\",tenant) DO UPDATE SET failures = EXCLUDED.failures" >/dev/null ||
	bad "making a schema 4 store"
expect 0 "init migrates a schema 4 store" -- ta init
row=$(q "SELECT string_agg(\"user\" || ':' || capped, ' ' ORDER BY \"user\") FROM throttle
         WHERE \"user\" IN ('frank','ghost','racer0')")
if [ "$row" = "frank:0 ghost:1 racer0:0" ]; then ok; else
	bad "capped after the migration: '$row' (wanted frank:0 ghost:1 racer0:0)"
fi
row=$(q "SELECT failures || ':' || lockouts || ':' || locked_until || ':' || updated FROM throttle
         WHERE \"user\" = 'tampered'")
if [ "$row" = "0:0:253402300799:0" ]; then ok; else
	bad "the tampered row after the migration: '$row' (wanted 0:0:253402300799:0)"
fi
q "DELETE FROM throttle WHERE \"user\" = 'tampered'" >/dev/null || bad "removing the tampered row"
row=$(q "SELECT version FROM tokenauth_schema")$(q "SELECT count(*) FROM pg_indexes WHERE indexname = 'throttle_evict'")$(q "SELECT count(*) FROM pg_indexes WHERE indexname = 'throttle_capped'")
if [ "$row" = "710" ]; then ok; else bad "schema version, throttle_evict and throttle_capped indexes: '$row' (wanted 7, 1, 0)"; fi
# schema 6 -> 7: the index ranks the doubled wait from the lockout's end
# (helper-53 F1); a negative lockout count (shifted by a negative amount,
# read differently by the engines) becomes 0
q "DROP INDEX throttle_evict; CREATE INDEX throttle_evict ON throttle(capped,
   (GREATEST(locked_until,updated)+LEAST(3600<<LEAST(lockouts,5)::integer,86400))) WHERE capped=1;
   INSERT INTO throttle(\"user\",tenant,failures,lockouts,locked_until,updated,capped)
   VALUES ('negative','',1,-2,0,1,1); UPDATE tokenauth_schema SET version = 6" >/dev/null ||
	bad "making a schema 6 store"
expect 0 "init migrates a schema 6 store" -- ta init
row=$(q "SELECT version FROM tokenauth_schema"):$(q "SELECT lockouts FROM throttle WHERE \"user\" = 'negative'"):$(q "SELECT indexdef LIKE '%(updated + 3600)%' FROM pg_indexes WHERE indexname = 'throttle_evict'")
if [ "$row" = "7:0:t" ]; then ok; else bad "schema 6 -> 7: version, lockouts, new index: '$row' (wanted 7:0:t)"; fi
q "DELETE FROM throttle WHERE \"user\" = 'negative'" >/dev/null || bad "removing the negative row"
# the eviction's plan uses throttle_evict (one seek, however many rows)
plan=$(q "SET enable_seqscan = off; EXPLAIN DELETE FROM throttle WHERE (\"user\",tenant) IN (SELECT \"user\",tenant FROM throttle WHERE capped=1 AND GREATEST(locked_until+LEAST(3600<<LEAST(lockouts,5)::integer,86400),updated+3600)<=1 ORDER BY GREATEST(locked_until+LEAST(3600<<LEAST(lockouts,5)::integer,86400),updated+3600) LIMIT 1 FOR UPDATE SKIP LOCKED)")
case "$plan" in *throttle_evict*) ok ;; *) bad "the eviction does not use throttle_evict: $plan" ;; esac

# --- a token issued while a failure of the same user is being counted ------------
# (helper-50 F2) Another session holds newbie's lock, as charge_begin does,
# and writes newbie's first failure as a user not enrolled here (capped).
# The issue waits for that lock, so the trigger that marks the row enrolled
# runs after the failure's commit: the row is not left capped, as it was
# when the token went in beside the open failure.
q "SELECT 1" >/dev/null
(psql -X -qAt -h "$W/pg/srv" -U tokenauth -d tokenauth -c "BEGIN;
   SELECT pg_advisory_xact_lock(1416315253, hashtext('6:newbie')) FROM
     (SELECT pg_advisory_xact_lock_shared(1416315253::bigint) OFFSET 0) store_lock;
   INSERT INTO throttle(\"user\",tenant,failures,lockouts,locked_until,updated,capped)
     VALUES ('newbie','',2,0,0,extract(epoch FROM now())::bigint,1);
   SELECT pg_sleep(2) AS newbie_failure; COMMIT;" >/dev/null 2>"$W/holder.err") &
i=0
until [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%newbie_failure%' AND pid <> pg_backend_pid()")" = 1 ] ||
	[ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect 0 "issue while a failure of the same user is being counted" -- ta issue --user newbie
wait
row=$(q "SELECT failures || ':' || capped FROM throttle WHERE \"user\" = 'newbie'")
if [ "$row" = "2:0" ]; then ok; else
	bad "newbie's row after a token issued beside an open failure: '$row' (wanted 2:0)"
	cat "$W/holder.err" >&2
fi
summary "check-pg"
