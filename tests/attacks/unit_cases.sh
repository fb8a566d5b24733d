#!/bin/sh
# unit_cases.sh BUILD - attacks whose cases live in the unit tests, run
# here as attacks by name:
#  - made-up names flooding the throttle table (remote backends count
#    every user's failures): the capped rows' bound gives up only unlocked
#    rows of users not enrolled here, and finds that row in one index seek
#    however many locked and enrolled rows lie before it (outside review of
#    issue 10: a table filled with them cost 43 ms a new row in SQLite,
#    68 ms under PostgreSQL's cap lock), and a row goes only an hour
#    after its last failure or its lockout's end (helper-50: names kept
#    locked left few rows that could go, and new names washed out a
#    remote-only user's streak at once), doubled per lockout held after
#    the lockout's end only (helper-53 F1: counted from the last write,
#    one failure a day per name kept a full table full for good), and
#    rows hold times and counts both engines can rank (helper-53 F4);
#  - a store copy's source opened read-only: every write refused, an older
#    schema refused, not migrated (helper-53 F3);
#  - a libcurl option refused (older libcurl, no pinning, no memory): no
#    transfer with libcurl's default in its place.
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
run "$1" test_store test_throttle_evict_seeks test_migration_v1_to_current test_migration_v6_to_7
run "$1" test_store_conformance test_throttle_cap test_throttle_cap_keeps_enrolled \
	test_throttle_cap_order test_throttle_cap_streak_outlasts_old_locks \
	test_throttle_enrolment_uncaps test_throttle_cap_fresh_streak_stays \
	test_throttle_cap_doubling_from_lock_end test_throttle_bounds test_open_readonly \
	test_throttle_cap_idle_swept
run "$1" test_remote_gate test_refused_option_no_transfer test_full_table_upkeep test_counts_saturate
echo "unit-cases: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
