# lib.sh - sourced by the check-pg scripts after setting NAME and HERE:
# fails (never skips) when the PostgreSQL server binaries are missing.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
	echo "$NAME: FAIL: PostgreSQL server binaries missing in $PGBIN; run 'make deps'" >&2
	exit 1
fi
