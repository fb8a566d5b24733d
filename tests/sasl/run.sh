#!/bin/sh
# run.sh BUILD - every test of the SASL plugin (make check-sasl).
#
# Sections: exported symbols, saslpluginviewer, parser unit tests, the
# sample programs (samples.sh), our client against our server in one
# process (pair: tenant_from_user = no; split: = yes), 8 threads x 500 logins (plain, ASan+UBSan, valgrind), a short
# libFuzzer run, and as root the real daemons (e2e_*.sh).  Ends with
# "sasl: N passed, M failed"; exit status 1 when anything failed.
#   SASL_ONLY=e2e  run only the end-to-end scripts
#   FUZZ_TIME=N    seconds for the fuzzer (default 5)
set -u
B=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
only=${SASL_ONLY:-all}
. "$here/lib.sh"
log=$(mktemp /tmp/ta-sasl-log-XXXXXX)
trap 'rm -f "$log" "$log.out"; [ -n "${W:-}" ] && rm -rf "$W"' EXIT INT TERM

# run_part CMD...: run a script that prints ok/FAILED lines; show them.
run_part() {
	"$@" 2>&1 | tee -a "$log" | grep -E '^(ok|FAILED|SKIP) - |^threads:'
}

unit_and_loops() {
	exports=$(nm -D --defined-only "$B/libtokenauth.so" | awk '$2 == "T" {print $3}' | sort | tr '\n' ' ')
	check "libtokenauth.so exports exactly sasl_client_plug_init sasl_server_plug_init" \
	    [ "$exports" = "sasl_client_plug_init sasl_server_plug_init " ]
	# libpq and libcurl load only where the configuration needs them (common/lazy.c).
	needed=$(readelf -d "$B/libtokenauth.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	check "libtokenauth.so: libpq and libcurl are not load-time dependencies (NEEDED: $needed)" \
	    sh -c "! echo '$needed' | grep -q -e libpq -e libcurl"
	make_store
	for side in s c; do
		SASL_PATH=$W/plug saslpluginviewer -$side >"$W/view" 2>&1
		check "saslpluginviewer -$side lists OAUTHBEARER and XOAUTH2 from libtokenauth.so" \
		    sh -c "grep -q 'SASL mechanism: OAUTHBEARER' '$W/view' && grep -q 'SASL mechanism: XOAUTH2' '$W/view'"
	done
	check "parser unit tests (test_sasl_msg, cmocka)" sh -c "'$B/tests/sasl/test_sasl_msg' >>'$log' 2>&1"

	# Our client plugin against our server plugin, libsasl2 in one process.
	cp /usr/lib/*/sasl2/libsasldb.so* "$W/plug/" 2>/dev/null
	echo secret | saslpasswd2 -f "$W/sasldb2" -p -c shared 2>/dev/null
	echo secret | saslpasswd2 -f "$W/sasldb2" -p -c root 2>/dev/null
	SASL_LOOP_SASLDB=$W/sasldb2 "$B/tests/sasl/sasl_loop" pair "$W/plug" "$W/ta.conf" \
	    "$TOK_ALICE" "$TOK_BOB" "$TOK_ACME" | sed 's/^not ok - /FAILED - /'
	# The same server with tenant_from_user = yes: user@tenant identities.
	{ cat "$W/ta.conf"; echo 'tenant_from_user = yes'; } >"$W/ta-split.conf"
	TOK_EXCOM=$($TA issue --user alice --tenant example.com 2>/dev/null)
	TOK_ATTEN=$($TA issue --user alice --tenant ex@ample 2>/dev/null)
	SASL_LOOP_SASLDB=$W/sasldb2 "$B/tests/sasl/sasl_loop" split "$W/plug" "$W/ta-split.conf" \
	    "$TOK_ALICE" "$TOK_EXCOM" "$TOK_ATTEN" | sed 's/^not ok - /FAILED - /'
	mkdir -p "$W/plug-asan"
	cp "$B/sasl-asan/libtokenauth.so" "$W/plug/"libsasldb.so* "$W/plug-asan/"
	{
		SASL_LOOP_SASLDB=$W/sasldb2 ASAN_OPTIONS=detect_leaks=1 "$B/sasl-asan/sasl_loop" pair \
		    "$W/plug-asan" "$W/ta.conf" "$TOK_ALICE" "$TOK_BOB" "$TOK_ACME"
		SASL_LOOP_SASLDB=$W/sasldb2 ASAN_OPTIONS=detect_leaks=1 "$B/sasl-asan/sasl_loop" split \
		    "$W/plug-asan" "$W/ta-split.conf" "$TOK_ALICE" "$TOK_EXCOM" "$TOK_ATTEN"
	} >"$W/asan-pair" 2>&1
	check "ASan+UBSan: the in-process pair and split cases, no sanitizer report" \
	    sh -c "! grep -q '^not ok\\|ERROR: \\|runtime error' '$W/asan-pair'"

	# Threads: one user and token each, so throttling never links them.
	: >"$W/threads.txt"
	for i in 1 2 3 4 5 6 7 8; do
		echo "user$i $($TA issue --user "user$i" 2>/dev/null)" >>"$W/threads.txt"
	done
	out=$("$B/tests/sasl/sasl_loop" threads "$W/plug" "$W/ta.conf" 8 500 "$W/threads.txt")
	echo "$out"
	check "threads: 8 x 500 authentications, every result correct" \
	    [ "$out" = "threads: 8 x 500 authentications through one sasl_server_init: 4000 correct, 0 wrong" ]
	out=$(ASAN_OPTIONS=detect_leaks=1 "$B/sasl-asan/sasl_loop" threads "$W/plug-asan" "$W/ta.conf" \
	    8 500 "$W/threads.txt" 2>"$W/asan-threads")
	echo "$out (ASan+UBSan)"
	check "threads under ASan+UBSan: 4000 correct, no sanitizer report" \
	    sh -c "[ '$out' = 'threads: 8 x 500 authentications through one sasl_server_init: 4000 correct, 0 wrong' ] && ! grep -q 'ERROR: \\|runtime error' '$W/asan-threads'"
	if command -v valgrind >/dev/null 2>&1; then
		out=$(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		    "$B/tests/sasl/sasl_loop" threads "$W/plug" "$W/ta.conf" 8 "${VALGRIND_ITER:-500}" \
		    "$W/threads.txt" 2>"$W/vg")
		rc=$?
		echo "$out (valgrind)"
		check "threads under valgrind: all correct, no errors, no definite leaks" \
		    sh -c "[ $rc -eq 0 ] && ! grep -q . '$W/vg'"
	else
		echo "SKIP - valgrind not installed"
	fi

	# The fuzzer's chatter goes to its own log, copied to the details only
	# when it fails, so it never hides another test's failure.
	c=$(mktemp -d /tmp/ta-sasl-fuzz-XXXXXX)
	mkdir "$c/corpus"
	cp "$here/../fuzz/corpus/fuzz_sasl/"* "$c/corpus/"
	check "libFuzzer fuzz_sasl for ${FUZZ_TIME:-5}s: no crash, no sanitizer report" \
	    sh -c "'$B/tests/sasl/fuzz_sasl' -max_total_time=${FUZZ_TIME:-5} -max_len=4096 -print_final_stats=0 '$c/corpus' >'$c/log' 2>&1 || { tail -40 '$c/log' >>'$log'; exit 1; }"
	# This runs in the pipeline's subshell: the EXIT trap does not see $W.
	rm -rf "$c" "$W"
}

e2e() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP - end-to-end with Postfix, Cyrus IMAP and saslauthd needs root"
		return
	fi
	for t in postfix cyrus saslauthd; do
		sh "$here/e2e_$t.sh" "$B"
	done
}

{
	if [ "$only" != e2e ]; then
		unit_and_loops
		sh "$here/samples.sh" "$B"
	fi
	e2e
} 2>>"$log" | tee "$log.out"

pass=$(grep -c '^ok - ' "$log.out")
fail=$(grep -c '^FAILED - ' "$log.out")
if [ "$fail" -ne 0 ]; then
	echo "--- details (stderr and tool output) ---"
	tail -60 "$log"
fi
rm -f "$log.out"
echo "sasl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
