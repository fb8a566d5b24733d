#!/bin/sh
# fuzz_http.sh HARNESS SECONDS - run the HTTP harness over a copy of the seed
# corpus; any crash, sanitizer report or hang of the service fails.
set -u
h=$1 secs=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ta-fuzz-http.XXXXXX") || exit 1
cp "$here"/corpus-http/* "$work"/
# leaks: the server frees connection state on its own threads, after the
# input returns, which libFuzzer's per-input leak check would misread
if "$h" -max_total_time="$secs" -max_len=8192 -timeout=10 -detect_leaks=0 \
    -print_final_stats=1 "$work" >"$work.log" 2>&1; then
	echo "fuzz td_http: $(grep -o 'Done [0-9]* runs' "$work.log" | tail -1) in ${secs}s, no crash"
	r=0
else
	echo "FAILED fuzz td_http:"
	tail -50 "$work.log"
	r=1
fi
rm -rf "$work" "$work.log"
exit $r
