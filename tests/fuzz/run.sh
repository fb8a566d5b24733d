#!/bin/sh
# Run each libFuzzer harness for SECONDS with its seed corpus; any crash fails.
# Usage: run.sh SECONDS harness...
set -u
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
for h in "$@"; do
	name=$(basename "$h")
	corpus=$(mktemp -d /tmp/ta-fuzz-XXXXXX)
	[ -d "$here/corpus/$name" ] && cp "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
	if "$h" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 "$corpus" >"$corpus.log" 2>&1; then
		pass=$((pass + 1))
		echo "fuzz $name: $(grep -o 'Done [0-9]* runs' "$corpus.log" | tail -1) in ${secs}s, no crash"
	else
		fail=$((fail + 1))
		echo "FAILED fuzz $name:"
		tail -40 "$corpus.log"
	fi
	rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
