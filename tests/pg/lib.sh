# lib.sh - sourced by the check-pg scripts after setting NAME and HERE:
# fails (never skips) when the PostgreSQL server binaries are missing.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
	echo "$NAME: FAIL: PostgreSQL server binaries missing in $PGBIN; run 'make deps'" >&2
	exit 1
fi

# node_start N CONF: tokenauthd -c CONF in the foreground, in the
# background; its pid in $W/nN.pid, its log in $W/nN.log.  Returns once it
# logged "tokenauthd ready" (0), or 1 if it died or took over 10 s.
node_start() {
	"$B/tokenauthd" -c "$2" -f 2>"$W/n$1.log" &
	echo $! >"$W/n$1.pid"
	_i=0
	while [ $_i -lt 200 ] && ! grep -q "tokenauthd ready" "$W/n$1.log" 2>/dev/null; do
		kill -0 "$(cat "$W/n$1.pid")" 2>/dev/null || break
		sleep 0.05
		_i=$((_i + 1))
	done
	grep -q "tokenauthd ready" "$W/n$1.log" && return 0
	echo "$NAME: node $1 did not start: $(tail -3 "$W/n$1.log")" >&2
	return 1
}
# node_stop N [SIGNAL]: stop node N (TERM by default) and wait for it
node_stop() {
	[ -f "$W/n$1.pid" ] || return 0
	kill "-${2:-TERM}" "$(cat "$W/n$1.pid")" 2>/dev/null
	wait "$(cat "$W/n$1.pid")" 2>/dev/null
	rm -f "$W/n$1.pid"
}

# pg_begin TEMPLATE: the common start of a check-pg script (after NAME,
# HERE and B are set): a work folder W (mktemp TEMPLATE), a trap that on
# every exit kills the nodes and loads whose pids are in $W/n*.pid and
# $W/load.*.pid and stops the cluster; the assertion helpers; a private
# cluster in $W/pg; C, a configuration naming it (master key in $W/etc),
# and ta(), the CLI on it.  Exits when the cluster cannot be started.
pg_cleanup() {
	for _p in "$W"/n*.pid "$W"/load.*.pid; do
		[ -f "$_p" ] && kill -9 "$(cat "$_p")" 2>/dev/null
	done
	sh "$HERE/cluster.sh" stop "$W/pg"
	rm -rf "$W"
}
pg_begin() {
	W=$(mktemp -d "$1") || exit 1
	trap pg_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	chmod 0711 "$W"
	. "$HERE/../cli/lib.sh"
	: >"$W/results"
	sh "$HERE/cluster.sh" start "$W/pg" || { echo "$NAME: cannot start a cluster" >&2; exit 1; }
	TA="$B/tokenauth"
	C="$W/ta.conf"
	mkdir -m 0700 "$W/etc"
	printf 'store = postgresql:\nstore_dsn_file = %s/pg/dsn\nkey_file = %s/etc/master.key\n' \
		"$W" "$W" >"$C"
	chmod 0600 "$C"
}
ta() { "$TA" -c "$C" "$@"; }
