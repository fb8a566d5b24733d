#!/bin/sh
# throttle_flood.sh BUILD - made-up names flooding the throttle table
# (remote backends count every user's failures): the capped rows' bound
# gives up only unlocked rows of users not enrolled here, in the order of
# the conformance suite, and finds that row in one index seek however many
# locked and enrolled rows lie before it (outside review of issue 10: a
# table filled with them cost 43 ms a new row in SQLite, 68 ms under
# PostgreSQL's cap lock).  The cases live in the unit tests named below;
# this runs them as attacks.
set -u
pass=0 fail=0
run() { # BINARY TEST...
	bin="$1/tests/$2"
	shift 2
	if [ ! -x "$bin" ]; then
		fail=$((fail + 1))
		echo "  $bin not built"
		return
	fi
	out=$("$bin" 2>&1)
	for t in "$@"; do
		if printf '%s\n' "$out" | grep -q "^\[       OK \] $t\$"; then pass=$((pass + 1)); else
			fail=$((fail + 1))
			echo "  not ok - $t"
			printf '%s\n' "$out" | grep -A3 "$t" | sed 's/^/    /'
		fi
	done
}
run "$1" test_store test_throttle_evict_seeks test_migration_v1_to_current
run "$1" test_store_conformance test_throttle_cap test_throttle_cap_keeps_enrolled \
	test_throttle_cap_order
echo "throttle-flood: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
