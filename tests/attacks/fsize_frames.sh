#!/bin/sh
# fsize_frames.sh BUILD - a file-size limit that falls between two frames
# of a commit in SQLite's write-ahead log.  Issue 10's last attack round:
# a wrong TOTP code's charge was two new pages (the throttle row and its
# index), a right code's spent counter one, so a limit one page past the
# log's end failed every wrong code uncounted ("unavailable") and let the
# right code in.  What must hold for every cut: no right code gets in
# where a wrong one goes uncounted, and a wrong one is either counted
# ("rejected") or refused unchecked ("unavailable").
set -u
B=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: fsize-frames: $*"; }
W=$(mktemp -d "${TMPDIR:-/tmp}/ta-fsize.XXXXXX") || exit 1
HOLD=
trap 'unhold; rm -rf "$W"' EXIT
cd "$W" || exit 1
printf 'store = %s/db/tokenauth.db\nkey_file = %s/master.key\nmode = otp\nmax_failures = 100\nlockout = 300\n' \
	"$W" "$W" >ta.conf
chmod 600 ta.conf
"$B/tokenauth" -c ta.conf init >/dev/null 2>&1 || { echo "fsize-frames: 0 passed, 1 failed (init)"; exit 1; }
S=$("$B/tokenauth" -c ta.conf otp enroll --user alice --no-qr 2>/dev/null | grep -o 'secret=[A-Z2-7]*' | cut -d= -f2)
[ -n "$S" ] || { echo "fsize-frames: 0 passed, 1 failed (enroll)"; exit 1; }
"$B/tokenauth" -c ta.conf otp enroll --user bob --no-qr >/dev/null 2>&1 ||
	{ echo "fsize-frames: 0 passed, 1 failed (enroll bob)"; exit 1; }
code() {
	python3 - "$S" "$1" <<'PY'
import base64, hashlib, hmac, struct, sys, time
s = sys.argv[1]; k = base64.b32decode(s + '=' * (-len(s) % 8))
h = hmac.new(k, struct.pack('>Q', int(time.time()) // 30), hashlib.sha1).digest(); o = h[-1] & 15
print('%06d' % (((struct.unpack('>I', h[o:o + 4])[0] & 0x7fffffff) + int(sys.argv[2])) % 10**6))
PY
}
failures() {
	python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(sum(r[0]+r[1] for r in c.execute(\"select failures,lockouts from throttle where user='alice'\")))" db/tokenauth.db
}
# the pristine store, its log checkpointed away: every attempt starts on
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1],isolation_level=None); c.execute('pragma wal_checkpoint(TRUNCATE)')" db/tokenauth.db
cp db/tokenauth.db pristine.db
# a copy of it, then one commit of bob's (so the log has frames, as a
# live store's has), and the cut placed past the log's end
fresh() {
	rm -f db/tokenauth.db-wal db/tokenauth.db-shm
	cp pristine.db db/tokenauth.db
	echo 000000 | "$B/tokenauth" -c ta.conf verify --user bob >/dev/null 2>&1
	unhold
	# a reader's snapshot keeps the next writer from rewinding the log
	python3 -c "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1],isolation_level=None); c.execute('begin'); c.execute('select 1 from throttle').fetchall(); print(1, flush=True); time.sleep(30)" db/tokenauth.db >hold.ready &
	HOLD=$!
	i=0
	while [ ! -s hold.ready ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	L=$(($(stat -c %s db/tokenauth.db-wal) + pages * 4120 + 1000))
}
unhold() {
	[ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null && wait "$HOLD" 2>/dev/null
	HOLD=
	rm -f hold.ready
}
v() { echo "$2" | sh -c "trap '' XFSZ; exec prlimit --fsize=$1:$1 $B/tokenauth -c ta.conf verify --user alice" >/dev/null 2>&1; echo $?; }
pages=0 cut_inside=0 let_in=0
while [ "$pages" -le 8 ]; do
	fresh
	wrong=$(v "$L" "$(code 7)")
	counted=$(failures)
	fresh
	right=$(v "$L" "$(code 0)")
	[ "$wrong" = 3 ] && cut_inside=1
	[ "$right" = 0 ] && let_in=1
	{ [ "$right" != 0 ] || { [ "$wrong" = 1 ] && [ "$counted" -gt 0 ]; }; } && ok ||
		bad "limit $pages pages past the log's end: the right code logged in, a wrong one answered $wrong, counted $counted"
	[ "$wrong" != 0 ] && ok || bad "limit $pages pages past the log's end: a wrong code logged in"
	{ [ "$wrong" = 1 ] && [ "$counted" -gt 0 ]; } || [ "$wrong" = 3 ] && ok ||
		bad "limit $pages pages past the log's end: a wrong code answered $wrong, counted $counted"
	pages=$((pages + 1))
done
[ "$cut_inside" = 1 ] && [ "$let_in" = 1 ] && ok ||
	bad "the cuts did not span a commit (inside: $cut_inside, past: $let_in)"
fresh
unhold
# without a limit: the right code logs in, once
r=$(echo "$(code 0)" | "$B/tokenauth" -c ta.conf verify --user alice >/dev/null 2>&1; echo $?)
[ "$r" = 0 ] && ok || bad "no limit: the right code answered $r"
echo "fsize-frames: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
