#!/bin/sh
# run.sh BUILD - the standing adversarial suite: every tests/attacks/*.sh,
# each given the build folder (absolute), each ending with its own
# "NAME: N passed, N failed" line.  One closing line for the whole suite.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
pass=0 fail=0
for t in "$here"/*.sh; do
	[ "$(basename "$t")" = run.sh ] && continue
	[ "$(basename "$t")" = lib.sh ] && continue
	if sh "$t" "$build"; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAILED: attacks $(basename "$t")"
	fi
done
echo "attacks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
