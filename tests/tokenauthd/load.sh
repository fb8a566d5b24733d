# load.sh - sourced by run.sh: a short wrk load against an ASan build, then
# the crash test (kill -9 under load, restart, integrity, no token lost).

TD_ASAN=$B/asan/tokenauthd
LOAD_SECS=${LOAD_SECS:-5}

# wrk_validate URL SECONDS: 64 connections; the summary lines go to $FIX/wrk.out
wrk_validate() {
	TA_CHECK_BODY=1 TA_BODY=$(triple "$TOK" alice acme) wrk -t2 -c64 -d"$2"s --timeout 5s \
	    -s "$HERE/validate.lua" "$1" >"$FIX/wrk.out" 2>&1
}
wrk_field() { sed -n "s/^$1: //p" "$FIX/wrk.out"; }

if [ -x "$TD_ASAN" ] && command -v wrk >/dev/null; then
	LPORT=$(free_port)
	conf load "listen = 127.0.0.1:$LPORT"
	TD=$TD_ASAN td_start asan "$FIX/load.conf" -r 0 || bad "ASan tokenauthd did not start"
	wrk_validate "http://127.0.0.1:$LPORT$VPATH" "$LOAD_SECS"
	n=$(wrk_field requests)
	check "ASan build: ${LOAD_SECS} s wrk at 64 connections, $n validations ($(wrk_field rps)/s, p99 $(wrk_field 'p99 ms') ms), every answer retCode 0" \
	    [ "${n:-0}" -gt 1000 -a "$(wrk_field 'bad answers')" = 0 -a "$(wrk_field 'socket errors')" = 0 ]
	td_stop asan
	check "ASan build: clean exit after the load (no leak report)" [ $? -eq 0 ]
	check "ASan build: no AddressSanitizer or UBSan report" \
	    sh -c "! grep -q 'AddressSanitizer\|runtime error\|LeakSanitizer' '$FIX/asan.log'"
else
	bad "load test: $TD_ASAN or wrk missing"
fi

# ---- crash: kill -9 while /generate writes and validate reads -------------------------------
CPORT=$(free_port)
conf crash "listen = 127.0.0.1:$CPORT" "admin_api_key_file = $FIX/admin.key"
td_start crash "$FIX/crash.conf" -r 0 || bad "crash tokenauthd did not start"
wrk_validate "http://127.0.0.1:$CPORT$VPATH" 4 &
wpid=$!
gen_loop() { # gen_loop N: issue tokens for user crashN; keep only fully answered ones
	while :; do
		{
			curl -s -m 5 -H "x-api-key: $ADMINKEY" -H "$CT" -d "{\"userAccount\":\"crash$1\",\"tenantSpaceId\":\"acme\"}" \
			    "http://127.0.0.1:$CPORT/generate"
			echo
		} | sed -n 's/^{"token":"\(tka_[A-Za-z0-9]*\)".*/\1/p' >>"$FIX/issued.$1"
	done
}
lpids=""
for i in 1 2 3 4; do
	gen_loop $i &
	lpids="$lpids $!"
done
# kill -9 once enough tokens were issued (at least 2 s, at most 20 s: a
# loaded machine issues fewer per second, and a fixed sleep made this flaky)
_w=0
while [ $_w -lt 200 ]; do
	sleep 0.1
	_w=$((_w + 1))
	[ $_w -ge 20 ] && [ "$(cat "$FIX"/issued.* 2>/dev/null | wc -l)" -gt 30 ] && break
done
td_stop crash KILL
kill $lpids 2>/dev/null
wait $lpids 2>/dev/null
wait $wpid 2>/dev/null
cat "$FIX"/issued.* >"$FIX/issued"
cat "$FIX/issued" >>"$FIX/secrets"
issued=$(wc -l <"$FIX/issued")
check "crash: tokens were being issued when kill -9 hit ($issued)" [ "$issued" -gt 20 ]
check "crash: tokenauthd restarts on the same store" td_start crash "$FIX/crash.conf" -r 0
check "crash: SQLite integrity_check ok" [ "$(sqlite3 "$FIX/db/tokenauth.db" 'PRAGMA integrity_check')" = ok ]
lost=0
for i in 1 2 3 4; do
	while read -r tok; do
		r=$(curl -s -H "$CT" -d "$(triple "$tok" "crash$i" acme)" "http://127.0.0.1:$CPORT$VPATH")
		[ "$r" = '{"retCode":0,"message":"validate success"}' ] || lost=$((lost + 1))
	done <"$FIX/issued.$i"
done
check "crash: every issued token still validates ($issued checked, $lost lost)" [ "$lost" = 0 ]
td_stop crash
