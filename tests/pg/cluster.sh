#!/bin/sh
# A private PostgreSQL cluster for the tests: never the system one.
# Usage: cluster.sh start DIR | stop DIR | pause DIR | resume DIR
#   start: initdb into DIR/srv (as an unprivileged user when run as root:
#          the server refuses root), a server listening only on a Unix
#          socket in DIR/srv, a database and a role "tokenauth", and
#          DIR/dsn (0600, the caller's: a secret file the store checks)
#          naming them.
#   stop:  stop the server and remove DIR.
#   pause: stop the server (pg_ctl stop -m fast: sessions are cut, as in an
#          outage), keeping DIR; returns once it is down.
#   resume: start the paused server again with the same options; returns
#          once it accepts connections.
set -eu
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: cluster.sh start|stop|pause|resume DIR}
DIR=${2:?usage: cluster.sh start|stop|pause|resume DIR}

if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ] || [ ! -x "$PGBIN/postgres" ]; then
	echo "cluster.sh: PostgreSQL server binaries not found in $PGBIN; run 'make deps'" >&2
	exit 1
fi

# The server refuses to run as root: run it as the owner of DIR.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PGUSER_OS" -- "$@"
	else
		"$@"
	fi
}
PGUSER_OS=${TA_PG_OS_USER:-nobody}
# pg_ctl start, the same way for start and resume
server_start() {
	as_owner "$PGBIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories='$1' -c fsync=off" \
		start >/dev/null || { cat "$1/server.log" >&2; exit 1; }
}

case "$cmd" in
start)
	# A new folder of our own: an existing one (a name someone else could
	# have prepared, with srv a symbolic link) is refused.
	mkdir -m 0700 "$DIR" || { echo "cluster.sh: $DIR exists; give a new folder" >&2; exit 1; }
	mkdir -m 0700 "$DIR/srv"
	chmod 0711 "$DIR"
	if [ "$(id -u)" -eq 0 ]; then chown -h "$PGUSER_OS" "$DIR/srv"; fi
	S="$DIR/srv"
	as_owner "$PGBIN/initdb" -D "$S/data" -U postgres -A trust -E UTF8 --locale=C \
		>/dev/null || exit 1
	server_start "$S"
	as_owner "$PGBIN/psql" -X -q -h "$S" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE tokenauth LOGIN" -c "CREATE DATABASE tokenauth OWNER tokenauth" \
		>/dev/null || exit 1
	umask 077
	printf 'host=%s dbname=tokenauth user=tokenauth\n' "$S" >"$DIR/dsn"
	chmod 0600 "$DIR/dsn"
	;;
stop)
	pidf="$DIR/srv/data/postmaster.pid"
	if [ -f "$pidf" ]; then
		as_owner "$PGBIN/pg_ctl" -D "$DIR/srv/data" -m immediate -w stop >/dev/null 2>&1 || true
		# never remove the folder of a server still running: kill it first,
		# but only a postmaster of this cluster (the pid file is writable by
		# the server's user: -1, 0 or a stranger's pid must not be killed),
		# and as that user, never as root
		pid=$(head -1 "$pidf" 2>/dev/null || true)
		case "$pid" in '' | *[!0-9]* | 0*) pid= ;; esac
		if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$PGBIN/postgres")" ] &&
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $DIR/srv/data"; then
			as_owner kill -9 "$pid" 2>/dev/null || true
			for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		fi
	fi
	rm -rf "$DIR"
	;;
pause)
	[ -f "$DIR/srv/data/postmaster.pid" ] || { echo "cluster.sh: no server running in $DIR" >&2; exit 1; }
	as_owner "$PGBIN/pg_ctl" -D "$DIR/srv/data" -m fast -w -t 30 stop >/dev/null
	;;
resume)
	[ -d "$DIR/srv/data" ] || { echo "cluster.sh: no cluster in $DIR" >&2; exit 1; }
	server_start "$DIR/srv"
	;;
*)
	echo "usage: cluster.sh start|stop|pause|resume DIR" >&2
	exit 2
	;;
esac
