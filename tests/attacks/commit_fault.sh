#!/bin/sh
# commit_fault.sh BUILD - a guess whose commit fails (SQLite ends the
# transaction itself at the edge of memory or disk, and a right code
# writes more than a wrong one) must not tell right from wrong: the
# answer, the count and the unspent code are those of a wrong code, also
# when another login locks the user in the gap or the store stays busy.
# And a check whose read snapshot cannot be ended (a failed ROLLBACK) must
# not leave it to the context's next check: a revocation written since is
# seen.  The faults are injected by BUILD/tests/test_verify_faults (ld
# --wrap).
set -u
t="$1/tests/test_verify_faults"
if [ ! -x "$t" ]; then
	echo "commit-fault: 0 passed, 1 failed ($t not built)"
	exit 1
fi
out=$("$t" 2>&1)
rc=$?
pass=$(printf '%s\n' "$out" | grep -c '^\[       OK \]')
fail=$(printf '%s\n' "$out" | grep -c '^\[  FAILED  \] test_')
[ "$rc" -eq 0 ] || printf '%s\n' "$out"
[ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
echo "commit-fault: $pass passed, $fail failed"
[ "$rc" -eq 0 ]
